"""The thread's rules (tickets/actions/thread.py) from the live chat's routes: a chat line and
an agent's console message or note (chat.messages.store_messages, the writer's batch through
tickets.actions.receive_with_replies), an upload (chat.actions.post_customer_upload, and
/chat/upload/), and the offline form on a live chat (chat.actions.leave_message). The
spine's own routes are in tests/tickets/test_thread_rules.py."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from chat import actions
from chat.messages import Pending, store_messages
from chat.models import AgentPresence, Conversation
from tests.chat.conftest import start_chat
from tickets import actions as ticket_actions
from tickets.actions import thread
from tickets.models import Attachment, Message, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# The statuses a customer writing again opens, and the event each leaves.
WAITING = [
    (Ticket.Status.SOLVED, TicketEvent.Kind.REOPENED),
    (Ticket.Status.PENDING, TicketEvent.Kind.STATUS),
    (Ticket.Status.ON_HOLD, TicketEvent.Kind.STATUS),
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def start() -> Conversation:
    return actions.start_conversation(session_key="s")


def held_by(agent) -> Conversation:
    """A chat the agent accepted: active, the ticket open and theirs."""
    AgentPresence.objects.create(user=agent, status="online", sockets=1)
    conversation = start()
    return actions.accept(conversation, acting_user=agent)


def set_status(conversation: Conversation, status: str, agent) -> None:
    """An agent moves the chat's ticket on from the ticket page while the chat is live."""
    ticket_actions.change_status(conversation.ticket, acting_user=agent, status=status)


def ticket_of(conversation: Conversation) -> Ticket:
    return Ticket.objects.get(pk=conversation.ticket_id)


def line(conversation, client_id="c1", text="hello?") -> Pending:
    return Pending(conversation.pk, client_id, text, "customer", name="Lin")


def upload(conversation, client_id="u1") -> ticket_actions.Received:
    return actions.post_customer_upload(
        conversation, client_id=client_id, name="shot.png", content_type="image/png", content=PNG
    )


def assert_reopened_by_customer(conversation, status, kind) -> None:
    ticket = ticket_of(conversation)
    assert (ticket.status, ticket.solved_at) == (Ticket.Status.OPEN, None)
    [event] = ticket.events.filter(data__by="customer")
    assert (event.kind, event.actor) == (kind, None)
    assert event.data == {"from": status, "to": "open", "by": "customer"}


def by_answer(ticket: Ticket) -> list[TicketEvent]:
    return list(ticket.events.filter(data__by="answer").order_by("pk"))


# --- a customer writing again opens a waiting ticket (thread.REOPENED_BY_CUSTOMER) ----------


@pytest.mark.parametrize(("status", "kind"), WAITING)
def test_a_chat_line_from_the_customer_opens_a_waiting_ticket_again(agent, status, kind):
    """Reopen rule (thread.REOPENED_BY_CUSTOMER), by a chat line (store_messages)."""
    conversation = start()
    set_status(conversation, status, agent)
    [stored] = store_messages([line(conversation)])
    assert stored.frame is not None
    assert_reopened_by_customer(conversation, status, kind)


@pytest.mark.parametrize(("status", "kind"), WAITING)
def test_a_chat_upload_from_the_customer_opens_a_waiting_ticket_again(agent, status, kind):
    """Reopen rule (thread.REOPENED_BY_CUSTOMER), by an upload (post_customer_upload)."""
    conversation = start()
    set_status(conversation, status, agent)
    received = upload(conversation)
    assert received.ticket.pk == conversation.ticket_id
    assert received.message.attachments.count() == 1
    assert_reopened_by_customer(conversation, status, kind)


@pytest.mark.parametrize(("status", "kind"), WAITING)
def test_the_offline_form_in_a_live_chat_opens_its_waiting_ticket_again(agent, status, kind):
    """Reopen rule (thread.REOPENED_BY_CUSTOMER), by the offline form (leave_message) on
    the session's live chat."""
    conversation = start()
    set_status(conversation, status, agent)
    received = actions.leave_message(
        contact="zhou.min@example.com", text="还在吗?", conversation=conversation
    )
    assert received.ticket.pk == conversation.ticket_id and not received.opened
    assert_reopened_by_customer(conversation, status, kind)


# --- a closed ticket takes nothing more to or from the customer (thread.takes) --------------


def test_a_chat_line_on_a_closed_ticket_is_refused_and_nothing_is_stored(agent):
    """Closed rule (thread.takes), by a chat line: error "closed", nothing stored."""
    conversation = start()
    set_status(conversation, Ticket.Status.CLOSED, agent)
    events_before = ticket_of(conversation).events.count()
    [refused] = store_messages([line(conversation)])
    assert (refused.code, refused.frame, refused.message_id) == ("closed", None, None)
    assert str(refused.detail) == str(thread.CLOSED)
    assert not Message.objects.exists()
    assert ticket_of(conversation).events.count() == events_before


