"""SLA policies (tickets.SLAPolicy) and the due times they give (lifecycle.sla_due), on a
controlled clock: the same due times under the Chinese and the English interface, a
category's policy before the priority's, the setting when no policy matches, and due times
moved by a change of priority or category; the inbox's reads (tickets.sla)."""

from datetime import timedelta

import pytest
from django.utils import translation

from tests.tickets import factories
from tests.tickets.clock import START as NOW
from tickets import actions
from tickets.models import SLAPolicy, Ticket
from tickets.sla import BREACHED, OK, SOON, breaching, sla_state


@pytest.fixture
def policies(db):
    SLAPolicy.objects.create(
        priority=Ticket.Priority.NORMAL, first_response_minutes=60, resolution_minutes=600
    )
    SLAPolicy.objects.create(
        priority=Ticket.Priority.NORMAL,
        category=Ticket.Category.SECURITY,
        first_response_minutes=15,
        resolution_minutes=120,
    )


def open_ticket(customer, **fields):
    return actions.open_ticket(
        customer=customer, channel="web", subject="Help", acting_user=None, **fields
    )


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_due_times_are_the_same_under_either_interface_language(
    customer, policies, clock, language
):
    with translation.override(language):
        normal = open_ticket(customer)
        security = open_ticket(customer, category=Ticket.Category.SECURITY)
        urgent = open_ticket(customer, priority=Ticket.Priority.URGENT)  # no policy: settings
        (mailed,) = actions.receive_many([factories.email(subject="Hello", text="A question")])

    assert (normal.first_response_due, normal.resolution_due) == (
        NOW + timedelta(minutes=60),
        NOW + timedelta(minutes=600),
    )
    assert (security.first_response_due, security.resolution_due) == (
        NOW + timedelta(minutes=15),
        NOW + timedelta(minutes=120),
    )
    assert (urgent.first_response_due, urgent.resolution_due) == (
        NOW + timedelta(hours=1),
        NOW + timedelta(hours=8),
    )
    assert mailed.message.ticket.first_response_due == NOW + timedelta(minutes=60)


def test_an_inactive_policy_is_skipped_for_the_priority_row_then_the_setting(customer, clock):
    SLAPolicy.objects.create(
        priority=Ticket.Priority.HIGH,
        category=Ticket.Category.ACCOUNT,
        first_response_minutes=5,
        resolution_minutes=50,
        active=False,
    )
    ticket = open_ticket(customer, priority=Ticket.Priority.HIGH, category="account")
    assert ticket.first_response_due == NOW + timedelta(hours=4)  # TICKET_SLA_HOURS["high"]


def test_a_new_category_or_priority_moves_the_due_times_from_the_opening(
    customer, policies, agent, clock
):
    ticket = open_ticket(customer)
    clock.now = NOW + timedelta(minutes=30)
    ticket = actions.update_details(ticket, acting_user=agent, category=Ticket.Category.SECURITY)
    assert ticket.first_response_due == ticket.created_at + timedelta(minutes=15)
    ticket = actions.update_details(ticket, acting_user=agent, priority=Ticket.Priority.URGENT)
    assert ticket.resolution_due == ticket.created_at + timedelta(hours=8)


def test_the_state_names_the_due_time_that_applies(customer, policies, clock, agent):
    ticket = open_ticket(customer)  # first response due at +60, resolution at +600
    assert sla_state(ticket, NOW) == (OK, NOW + timedelta(minutes=60))
    assert sla_state(ticket, NOW + timedelta(minutes=40)) == (SOON, ticket.first_response_due)
    assert sla_state(ticket, NOW + timedelta(minutes=61)) == (BREACHED, ticket.first_response_due)
    actions.reply(ticket, acting_user=agent, body="Looking into it")
    ticket.refresh_from_db()
    assert sla_state(ticket, NOW + timedelta(minutes=61)) == (OK, ticket.resolution_due)
    actions.change_status(ticket, acting_user=agent, status=Ticket.Status.SOLVED)
    ticket.refresh_from_db()
    assert sla_state(ticket, NOW + timedelta(days=30)) == (None, None)


def test_breaching_lists_the_tickets_due_within_the_warning_or_past_it(customer, policies, clock):
    soon = open_ticket(customer, category=Ticket.Category.SECURITY)  # due at +15
    later = open_ticket(customer)  # due at +60
    assert set(breaching(Ticket.objects.all(), NOW)) == {soon}
    assert set(breaching(Ticket.objects.all(), NOW + timedelta(minutes=45))) == {soon, later}
