"""Merging tickets (tickets.actions.merge_tickets): the source's messages, attachments and
calls move to the target in their order, later replies to the source's mail thread into the
target, both histories say so, and the refusals (another customer, no permission, closed)."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tickets import actions
from tickets.history import ticket_history
from tickets.inbound import InboundAttachment
from tickets.models import Attachment, CallLog, Message, Ticket, TicketEvent

from . import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def target(customer):
    return actions.receive(
        factories.email(external_id="<first@x>", subject="Payment failed")
    ).ticket


@pytest.fixture
def source(customer, target):
    picture = InboundAttachment(name="receipt.png", content_type="image/png", content=b"\x89PNG")
    return actions.receive(
        factories.email(external_id="<second@x>", subject="Still failing", attachments=(picture,))
    ).ticket


def test_the_messages_move_in_order_with_their_attachments_and_calls(source, target, agent):
    CallLog.objects.create(
        caller_number="13800138000", started_at=timezone.now(), ticket=source, agent=agent
    )
    actions.add_note(target, acting_user=agent, body="checking the bank")
    merged = actions.merge_tickets(source, target, agent)
    assert merged == target
    thread = list(target.messages.order_by("created_at", "id"))
    assert [m.external_id for m in thread if m.external_id] == ["<first@x>", "<second@x>"]
    assert [m.created_at for m in thread] == sorted(m.created_at for m in thread)
    assert not source.messages.exists()
    assert Attachment.objects.get(name="receipt.png").message.ticket == target
    assert CallLog.objects.get().ticket == target
    source.refresh_from_db()
    target.refresh_from_db()
    assert source.status == Ticket.Status.CLOSED
    assert target.last_message_at == thread[-1].created_at


def test_the_inbox_preview_is_the_merged_threads_latest_word(customer, target, agent):
    later = actions.receive(
        factories.email(external_id="<third@x>", subject="Again", text="It failed a third time")
    ).ticket
    actions.add_note(target, acting_user=agent, body="an internal note is not the preview")
    actions.merge_tickets(later, target, agent)
    target.refresh_from_db()
    assert target.last_message_preview == "It failed a third time"


def test_both_histories_say_so(source, target, agent):
    actions.merge_tickets(source, target, agent)
    [into] = [e for e in ticket_history(source) if e.event.kind == TicketEvent.Kind.MERGED_INTO]
    [came] = [e for e in ticket_history(target) if e.event.kind == TicketEvent.Kind.MERGED_FROM]
    assert into.sentence == f"agent merged this ticket into {target.reference}"
    assert came.sentence == f"agent merged {source.reference} into this ticket"


def test_a_later_reply_to_the_sources_mail_lands_on_the_target(source, target, agent):
    actions.merge_tickets(source, target, agent)
    reply = actions.receive(factories.email(text="Any news?", thread_ids=("<second@x>",)))
    assert reply.ticket == target
    assert Ticket.objects.count() == 2


def test_another_customers_ticket_is_refused(target, agent, other_customer):
    stranger = actions.receive(factories.email("anna@example.org")).ticket
    with pytest.raises(ValidationError, match="different customers"):
        actions.merge_tickets(stranger, target, agent)
    assert stranger.messages.exists()
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.MERGED_FROM).exists()


def test_someone_without_the_ticket_permission_is_refused(source, target, django_user_model):
    visitor = django_user_model.objects.create_user("visitor", is_staff=True)
    with pytest.raises(PermissionDenied):
        actions.merge_tickets(source, target, visitor)
    assert source.messages.count() == 1


def test_a_ticket_is_not_merged_into_itself_or_a_closed_one(source, target, agent):
    with pytest.raises(ValidationError, match="itself"):
        actions.merge_tickets(target, target, agent)
    actions.change_status(target, acting_user=agent, status=Ticket.Status.CLOSED)
    with pytest.raises(ValidationError, match="closed"):
        actions.merge_tickets(source, target, agent)


def test_older_messages_of_the_source_sort_before_the_targets(source, target, agent):
    Message.objects.filter(ticket=source).update(created_at=timezone.now() - timedelta(days=1))
    actions.merge_tickets(source, target, agent)
    first = target.messages.order_by("created_at", "id").first()
    assert first.external_id == "<second@x>"