def test_a_chat_upload_on_a_closed_ticket_is_refused_and_nothing_is_stored(agent):
    """Closed rule (thread.takes), by an upload through /chat/upload/ (the spine's
    refusal, code "ticket_closed", answered 409)."""
    client, data = start_chat()
    conversation = Conversation.objects.get(pk=data["conversation"])
    set_status(conversation, Ticket.Status.CLOSED, agent)
    image = SimpleUploadedFile("shot.png", PNG, content_type="image/png")
    response = client.post("/chat/upload/", {"image": image, "client_id": "u1"})
    assert response.status_code == 409
    assert response.json()["error"] == str(thread.CLOSED)
    with pytest.raises(ValidationError) as refused:
        upload(conversation, client_id="u2")
    assert refused.value.code == "ticket_closed"
    assert not Message.objects.exists() and not Attachment.objects.exists()


def test_an_agents_chat_message_on_a_closed_ticket_is_refused_but_a_chat_note_is_stored(agent):
    """Closed rule (thread.takes), from the chat console: no answer, notes still."""
    conversation = held_by(agent)
    set_status(conversation, Ticket.Status.CLOSED, agent)
    refused, note = store_messages(
        [
            Pending(conversation.pk, "a1", "Anything else?", "agent", agent=agent),
            Pending(conversation.pk, "n1", "Closed by phone.", "note", agent=agent),
        ]
    )
    assert (refused.code, refused.frame) == ("closed", None)
    assert note.frame is not None and note.internal
    stored = Message.objects.get()
    assert (stored.pk, stored.direction) == (note.message_id, Message.Direction.NOTE)
    assert ticket_of(conversation).status == Ticket.Status.CLOSED


# --- an agent's first answer (thread._touch) ------------------------------------------------


def test_the_first_answer_in_an_auto_assigned_chat_sets_the_first_response_and_opens_it(
    settings, agent
):
    """First answer rule (thread._touch), from the chat console: an auto-assigned chat is
    new until its agent answers; the first answer sets the first response once."""
    settings.CHAT_AUTO_ASSIGN = True
    AgentPresence.objects.create(user=agent, status="online", sockets=1)
    conversation = start()
    assert (ticket_of(conversation).status, conversation.agent) == (Ticket.Status.NEW, agent)
    store_messages([Pending(conversation.pk, "a1", "Hello", "agent", agent=agent)])
    answered = ticket_of(conversation)
    assert answered.first_responded_at is not None
    assert answered.status == Ticket.Status.OPEN
    [status] = by_answer(answered)  # it was the agent's already: no assignment
    assert (status.kind, status.actor) == (TicketEvent.Kind.STATUS, agent)
    assert status.data == {"from": "new", "to": "open", "by": "answer"}

    store_messages([Pending(conversation.pk, "a2", "Still there?", "agent", agent=agent)])
    again = ticket_of(conversation)
    assert again.first_responded_at == answered.first_responded_at
    assert len(by_answer(again)) == 1


def test_a_chat_answer_takes_the_ticket_back_when_nobody_holds_it(agent, supervisor):
    """First answer rule (thread._touch), from the chat console: an unassigned ticket is
    taken by the agent answering, with its event."""
    conversation = held_by(agent)
    ticket_actions.assign(conversation.ticket, acting_user=supervisor, assignee=None)
    store_messages([Pending(conversation.pk, "a1", "Hello", "agent", agent=agent)])
    ticket = ticket_of(conversation)
    assert ticket.assignee == agent and ticket.first_responded_at is not None
    [taken] = by_answer(ticket)  # accepting opened it already
    assert (taken.kind, taken.actor) == (TicketEvent.Kind.ASSIGNED, agent)
    assert taken.data == {"from": None, "to": agent.pk, "by": "answer"}


def test_a_chat_note_is_not_a_first_response(settings, agent):
    """First answer rule (thread._touch): a note from the console answers nobody."""
    settings.CHAT_AUTO_ASSIGN = True
    AgentPresence.objects.create(user=agent, status="online", sockets=1)
    conversation = start()
    store_messages([Pending(conversation.pk, "n1", "VIP", "note", agent=agent)])
    ticket = ticket_of(conversation)
    assert ticket.first_responded_at is None
    assert ticket.status == Ticket.Status.NEW and not by_answer(ticket)


# --- the same message twice is stored once (the chat writer, by conversation and client id) -


@pytest.mark.parametrize("kind", ["agent", "note"])
def test_an_agents_line_re_sent_with_the_same_client_id_is_stored_once(agent, kind):
    """Duplicates rule (chat.messages.store_messages, by conversation and client id) for the
    console's side, in one batch and across batches (the customer's side:
    tests/chat/test_actions.py, test_a_client_id_is_stored_once_within_and_across_batches)."""
    conversation = held_by(agent)
    pending = Pending(conversation.pk, "same", "Hello", kind, agent=agent)
    first, repeat = store_messages([pending, pending])
    [later] = store_messages([pending])
    assert not first.duplicate and repeat.duplicate and later.duplicate
    assert first.message_id == repeat.message_id == later.message_id
    assert Message.objects.filter(ticket_id=conversation.ticket_id).count() == 1
