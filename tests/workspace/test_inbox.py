"""The ticket list as an inbox (workspace/admin/inbox.py, tickets/inbox.py): saved views
with their counts, the order (SLA due, priority, last activity), the row's columns, bulk
actions through the tickets actions, and a query count that does not grow with the data."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.actions import start_conversation
from chat.messages import Pending, store_messages
from tests.workspace.test_tickets import CHANGELIST, open_tickets
from tickets import actions
from tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db


def due_in(ticket, minutes, *, priority=Ticket.Priority.NORMAL):
    """Give ``ticket`` a first-response due time ``minutes`` from now (negative: late)."""
    due = timezone.now() + timedelta(minutes=minutes)
    Ticket.objects.filter(pk=ticket.pk).update(first_response_due=due, priority=priority)


def listed(client, **params):
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return response, [ticket.pk for ticket in response.context["cl"].result_list]


def tab_counts(response) -> dict[str, int]:
    return {tab["slug"]: tab["count"] for tab in response.context["inbox_tabs"]}


def test_saved_views_and_their_counts(agent_client, agent, other_agent):
    mine, unassigned, theirs, pending, late, solved = open_tickets(6)
    actions.assign(mine, acting_user=agent, assignee=agent)
    actions.assign(theirs, acting_user=agent, assignee=other_agent)
    actions.change_status(pending, acting_user=agent, status=Ticket.Status.PENDING)
    actions.change_status(solved, acting_user=agent, status=Ticket.Status.SOLVED)
    due_in(late, -30)
    due_in(solved, -30)  # solved: no SLA due any more, so never breaching
    for ticket in (mine, theirs, pending):
        due_in(ticket, 600)

    response, default = listed(agent_client)
    assert set(default) == {mine.pk, unassigned.pk, theirs.pk, pending.pk, late.pk}
    expected = {"mine": 1, "unassigned": 3, "breaching": 1, "pending": 1, "open": 5, "all": 6}
    assert tab_counts(response) == expected
    assert listed(agent_client, view="mine")[1] == [mine.pk]
    assert set(listed(agent_client, view="unassigned")[1]) == {unassigned.pk, pending.pk, late.pk}
    assert listed(agent_client, view="breaching")[1] == [late.pk]
    assert listed(agent_client, view="pending")[1] == [pending.pk]
    # Tickets the team owes first; those whose SLA clock stopped (pending the customer,
    # solved) have no due time and come last.
    assert set(listed(agent_client, view="all")[1][-2:]) == {pending.pk, solved.pk}
    # A search looks at solved tickets too.
    assert listed(agent_client, q=solved.reference)[1] == [solved.pk]


def test_open_tickets_by_sla_due_then_priority_then_last_activity(agent_client):
    later, urgent, normal, late, no_due = open_tickets(5)
    due_in(later, 240)
    due_in(urgent, 60, priority=Ticket.Priority.URGENT)
    due_in(normal, 60)
    due_in(late, -10)
    Ticket.objects.filter(pk=no_due.pk).update(first_response_due=None)
    assert listed(agent_client)[1] == [late.pk, urgent.pk, normal.pk, later.pk, no_due.pk]


def test_a_row_shows_the_preview_channel_and_a_coloured_sla(agent_client, agent):
    ok, soon, late = open_tickets(3)
    due_in(ok, 300)
    due_in(soon, 10)
    due_in(late, -185)
    actions.reply(ok, acting_user=agent, body="We are looking into it\nfor you.")
    actions.add_note(ok, acting_user=agent, body="internal: check the card")
    page = agent_client.get(CHANGELIST).content.decode()
    assert "We are looking into it for you." in page  # one line, the note not shown
    assert "internal: check the card" not in page
    assert 'class="mw-sla mw-sla-soon"' in page and 'class="mw-sla mw-sla-breached"' in page
    assert "3 h late" in page
    assert 'class="mw-channel-icon mw-channel-wechat" title="WeChat"' in page
    # Answered: the resolution due time counts now; it was not set, so no chip for it.
    assert Ticket.objects.get(pk=ok.pk).sla_due == Ticket.objects.get(pk=ok.pk).resolution_due


def test_the_inbox_reads_the_same_queries_at_5_and_60_tickets(agent_client, agent):
    open_tickets(5, agent=agent)

    def queries(**params):
        with CaptureQueriesContext(connection) as captured:
            response = agent_client.get(CHANGELIST, params)
        assert response.status_code == 200
        return len(captured)

    views = ["mine", "unassigned", "breaching", "pending", "open", "all"]
    small = {view: queries(view=view) for view in views}
    open_tickets(55, start=5, agent=agent)
    for view in views:
        assert queries(view=view) == small[view]
    assert max(small.values()) <= 20


def test_a_chat_ticket_is_named_by_the_customers_first_line(db):
    conversation = start_conversation(session_key="s")
    ticket = conversation.ticket
    assert ticket.subject == ""
    first = "  My   payment to Sunshine Mart failed twice today and I was charged once "
    store_messages([Pending(conversation.pk, "a", first + "\nplease help", "customer")])
    store_messages([Pending(conversation.pk, "b", "Anyone there?", "customer")])
    ticket.refresh_from_db()
    assert ticket.subject == "My payment to Sunshine Mart failed twice today and I was charged once"
    assert ticket.last_message_preview == "Anyone there?"


def test_bulk_actions_go_through_the_actions_and_tell_refusals(agent_client, agent, other_agent):
    tickets = open_tickets(3)
    ids = [t.pk for t in tickets]
    queue = Queue.objects.create(name="Transactions", slug="transactions")
    agent_client.post(
        CHANGELIST, {"action": "assign_to", "assignee": other_agent.pk, "_selected_action": ids}
    )
    agent_client.post(
        CHANGELIST, {"action": "set_queue", "queue": queue.pk, "_selected_action": ids}
    )
    agent_client.post(
        CHANGELIST, {"action": "set_priority", "priority": 4, "_selected_action": ids}
    )
    rows = Ticket.objects.filter(pk__in=ids)
    assert {(t.assignee_id, t.queue_id, t.priority) for t in rows} == {
        (other_agent.pk, queue.pk, 4)
    }
    assert all(t.events.filter(kind="changed").exists() for t in rows)

    Ticket.objects.filter(pk=ids[0]).update(status=Ticket.Status.CLOSED)
    # Posted from the "All" tab (the form posts to the page's own address, view included).
    response = agent_client.post(
        CHANGELIST + "?view=all",
        {"action": "set_status", "status": "open", "_selected_action": ids},
    )
    told = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(m.startswith(tickets[0].reference + ":") for m in told)
    assert "2 ticket(s) changed." in told
    missing = agent_client.post(CHANGELIST, {"action": "set_queue", "_selected_action": ids})
    assert "Choose a queue." in [str(m) for m in get_messages(missing.wsgi_request)]
