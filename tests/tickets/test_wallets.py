"""Wallet security from the desk (tickets.actions.wallets): the account side's change and
notice, and the notice on the ticket's thread, where the customer asked."""

import pytest

from accounts.models import AccountEvent
from tests.tickets import factories
from tickets import actions
from tickets.actions import wallets
from tickets.models import Message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_at_once")]


@pytest.fixture
def wallet(customer):
    return customer.wallets.get()


def test_the_notice_joins_the_thread_of_an_email_ticket(
    customer, wallet, agent, sms_gateway, smtp_server, django_capture_on_commit_callbacks
):
    ticket = actions.receive(factories.email("li.wei@example.com")).ticket
    with django_capture_on_commit_callbacks(execute=False):
        wallets.freeze_wallet(wallet, acting_user=agent, reason="lost phone", ticket=ticket)
    message = ticket.messages.get(metadata__system=True)
    assert message.direction == Message.Direction.OUTBOUND
    assert message.author is None
    assert message.delivery_status == Message.Delivery.QUEUED
    assert message.metadata["notice"] == "frozen"
    event = AccountEvent.objects.get(action=AccountEvent.Action.CUSTOMER_NOTIFIED)
    assert event.ticket == ticket


def test_a_phone_ticket_keeps_the_notice_as_a_note(
    customer, wallet, agent, sms_gateway, smtp_server, django_capture_on_commit_callbacks
):
    ticket = actions.receive(factories.phone("13800138000")).ticket
    with django_capture_on_commit_callbacks(execute=True):
        wallets.freeze_wallet(wallet, acting_user=agent, reason="lost phone", ticket=ticket)
    message = ticket.messages.get(metadata__system=True)
    assert message.direction == Message.Direction.NOTE
    assert message.author is None
    assert message.text.startswith(
        "Notice sent by SMS to +86 138****8000 and by email to li***@example.com: "
    )


@pytest.mark.parametrize(
    ("phone", "email", "said"),
    [
        ("+8613800138000", "", "Notice sent by SMS to +86 138****8000; no email address on file"),
        (
            "",
            "li.wei@example.com",
            "Notice sent by email to li***@example.com; no phone number on file",
        ),
        ("", "", "Notice not sent: no phone number or email address on file"),
    ],
)
def test_the_note_names_only_the_contacts_the_notice_really_went_to(
    customer,
    wallet,
    agent,
    sms_gateway,
    smtp_server,
    django_capture_on_commit_callbacks,
    phone,
    email,
    said,
):
    """System notes are honest: the notice goes to the wallet's registered contacts only,
    and the note says which (masked), and what the wallet has no contact for."""
    wallet.registered_phone, wallet.registered_email = phone, email
    wallet.save()
    ticket = actions.receive(factories.phone("13800138000")).ticket
    with django_capture_on_commit_callbacks(execute=True):
        wallets.freeze_wallet(wallet, acting_user=agent, reason="lost phone", ticket=ticket)
    message = ticket.messages.get(metadata__system=True)
    assert message.author is None
    assert message.text.startswith(said + ": ")
    assert [sms.to for sms in sms_gateway.messages] == ([phone] if phone else [])
    assert [mail.rcpt_tos for mail in smtp_server.messages] == ([(email,)] if email else [])


def test_a_closed_ticket_keeps_the_notice_as_a_note(
    customer, wallet, agent, sms_gateway, smtp_server, django_capture_on_commit_callbacks
):
    # The closed-ticket rule (tickets.actions.thread.takes) from the notices' side.
    ticket = actions.receive(factories.email("li.wei@example.com")).ticket
    actions.change_status(ticket, acting_user=agent, status="closed")
    with django_capture_on_commit_callbacks(execute=True):
        wallets.freeze_wallet(wallet, acting_user=agent, reason="lost phone", ticket=ticket)
    message = ticket.messages.get(metadata__system=True)
    assert message.direction == Message.Direction.NOTE


def test_without_a_ticket_the_customer_is_told_on_their_contacts_only(
    customer, wallet, agent, sms_gateway, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        wallets.freeze_wallet(wallet, acting_user=agent, reason="lost phone")
    assert sms_gateway.to("+8613800138000")
    assert not Message.objects.filter(metadata__system=True).exists()
