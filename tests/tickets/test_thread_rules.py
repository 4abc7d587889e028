"""The thread's rules (tickets/actions/thread.py) from the spine's own routes: customers'
mail (intake.receive_many, and raw mail through tickets.sources.email.intake) and the
ticket page (replies.reply, replies.add_note). The chat's routes to the same rules are in
tests/chat/test_thread_rules.py; docs/architecture.md, "Where each rule lives", maps each
rule to its module."""

from email.message import EmailMessage

import pytest
from django.core.exceptions import ValidationError

from tickets import actions
from tickets.models import InboundMessage, Message, Ticket, TicketEvent
from tickets.sources.email import intake

from . import factories

pytestmark = pytest.mark.django_db

# The statuses a customer writing again opens, and the event each leaves.
WAITING = [
    (Ticket.Status.SOLVED, TicketEvent.Kind.REOPENED),
    (Ticket.Status.PENDING, TicketEvent.Kind.STATUS),
    (Ticket.Status.ON_HOLD, TicketEvent.Kind.STATUS),
]


def by_customer(ticket: Ticket) -> list[TicketEvent]:
    return list(ticket.events.filter(data__by="customer"))


def by_answer(ticket: Ticket) -> list[TicketEvent]:
    return list(ticket.events.filter(data__by="answer").order_by("pk"))


def raw_mail(*, message_id: str, to: str = "support@mywallet.example") -> bytes:
    message = EmailMessage()
    message["From"] = "Li Wei <li.wei@example.com>"
    message["To"] = to
    message["Subject"] = "Payment failed"
    message["Message-ID"] = message_id
    message.set_content("My payment at Meituan failed.")
    return message.as_bytes()


# --- a customer writing again opens a waiting ticket (thread.REOPENED_BY_CUSTOMER) ----------


@pytest.mark.parametrize(("status", "kind"), WAITING)
def test_mail_from_the_customer_opens_a_waiting_ticket_again_with_its_event(
    customer, agent, status, kind
):
    """Reopen rule (thread.REOPENED_BY_CUSTOMER), by email through receive_many."""
    [first] = actions.receive_many([factories.email(external_id="<waiting@x>")])
    actions.change_status(first.ticket, acting_user=agent, status=status)
    [again] = actions.receive_many([factories.email(thread_ids=("<waiting@x>",))])
    ticket = Ticket.objects.get(pk=first.ticket.pk)
    assert again.ticket.pk == ticket.pk and not again.opened
    assert (ticket.status, ticket.solved_at) == (Ticket.Status.OPEN, None)
    [event] = by_customer(ticket)
    assert (event.kind, event.actor) == (kind, None)
    assert event.data == {"from": status, "to": "open", "by": "customer"}


# --- a closed ticket takes nothing more to or from the customer (thread.takes) --------------


def test_mail_threading_onto_a_closed_ticket_opens_a_follow_up_that_points_to_it(customer, agent):
    """Closed rule (thread.takes), by email: intake opens a follow-up instead."""
    [first] = actions.receive_many([factories.email(external_id="<closed@x>")])
    actions.change_status(first.ticket, acting_user=agent, status=Ticket.Status.CLOSED)
    [again] = actions.receive_many([factories.email(thread_ids=("<closed@x>",))])
    assert again.opened and again.ticket.follows_up_id == first.ticket.pk
    assert again.message.ticket_id == again.ticket.pk
    closed = Ticket.objects.get(pk=first.ticket.pk)
    assert closed.status == Ticket.Status.CLOSED and closed.messages.count() == 1
    created = again.ticket.events.get(kind=TicketEvent.Kind.CREATED)
    assert created.data["follows_up"] == closed.reference


def test_an_agents_reply_from_the_ticket_page_to_a_closed_ticket_is_refused(customer, agent):
    """Closed rule (thread.takes), from the ticket page: replies.reply raises."""
    ticket = actions.receive(factories.email()).ticket
    actions.change_status(ticket, acting_user=agent, status=Ticket.Status.CLOSED)
    events_before = ticket.events.count()
    with pytest.raises(ValidationError) as refused:
        actions.reply(ticket, acting_user=agent, body="Anything else?")
    assert refused.value.code == "ticket_closed"
    assert list(ticket.messages.values_list("direction", flat=True)) == ["inbound"]
    assert ticket.events.count() == events_before


def test_an_internal_note_on_a_closed_ticket_is_still_accepted(customer, agent):
    """Closed rule (thread.takes): notes stay open to agents."""
    ticket = actions.receive(factories.email()).ticket
    actions.change_status(ticket, acting_user=agent, status=Ticket.Status.CLOSED)
    note = actions.add_note(ticket, acting_user=agent, body="Customer called back; all good.")
    assert note.direction == Message.Direction.NOTE and note.ticket_id == ticket.pk
    assert ticket.events.filter(kind=TicketEvent.Kind.NOTE, actor=agent).count() == 1
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.CLOSED


# --- an agent's first answer (thread._touch) ------------------------------------------------


def test_the_first_answer_from_the_ticket_page_sets_the_first_response_opens_and_takes_it(
    customer, agent, other_agent
):
    """First answer rule (thread._touch), from the ticket page: first response once, new to
    open and taken, each with its event."""
    ticket = actions.receive(factories.email()).ticket
    actions.reply(ticket, acting_user=agent, body="Which shop was it?")
    answered = Ticket.objects.get(pk=ticket.pk)
    assert answered.first_responded_at is not None
    assert (answered.status, answered.assignee) == (Ticket.Status.OPEN, agent)
    status, assigned = by_answer(answered)
    assert (status.kind, status.actor) == (TicketEvent.Kind.STATUS, agent)
    assert status.data == {"from": "new", "to": "open", "by": "answer"}
    assert (assigned.kind, assigned.actor) == (TicketEvent.Kind.ASSIGNED, agent)
    assert assigned.data == {"from": None, "to": agent.pk, "by": "answer"}

    actions.reply(ticket, acting_user=other_agent, body="And at what time?")
    again = Ticket.objects.get(pk=ticket.pk)
    assert again.first_responded_at == answered.first_responded_at
    assert again.assignee == agent
    assert len(by_answer(again)) == 2


def test_a_note_from_the_ticket_page_is_not_a_first_response(customer, agent):
    """First answer rule (thread._touch): a note neither answers nor opens the ticket."""
    ticket = actions.receive(factories.email()).ticket
    actions.add_note(ticket, acting_user=agent, body="Looks like the bank's outage.")
    noted = Ticket.objects.get(pk=ticket.pk)
    assert noted.first_responded_at is None
    assert noted.status == Ticket.Status.NEW
    assert not noted.events.filter(kind=TicketEvent.Kind.STATUS).exists()


# --- the same message twice is stored once (intake._Batch) ----------------------------------


def test_the_same_message_id_twice_is_one_message_within_a_batch_and_across_batches(customer):
    """Duplicates rule (intake._Batch, by channel and Message-ID), through real raw mail:
    copies to two support addresses in one batch, and a third copy later."""
    copies = [
        raw_mail(message_id="<once@mail.example.com>", to=f"{box}@mywallet.example")
        for box in ("support", "security", "help")
    ]
    first, second = (intake.store(raw, source="test") for raw in copies[:2])
    assert intake.process_many([first, second]) == ["processed", "duplicate"]
    assert intake.process(intake.store(copies[2], source="test")) == "duplicate"
    message = Message.objects.get()
    assert message.external_id == "once@mail.example.com"
    duplicates = InboundMessage.objects.filter(status=InboundMessage.Status.DUPLICATE)
    assert [raw.message_id for raw in duplicates] == [message.pk, message.pk]
