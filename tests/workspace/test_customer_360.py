"""Customer 360 on the customer's page (workspace/admin/customer_360.py over
tickets.customer360): identities masked, wallets with status, cards masked, transactions
with their failure reason, and one timeline of tickets on every channel, calls and key
account events, newest first, bounded, in a number of queries that does not grow."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.actions import record_event
from accounts.models import AccountEvent, BankCard, Transaction
from tests.tickets import factories
from tickets import actions
from tickets.customer360 import TIMELINE_ITEMS
from tickets.models import CallLog, Channel, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallet(customer):
    wallet = customer.wallets.get()
    BankCard.objects.create(account=wallet, bank="ICBC", last4="4321")
    Transaction.objects.create(
        account=wallet,
        reference="T-360",
        amount=Decimal("88.00"),
        merchant="Hualian Supermarket",
        status=Transaction.Status.FAILED,
        failure_reason=Transaction.FailureReason.INSUFFICIENT_BALANCE,
        occurred_at=timezone.now() - timedelta(hours=2),
    )
    return wallet


def page_url(customer) -> str:
    return reverse("admin:accounts_customer_change", args=[customer.pk])


def add_tickets(customer, agent, count: int) -> None:
    """``count`` tickets on four channels, each with two messages."""
    channels = [Channel.EMAIL, Channel.WECHAT, Channel.PHONE, Channel.CHAT]
    for i in range(count):
        ticket = actions.open_ticket(
            customer=customer, channel=channels[i % 4], subject=f"Question {i}", acting_user=agent
        )
        actions.add_note(ticket, acting_user=agent, body="Checked the wallet.")
        actions.add_note(ticket, acting_user=agent, body="Waiting for the bank.")


def test_the_page_shows_the_customer_360(agent_client, customer, wallet, agent):
    email = actions.receive(factories.email(subject="Card declined")).ticket
    chat = actions.receive(factories.chat(text="hello")).ticket
    Ticket.objects.filter(pk=chat.pk).update(customer=customer)
    CallLog.objects.create(
        caller_number="13800138000",
        started_at=timezone.now() - timedelta(minutes=5),
        customer=customer,
        ticket=email,
        agent=agent,
    )
    record_event(
        customer=customer, account=wallet, acting_user=agent, action=AccountEvent.Action.FREEZE
    )
    page = agent_client.get(page_url(customer)).text
    assert "+86 138****8000" in page and "+8613800138000" not in page
    assert "li***@example.com" in page and "li.wei@example.com" not in page
    assert wallet.number in page and "mw-status-active" in page
    assert "4321" in page and "ICBC" in page
    assert "Insufficient balance" in page
    assert email.reference in page and chat.reference in page
    assert "mw-channel-email" in page and "mw-channel-chat" in page
    assert "agent froze the wallet" in page
    assert "mw-360-call" in page


def test_the_timeline_is_newest_first_and_bounded(agent_client, customer, wallet, agent):
    add_tickets(customer, agent, TIMELINE_ITEMS + 5)
    overview = agent_client.get(page_url(customer)).context["overview"]
    times = [item.at for item in overview.timeline]
    assert times == sorted(times, reverse=True)
    assert len(overview.timeline) == TIMELINE_ITEMS
    assert overview.ticket_count == TIMELINE_ITEMS + 5


def queries_for(client, customer) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page_url(customer)).status_code == 200
    return len(queries)


def test_the_page_takes_the_same_queries_at_3_and_30_tickets(
    agent_client, customer, wallet, agent, django_assert_max_num_queries
):
    add_tickets(customer, agent, 3)
    few = queries_for(agent_client, customer)
    add_tickets(customer, agent, 27)
    with django_assert_max_num_queries(few):
        agent_client.get(page_url(customer))


def test_the_ticket_pages_customer_panel_links_to_the_360(agent_client, customer):
    ticket = actions.receive(factories.email()).ticket
    page = agent_client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).text
    assert f'class="mw-360-link" href="{page_url(customer)}"' in page
