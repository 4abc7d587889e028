"""The ticket page's payment-failure panel (issue 14, point 4): shown when the customer
wrote of a failed payment, with the cause and steps in the agent's language; its button
sends the explanation, naming the payments only once the customer is verified."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Transaction
from tests.accounts.security_helpers import strong_verification
from tests.tickets import factories
from tickets import actions
from tickets.models import Message, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_at_once")]


@pytest.fixture
def failed(customer):
    return Transaction.objects.create(
        account=customer.wallets.get(),
        reference="T-TEST-9",
        amount=Decimal("36.00"),
        merchant="Metro Coffee",
        status=Transaction.Status.FAILED,
        failure_reason=Transaction.FailureReason.RISK_BLOCKED,
        occurred_at=timezone.now() - timedelta(minutes=3),
    )


def page(client, ticket, language="en") -> str:
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    return client.get(url, headers={"accept-language": language}).content.decode()


def test_the_panel_shows_the_failed_payment_with_cause_and_steps(failed, agent_client):
    ticket = actions.receive(factories.email(text="Hi, my card was declined at the café")).ticket
    html = page(agent_client, ticket)
    assert 'id="payment-diagnosis"' in html
    panel = html[html.index('id="payment-diagnosis"') :]
    panel = panel[: panel.index("</form>")]
    assert "Metro Coffee" in panel and "36.00" in panel
    assert "Failed because our risk control stopped it" in panel
    assert "Never share a verification code" in panel
    chinese = page(agent_client, ticket, "zh-hans")
    assert "风控系统为保护您的账户拦截了这笔交易" in chinese and "发送此说明" in chinese


def test_no_panel_when_nobody_wrote_of_a_failed_payment(failed, agent_client):
    ticket = actions.receive(
        factories.email(text="How do I change it?", subject="Phone number")
    ).ticket
    assert 'id="payment-diagnosis"' not in page(agent_client, ticket)


def test_the_panels_queries_do_not_grow_with_the_failed_payments(customer, failed, agent_client):
    ticket = actions.receive(factories.email(text="Payment failed")).ticket
    page(agent_client, ticket)  # warm caches (sessions, content types)
    with CaptureQueriesContext(connection) as one:
        page(agent_client, ticket)
    for number in range(5):
        Transaction.objects.create(
            account=customer.wallets.get(),
            reference=f"T-MORE-{number}",
            amount=Decimal("9.90"),
            status=Transaction.Status.FAILED,
            failure_reason=Transaction.FailureReason.NETWORK,
            occurred_at=timezone.now() - timedelta(minutes=1),
        )
    with CaptureQueriesContext(connection) as many:
        html = page(agent_client, ticket)
    assert html.count('class="mw-finding"') == 3  # the latest few
    assert len(many) == len(one)


def test_the_button_sends_the_general_causes_to_an_unverified_customer(failed, agent, agent_client):
    ticket = actions.receive(factories.email(text="Payment failed")).ticket
    url = reverse("admin:tickets_ticket_payment_explanation", args=[ticket.pk])
    html = page(agent_client, ticket)
    assert "names no transaction" in html

    response = agent_client.post(url)

    assert response.status_code == 302
    sent = ticket.messages.get(direction=Message.Direction.OUTBOUND)
    assert "Metro Coffee" not in sent.text and "36.00" not in sent.text
    assert sent.author == agent
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.category == Ticket.Category.TRANSACTION and ticket.related_transaction == failed


def test_the_button_names_the_payment_once_the_agent_verified_the_customer(
    customer, failed, agent, agent_client
):
    ticket = actions.receive(factories.email(text="Payment failed")).ticket
    strong_verification(ticket, customer.wallets.get(), agent)
    assert "naming these payments" in page(agent_client, ticket)

    agent_client.post(reverse("admin:tickets_ticket_payment_explanation", args=[ticket.pk]))

    sent = ticket.messages.get(direction=Message.Direction.OUTBOUND)
    assert "Metro Coffee" in sent.text and "¥36.00" in sent.text


def test_the_send_url_takes_only_a_post(failed, agent_client):
    ticket = actions.receive(factories.email(text="Payment failed")).ticket
    url = reverse("admin:tickets_ticket_payment_explanation", args=[ticket.pk])
    assert agent_client.get(url).status_code == 405
