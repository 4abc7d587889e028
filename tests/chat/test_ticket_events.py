"""What the chat changes on its ticket goes through tickets.actions.lifecycle and leaves one
event each in the ticket's history: auto-assignment (the system's, no actor), acceptance
(the agent's), a transfer back to a queue, the chat's end and its rating."""

import pytest

from chat import actions
from chat.models import AgentPresence, Conversation
from tickets.models import Queue, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def online(user) -> None:
    AgentPresence.objects.update_or_create(user=user, defaults={"status": "online", "sockets": 1})


def start() -> Conversation:
    return actions.start_conversation(session_key="s")


def events(conversation: Conversation, kind: str) -> list[TicketEvent]:
    return list(TicketEvent.objects.filter(ticket_id=conversation.ticket_id, kind=kind))


def test_auto_assignment_is_recorded_as_the_systems_with_no_actor(settings, agent):
    """Auto-assignment rule (lifecycle.assign_automatically via chat.actions.auto_assign)."""
    online(agent)
    conversation = start()  # CHAT_AUTO_ASSIGN is off: it waits
    settings.CHAT_AUTO_ASSIGN = True
    [handed] = actions.auto_assign()
    assert handed.pk == conversation.pk and handed.agent == agent
    [assigned] = events(conversation, TicketEvent.Kind.ASSIGNED)
    assert assigned.actor is None
    assert assigned.data == {"from": None, "to": agent.pk, "by": "auto"}
    ticket = Ticket.objects.get(pk=conversation.ticket_id)
    assert (ticket.assignee, ticket.status) == (agent, Ticket.Status.NEW)  # opens on answering


def test_a_manual_accept_records_the_agent_as_the_actor(agent):
    """Assignment by an agent (lifecycle.assign via chat.actions.accept), for contrast."""
    online(agent)
    conversation = actions.accept(start(), acting_user=agent)
    [assigned] = events(conversation, TicketEvent.Kind.ASSIGNED)
    assert assigned.actor == agent
    assert assigned.data == {"from": None, "to": agent.pk}


def test_a_transfer_to_a_queue_is_one_assignment_event_naming_the_queue(agent):
    """Transfer to a queue (chat.actions.transfer through lifecycle.assign)."""
    online(agent)
    conversation = actions.accept(start(), acting_user=agent)
    security = Queue.objects.create(name="Security", slug="security")
    before = len(events(conversation, TicketEvent.Kind.ASSIGNED))
    actions.transfer(conversation, acting_user=agent, to_queue=security)
    assert len(events(conversation, TicketEvent.Kind.ASSIGNED)) == before + 1
    moved = TicketEvent.objects.filter(ticket_id=conversation.ticket_id).latest("pk")
    assert (moved.kind, moved.actor) == (TicketEvent.Kind.ASSIGNED, agent)
    assert moved.data == {"from": agent.pk, "to": None, "queue": "security"}
    ticket = Ticket.objects.get(pk=conversation.ticket_id)
    assert (ticket.queue, ticket.assignee) == (security, None)


def test_a_chat_the_customer_ends_leaves_a_chat_ended_event_and_no_status_event(db):
    """Chat end (TicketEvent.Kind.CHAT_ENDED, "by": "customer"): no blank status line."""
    conversation = start()
    statuses = len(events(conversation, TicketEvent.Kind.STATUS))
    actions.close(conversation)
    [ended] = events(conversation, TicketEvent.Kind.CHAT_ENDED)
    assert (ended.actor, ended.data) == (None, {"by": "customer"})
    assert len(events(conversation, TicketEvent.Kind.STATUS)) == statuses


def test_a_chat_the_agent_ends_leaves_a_chat_ended_event_and_the_solved_status(agent):
    """Chat end (CHAT_ENDED, "by": "agent"); the only status event is the real solve."""
    online(agent)
    conversation = actions.accept(start(), acting_user=agent)
    statuses = len(events(conversation, TicketEvent.Kind.STATUS))
    actions.close(conversation, acting_user=agent)
    [ended] = events(conversation, TicketEvent.Kind.CHAT_ENDED)
    assert (ended.actor, ended.data) == (agent, {"by": "agent"})
    *_, solved = events(conversation, TicketEvent.Kind.STATUS)
    assert len(events(conversation, TicketEvent.Kind.STATUS)) == statuses + 1
    assert (solved.actor, solved.data) == (agent, {"from": "open", "to": "solved"})


def test_a_rating_leaves_a_rated_event_with_its_score_and_channel(agent):
    """Rating (TicketEvent.Kind.RATED, {"score", "channel", "comment"}); no status event
    for it."""
    online(agent)
    conversation = actions.accept(start(), acting_user=agent)
    actions.close(conversation, acting_user=agent)
    statuses = len(events(conversation, TicketEvent.Kind.STATUS))
    actions.rate(Conversation.objects.get(pk=conversation.pk), score=4, comment="fast")
    [rated] = events(conversation, TicketEvent.Kind.RATED)
    assert (rated.actor, rated.data) == (None, {"score": 4, "channel": "chat", "comment": "fast"})
    assert len(events(conversation, TicketEvent.Kind.STATUS)) == statuses


def test_rating_a_live_chat_ends_it_by_the_customer_then_rates_it(db):
    """Chat end and rating together: CHAT_ENDED by the customer, then RATED."""
    conversation = start()
    actions.rate(conversation, score=2)
    kinds = list(
        TicketEvent.objects.filter(ticket_id=conversation.ticket_id)
        .order_by("pk")
        .values_list("kind", "data")
    )
    assert kinds[-2:] == [
        (TicketEvent.Kind.CHAT_ENDED, {"by": "customer"}),
        (TicketEvent.Kind.RATED, {"score": 2, "channel": "chat"}),
    ]
    assert not events(conversation, TicketEvent.Kind.STATUS)
