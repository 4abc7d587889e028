"""The app's customer writing through the intake (tickets.actions.open_for_customer,
write_for_customer): the same rules as every channel, as an authenticated sender."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import AccountEvent, Customer, Transaction, WalletAccount
from tickets import actions
from tickets.models import Message

pytestmark = pytest.mark.django_db


def test_a_customer_without_identities_writes_from_a_new_web_one():
    customer = Customer.objects.create(name="New")
    WalletAccount.objects.create(customer=customer, number="MW6299999999")
    received = actions.open_for_customer(customer=customer, subject="Hi", text="Hello")
    assert received.opened
    identity = received.message.sender
    assert (identity.customer, identity.kind) == (customer, "web")
    assert AccountEvent.objects.filter(
        customer=customer, action=AccountEvent.Action.IDENTITY_ADDED
    ).exists()
    again = actions.open_for_customer(customer=customer, subject="Again", text="Hello again")
    assert again.message.sender == identity
    assert again.ticket != received.ticket  # "contact us" always opens a ticket


def test_another_customers_transaction_is_refused(customer, other_customer):
    theirs = Transaction.objects.create(
        account=other_customer.wallets.get(),
        reference="TX-1",
        amount=Decimal("1"),
        status="failed",
        occurred_at=timezone.now(),
    )
    with pytest.raises(ValidationError) as refused:
        actions.open_for_customer(
            customer=customer, subject="Hm", text="Hm", related_transaction=theirs
        )
    assert refused.value.code == "not_yours"
    assert not customer.tickets.exists()


def test_writing_on_a_solved_ticket_reopens_it(customer, agent):
    ticket = actions.open_for_customer(customer=customer, subject="Q", text="Q?").ticket
    actions.change_status(ticket, acting_user=agent, status="solved")
    received = actions.write_for_customer(ticket, customer=customer, text="Not solved")
    assert received.ticket.pk == ticket.pk
    assert not received.opened
    ticket.refresh_from_db()
    assert ticket.status != "solved"
    assert ticket.messages.filter(direction=Message.Direction.INBOUND).count() == 2
