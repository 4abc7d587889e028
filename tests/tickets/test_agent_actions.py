import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from chat.models import Conversation
from tickets import actions
from tickets.models import Message, Ticket, TicketEvent

from . import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    return actions.receive(factories.email("li.wei@example.com")).ticket


def test_a_reply_is_queued_and_recorded(ticket, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = actions.reply(ticket, acting_user=agent, body="  Please check your network.  ")
    assert message.direction == Message.Direction.OUTBOUND
    assert message.delivery_status == Message.Delivery.QUEUED
    assert message.text == "Please check your network."
    assert message.channel == "email"
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.first_responded_at is not None
    assert ticket.assignee == agent
    assert ticket.events.filter(kind=TicketEvent.Kind.REPLY, actor=agent).exists()
    # Delivery went to the task queue (django-tasks-db), not inline.
    assert (
        DBTaskResult.objects.filter(task_path="tickets.actions.delivery.deliver_message").count()
        == 1
    )


def run_worker():
    """The real django-tasks-db worker, until the queue is empty."""
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


# The worker closes and reopens its database connection, as in production: these tests
# commit for real instead of running inside a test transaction.
@pytest.mark.django_db(transaction=True)
def test_the_worker_delivers_a_chat_reply_to_a_customer_on_the_page(agent):
    received = actions.receive(factories.chat())
    Conversation.objects.create(
        ticket=received.ticket,
        identity=received.message.sender,
        state=Conversation.State.ACTIVE,
        customer_sockets=1,
    )
    message = actions.reply(received.ticket, acting_user=agent, body="Hello, how can I help?")
    run_worker()
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT
    assert message.delivered_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_chat_reply_with_no_chat_page_and_no_email_fails_with_the_reason(agent):
    # A chat ticket without a conversation (made before the live chat): it used to be
    # marked sent although nothing could show it.
    chat_ticket = actions.receive(factories.chat()).ticket
    message = actions.reply(chat_ticket, acting_user=agent, body="Hello, how can I help?")
    run_worker()
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.FAILED
    assert "contact them another way" in message.delivery_error


@pytest.mark.django_db(transaction=True)
def test_a_reply_on_a_channel_that_cannot_send_is_marked_failed_with_the_reason(agent):
    phone_ticket = actions.receive(factories.phone()).ticket
    message = actions.reply(phone_ticket, acting_user=agent, body="We will call you back.")
    run_worker()
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.FAILED
    assert "cannot send replies" in message.delivery_error


def test_an_internal_note_is_never_sent(ticket, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        note = actions.add_note(ticket, acting_user=agent, body="Customer sounds worried.")
    assert note.direction == Message.Direction.NOTE
    assert note.delivery_status == ""
    assert not DBTaskResult.objects.exists()
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None


def test_an_empty_reply_is_refused(ticket, agent):
    with pytest.raises(ValidationError):
        actions.reply(ticket, acting_user=agent, body="   ")
    assert ticket.messages.count() == 1


def test_someone_without_permission_cannot_reply(ticket, django_user_model):
    visitor = django_user_model.objects.create_user("visitor", is_staff=True)
    with pytest.raises(PermissionDenied):
        actions.reply(ticket, acting_user=visitor, body="hi")


def test_assign_records_who_gave_it_to_whom(ticket, agent, supervisor):
    actions.assign(ticket, acting_user=supervisor, assignee=agent)
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    event = ticket.events.get(kind=TicketEvent.Kind.ASSIGNED)
    assert event.actor == supervisor and event.data == {"from": None, "to": agent.pk}


def test_tickets_cannot_be_assigned_to_customers(ticket, agent, django_user_model):
    outsider = django_user_model.objects.create_user("outsider")
    with pytest.raises(ValidationError):
        actions.assign(ticket, acting_user=agent, assignee=outsider)


def test_status_changes_set_their_timestamps(ticket, agent):
    actions.change_status(ticket, acting_user=agent, status=Ticket.Status.SOLVED)
    ticket.refresh_from_db()
    assert ticket.solved_at is not None
    actions.change_status(ticket, acting_user=agent, status=Ticket.Status.CLOSED)
    ticket.refresh_from_db()
    assert ticket.closed_at is not None and ticket.solved_at is not None
    assert list(ticket.events.filter(kind="status").values_list("data__to", flat=True)) == [
        "solved",
        "closed",
    ]


def test_a_closed_ticket_stays_closed(ticket, agent):
    actions.change_status(ticket, acting_user=agent, status=Ticket.Status.CLOSED)
    with pytest.raises(ValidationError):
        actions.change_status(ticket, acting_user=agent, status=Ticket.Status.OPEN)
    with pytest.raises(ValidationError):
        actions.reply(ticket, acting_user=agent, body="Hello?")


def test_an_unknown_status_is_refused(ticket, agent):
    with pytest.raises(ValidationError):
        actions.change_status(ticket, acting_user=agent, status="deleted")


def test_a_reply_can_move_the_ticket_on_in_the_same_transaction(ticket, agent):
    actions.reply(ticket, acting_user=agent, body="Did that work?", then_status="pending")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING


def test_a_reply_with_an_impossible_status_is_not_written_at_all(ticket, agent):
    with pytest.raises(ValidationError):
        actions.reply(ticket, acting_user=agent, body="Hello", then_status="deleted")
    assert ticket.messages.count() == 1
    assert not DBTaskResult.objects.exists()
