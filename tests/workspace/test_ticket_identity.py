"""The ticket page of a chat whose guest typed a known customer's contact: a claim. The page
names the claimed customer (name, masked contact) and shows nothing of theirs (wallet,
balance, payments, cards, earlier tickets) until the agent verifies one of their wallets
strongly in the security panel (a confirmation link through the local SMS gateway, answered
yes on the customer's phone), which links the ticket to them; a no warns the agents. A chat
the MY Wallet app opened says so."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.app_identity import AUDIENCE_CHAT, sign, verify
from accounts.models import BankCard, Transaction
from chat import actions as chat_actions
from tests.accounts.codes_fixtures import _no_code_limits, sms_gateway
from tests.accounts.security_helpers import last_sms_link, page_messages, security_url, ticket_url
from tickets import actions
from tickets.models import Message, TicketEvent

__all__ = ["_no_code_limits", "sms_gateway"]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _codes_leave_at_once(tasks_at_once):
    """The code's SMS leaves from a task; the test reads it at the gateway."""


@pytest.fixture
def private(customer):
    """What a claim must not show of Li Wei: balance, a failed payment, a card, a ticket."""
    wallet = customer.wallets.get()
    Transaction.objects.create(
        account=wallet,
        reference="TXN-SECRET-1",
        amount=Decimal("88.00"),
        merchant="Secret Metro Cafe",
        status=Transaction.Status.FAILED,
        failure_reason="wrong_password",
        occurred_at=timezone.now() - timedelta(hours=1),
    )
    BankCard.objects.create(account=wallet, bank="Secret Bank", last4="9753")
    earlier = actions.open_ticket(
        customer=customer, channel="email", subject="Card question", acting_user=None
    )
    return [
        "1024.50",
        "TXN-SECRET-1",
        "Secret Metro Cafe",
        "Secret Bank",
        "9753",
        earlier.reference,
        wallet.number,
    ]


def claimed_chat():
    return chat_actions.start_conversation(
        session_key="s", name="Li", contact="li.wei@example.com"
    ).ticket


def test_a_claim_shows_the_claimed_name_and_nothing_of_the_customer(agent_client, private):
    ticket = claimed_chat()
    html = agent_client.get(ticket_url(ticket)).content.decode()
    assert "Claims to be Li Wei (li***@example.com) - not verified" in html
    assert [secret for secret in private if secret in html] == []
    assert "li.wei@example.com" not in html


def test_the_claim_reads_in_chinese_too(agent_client, private):
    ticket = claimed_chat()
    html = agent_client.get(ticket_url(ticket), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "自称是 Li Wei（li***@example.com）- 未验证" in html


def test_the_claimed_customers_yes_on_their_phone_links_the_ticket(
    agent, agent_client, customer, private, sms_gateway
):
    ticket = claimed_chat()
    wallet = customer.wallets.get()
    panel = agent_client.get(ticket_url(ticket)).content.decode()
    assert "Claimed wallet ending" in panel and "Send confirmation link" in panel
    assert 'name="code"' not in panel  # nobody is asked to read a code out
    assert "id_prefix" not in panel
    response = agent_client.post(
        security_url(ticket, "confirm"), {"account": wallet.pk, "channel": "phone"}, follow=True
    )
    assert "Confirmation link sent to +86 138****8000" in " ".join(page_messages(response))
    html = agent_client.get(ticket_url(ticket)).content.decode()
    assert "Waiting for the customer to confirm on their phone" in html
    assert [secret for secret in private if secret in html] == []

    answer_on_phone(last_sms_link(sms_gateway), "yes")
    ticket.refresh_from_db()
    assert ticket.customer == customer and ticket.wallet == wallet
    assert ticket.claimed_identity is None
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.CUSTOMER_MERGED)
    assert event.actor == agent
    html = agent_client.get(ticket_url(ticket)).content.decode()
    assert "Claims to be" not in html
    assert [secret for secret in private if secret not in html] == []


def test_a_no_on_the_phone_warns_the_agents_and_links_nothing(
    agent_client, customer, private, sms_gateway
):
    ticket = claimed_chat()
    wallet = customer.wallets.get()
    agent_client.post(security_url(ticket, "confirm"), {"account": wallet.pk, "channel": "phone"})
    answer_on_phone(last_sms_link(sms_gateway), "no")
    ticket.refresh_from_db()
    assert ticket.customer != customer and ticket.claimed_identity is not None
    note = ticket.messages.get(direction=Message.Direction.NOTE)
    assert note.text.startswith("Security warning: the customer answered No")
    html = agent_client.get(ticket_url(ticket)).content.decode()
    assert "Security warning: the customer answered No" in html
    assert "the customer declined: they say they did not ask for this" in html
    assert [secret for secret in private if secret in html] == []


def answer_on_phone(token: str, answer: str) -> None:
    """The customer opens the link on their phone and answers, as a browser would."""
    phone = Client(enforce_csrf_checks=True)
    url = reverse("account_confirm", args=[token])
    form = phone.get(url).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
    response = phone.post(url, {"answer": answer, "csrfmiddlewaretoken": csrf})
    assert response.status_code == 200


def test_a_weak_verification_does_not_link_the_claim(agent_client, customer, private):
    ticket = claimed_chat()
    wallet = customer.wallets.get()
    response = agent_client.post(
        security_url(ticket, "verify"), {"account": wallet.pk, "phone": "13800138000"}, follow=True
    )
    assert "Identity verified: Weak" in " ".join(page_messages(response))
    ticket.refresh_from_db()
    assert ticket.customer != customer and ticket.claimed_identity is not None
    html = agent_client.get(ticket_url(ticket)).content.decode()
    assert [secret for secret in private if secret in html] == []


def test_another_customers_wallet_cannot_be_verified_on_a_claim(
    agent_client, other_customer, private
):
    ticket = claimed_chat()
    response = agent_client.post(
        security_url(ticket, "verify"),
        {"account": other_customer.wallets.get().pk, "phone": "13900139000"},
        follow=True,
    )
    assert "does not belong to the ticket's customer" in " ".join(page_messages(response))


def test_a_chat_opened_by_the_app_says_so(agent_client, customer):
    app = verify(sign(customer.wallets.get(), audience=AUDIENCE_CHAT), audience=AUDIENCE_CHAT)
    ticket = chat_actions.start_conversation(session_key="s", app=app).ticket
    html = agent_client.get(ticket_url(ticket)).content.decode()
    assert "Verified by the MY Wallet app" in html and "1024.50" in html


def test_a_claimed_wallet_is_offered_for_verification_only(agent_client, customer, private):
    """Freezing (or any change) needs the ticket's own customer: a claim gives nothing."""
    ticket = claimed_chat()
    wallet = customer.wallets.get()
    response = agent_client.post(
        security_url(ticket, "freeze"), {"account": wallet.pk, "reason": "claim"}, follow=True
    )
    assert "does not belong to the ticket's customer" in " ".join(page_messages(response))
    wallet.refresh_from_db()
    assert wallet.status == "active"
