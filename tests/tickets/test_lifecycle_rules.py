"""SLA due times by priority (tickets.actions.lifecycle.sla_due): looked up by the priority's
name, never its translated label. Under the Chinese interface the label ("普通") found no
hours, and every ticket opened or re-prioritised there had no due times at all."""

from datetime import timedelta

import pytest
from django.utils import translation

from tickets import actions
from tickets.models import Ticket

from . import factories

pytestmark = pytest.mark.django_db


def hours_after_opening(ticket: Ticket) -> tuple[float, float]:
    ticket.refresh_from_db()
    return tuple(
        round((due - ticket.created_at) / timedelta(hours=1), 2)
        for due in (ticket.first_response_due, ticket.resolution_due)
    )


def test_mail_filed_under_the_chinese_interface_opens_a_ticket_with_its_sla_due_times(customer):
    """SLA rule (lifecycle.sla_due), by email through receive_many."""
    with translation.override("zh-hans"):
        [received] = actions.receive_many([factories.email()])
    assert hours_after_opening(received.ticket) == (8, 72)  # normal


def test_a_ticket_opened_under_the_chinese_interface_gets_the_due_times_of_its_priority(
    customer, agent
):
    """SLA rule (lifecycle.sla_due), by open_ticket (the ticket form, the chat's start)."""
    with translation.override("zh-hans"):
        ticket = actions.open_ticket(
            customer=customer,
            channel="phone",
            subject="钱包被锁",
            priority=Ticket.Priority.URGENT,
            acting_user=agent,
        )
    assert hours_after_opening(ticket) == (1, 8)


def test_a_priority_changed_under_the_chinese_interface_moves_the_due_times(customer, agent):
    """SLA rule (lifecycle.sla_due), by update_details: from the ticket's opening."""
    ticket = actions.receive(factories.email()).ticket
    with translation.override("zh-hans"):
        actions.update_details(ticket, acting_user=agent, priority=Ticket.Priority.HIGH)
    assert hours_after_opening(ticket) == (4, 24)
