"""Details an agent edits in the ticket form (workspace/admin/tickets.py save_model ->
tickets.actions.update_details): one "details changed" event naming each field's old and
new value, SLA due times that follow a new priority, and the change shown readably in the
ticket page's history."""

from datetime import timedelta

import pytest
from django.urls import reverse

from tickets import actions
from tickets.inbound import Inbound
from tickets.models import Queue, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    received = actions.receive(
        Inbound(
            channel="email",
            sender_kind="email",
            sender="li.wei@example.com",
            subject="Payment failed",
            text="My payment failed at the supermarket.",
        )
    )
    return received.ticket


@pytest.fixture
def security(db):
    return Queue.objects.create(name="Security", slug="security")


def change_url(ticket) -> str:
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def form_data(ticket: Ticket, **changes) -> dict:
    """The ticket form as the page shows it, with ``changes``."""
    data = {
        "subject": ticket.subject,
        "category": ticket.category,
        "priority": str(ticket.priority),
        "queue": ticket.queue_id or "",
        "wallet": ticket.wallet_id or "",
        "related_transaction": ticket.related_transaction_id or "",
    }
    return {**data, **changes}


def save(client, ticket: Ticket, **changes):
    response = client.post(change_url(ticket), form_data(ticket, **changes))
    assert response.status_code == 302, response.context["adminform"].form.errors
    return response


def changes(ticket: Ticket) -> list[TicketEvent]:
    return list(ticket.events.filter(kind=TicketEvent.Kind.CHANGED))


def test_saving_the_ticket_form_records_one_event_with_each_fields_old_and_new_value(
    agent_client, agent, ticket, security
):
    """Details rule (lifecycle.update_details), from the ticket form."""
    save(agent_client, ticket, category="security", priority="3", queue=security.pk)
    [changed] = changes(ticket)
    assert changed.actor == agent
    assert changed.data == {
        "category": ["other", "security"],
        "priority": [2, 3],
        "queue": [None, security.pk],
    }


def test_saving_the_ticket_form_unchanged_records_nothing(agent_client, ticket):
    """Details rule (lifecycle.update_details): no change, no event."""
    save(agent_client, ticket)
    assert changes(ticket) == []


def test_a_new_priority_in_the_ticket_form_moves_the_due_times_from_the_tickets_opening(
    agent_client, ticket
):
    """SLA rule (lifecycle.sla_due) through update_details: as if it had had that priority
    from the start."""
    save(agent_client, ticket, priority=str(Ticket.Priority.URGENT))
    ticket.refresh_from_db()
    assert ticket.first_response_due == ticket.created_at + timedelta(hours=1)
    assert ticket.resolution_due == ticket.created_at + timedelta(hours=8)


def test_a_ticket_added_in_the_chinese_interface_gets_its_due_times(agent_client, customer):
    """SLA rule (lifecycle.sla_due, by the priority's name), from the add form in Chinese."""
    response = agent_client.post(
        reverse("admin:tickets_ticket_add"),
        {
            "customer": customer.pk,
            "channel": "phone",
            "subject": "来电:钱包被锁",
            "category": "account",
            "priority": str(Ticket.Priority.HIGH),
        },
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 302
    assert response.wsgi_request.LANGUAGE_CODE == "zh-hans"
    ticket = Ticket.objects.get(subject="来电:钱包被锁")
    # Due from the moment it was opened, a breath before the row's created_at.
    first, resolution = ticket.first_response_due, ticket.resolution_due
    assert abs(first - ticket.created_at - timedelta(hours=4)) < timedelta(seconds=1)
    assert abs(resolution - ticket.created_at - timedelta(hours=24)) < timedelta(seconds=1)


def test_the_ticket_page_history_shows_the_change_in_words(agent_client, ticket, security):
    """The history's summary of a CHANGED event (tickets.history.ticket_history)."""
    save(agent_client, ticket, priority="3", queue=security.pk)
    response = agent_client.get(change_url(ticket))
    [entry] = [e for e in response.context["history"] if e.event.kind == "changed"]
    assert entry.summary == "priority: Normal → High; queue: — → Security"
    assert "priority: Normal → High; queue: — → Security" in response.text
