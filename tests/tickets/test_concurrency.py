"""Races between real connections. PostgreSQL only: it is where writers really overlap."""

import pytest

from accounts.models import Customer
from tests.conftest import race
from tickets import actions
from tickets.models import Message, Ticket

from . import factories

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]


def test_tickets_opened_at_the_same_moment_get_unique_references():
    results = race(16, lambda i: actions.receive(factories.email(f"racer{i}@example.com")))
    references = [r.ticket.reference for r in results]
    assert len(set(references)) == 16
    assert Ticket.objects.filter(reference__isnull=True).count() == 0
    assert sorted(references) == sorted(Ticket.objects.values_list("reference", flat=True))


def test_the_same_message_received_by_two_processes_at_once_is_stored_once():
    inbound = factories.email("same.sender@example.com", external_id="<dup@race>")
    results = race(8, lambda i: actions.receive(inbound))
    assert Message.objects.filter(external_id="<dup@race>").count() == 1
    assert Ticket.objects.count() == 1
    assert sum(1 for r in results if not r.duplicate) == 1
    assert len({r.message.pk for r in results}) == 1


def test_a_new_sender_seen_on_two_channels_at_once_is_one_customer():
    race(8, lambda i: actions.receive(factories.email("New.Sender@example.com")))
    assert Customer.objects.count() == 1
    assert Ticket.objects.count() == 8
