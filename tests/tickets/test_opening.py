"""tickets.actions.open_with_message: a ticket opened for a known customer by someone else
(the API), with the customer's first words as an inbound message of theirs."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tickets import actions
from tickets.models import Queue, RoutingRule, Ticket, TicketEvent


def test_the_words_are_the_customers_and_the_opener_is_in_the_history(agent, customer):
    ticket = actions.open_with_message(
        customer=customer, channel="api", subject="Help", text=" Locked out ", acting_user=agent
    )
    message = ticket.messages.get()
    assert (message.direction, message.channel, message.author, message.text) == (
        "inbound",
        "api",
        None,
        "Locked out",
    )
    assert ticket.status == Ticket.Status.NEW
    events = TicketEvent.objects.filter(ticket=ticket)
    assert [(event.kind, event.actor) for event in events] == [("created", agent)]


def test_without_a_queue_the_rules_route_it(agent, customer):
    queue = Queue.objects.create(slug="security", name="Security")
    RoutingRule.objects.create(name="Locked", queue=queue, keywords="locked")
    ticket = actions.open_with_message(
        customer=customer, channel="api", subject="Wallet locked", text="Help", acting_user=agent
    )
    assert ticket.queue == queue


def test_another_customers_wallet_is_refused(agent, customer, other_customer):
    with pytest.raises(ValidationError) as refused:
        actions.open_with_message(
            customer=customer,
            channel="api",
            subject="Help",
            text="Help",
            wallet=other_customer.wallets.get(),
            acting_user=agent,
        )
    assert "wallet" in refused.value.error_dict
    assert not Ticket.objects.exists()


def test_an_empty_message_is_refused(agent, customer):
    with pytest.raises(ValidationError):
        actions.open_with_message(
            customer=customer, channel="api", subject="Help", text="  ", acting_user=agent
        )
    assert not Ticket.objects.exists()


def test_only_those_who_may_add_tickets(customer, django_user_model):
    nobody = django_user_model.objects.create_user("nobody")
    with pytest.raises(PermissionDenied):
        actions.open_with_message(
            customer=customer, channel="api", subject="Help", text="Help", acting_user=nobody
        )
