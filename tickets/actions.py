"""Business operations on tickets, shared by every channel, the admin, the API and chat.

Each top-level action runs in one transaction, records what it did (TicketEvent or
AccountEvent) in that transaction, and defers broadcasts and deliveries to on_commit.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actions import require_permission, resolve_identity
from accounts.models import Customer

from . import live
from .html import sanitise_html
from .inbound import Inbound
from .models import Attachment, InboundMessage, Message, Queue, Ticket, TicketEvent
from .sources import DeliveryError, processor_for, sender_for

logger = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 5


@dataclass(frozen=True)
class Received:
    message: Message
    ticket: Ticket
    opened: bool  # a new ticket was opened for it
    duplicate: bool  # it had been received before; nothing was written


# --- intake -------------------------------------------------------------------------------


def receive(inbound: Inbound) -> Received:
    """File one customer message: find or create the customer, thread it, store it.

    Idempotent on (channel, external_id): the same message received twice, even by two
    processes at once, is stored once and the second call reports ``duplicate``.
    Raises ValidationError when the sender's identity is not valid (the caller
    quarantines the raw payload with that reason).
    """
    if inbound.external_id:
        existing = _existing(inbound)
        if existing is not None:
            return _duplicate(inbound, existing)
    try:
        with transaction.atomic():
            return _receive(inbound)
    except IntegrityError:
        # A concurrent receive of the same message committed first.
        existing = _existing(inbound) if inbound.external_id else None
        if existing is None:
            raise
        return _duplicate(inbound, existing)


def _existing(inbound: Inbound) -> Message | None:
    return (
        Message.objects.select_related("ticket")
        .filter(channel=inbound.channel, external_id=inbound.external_id)
        .first()
    )


def _duplicate(inbound: Inbound, message: Message) -> Received:
    if inbound.raw_id:
        InboundMessage.objects.filter(pk=inbound.raw_id).update(
            status=InboundMessage.Status.DUPLICATE,
            reason=_("Already received as message %(id)s.") % {"id": message.pk},
            message=message,
            processed_at=timezone.now(),
        )
    return Received(message=message, ticket=message.ticket, opened=False, duplicate=True)


def _receive(inbound: Inbound) -> Received:
    identity = resolve_identity(
        kind=inbound.sender_kind, value=inbound.sender, display_name=inbound.sender_name
    )
    customer = identity.customer
    ticket, opened = _thread(inbound, customer)
    now = timezone.now()
    message = Message.objects.create(
        ticket=ticket,
        direction=Message.Direction.INBOUND,
        channel=inbound.channel,
        sender=identity,
        subject=inbound.subject[:255],
        text=inbound.text,
        html=sanitise_html(inbound.html),
        external_id=inbound.external_id[:255],
        metadata=inbound.metadata,
    )
    for attachment in inbound.attachments:
        _store_attachment(message, attachment)
    if not opened:
        TicketEvent.objects.create(
            ticket=ticket, kind=TicketEvent.Kind.MESSAGE, data={"message": message.pk}
        )
    changes = {"last_message_at": now}
    cc = list(dict.fromkeys([*ticket.cc, *inbound.cc]))
    if cc != ticket.cc:
        changes["cc"] = cc
    Ticket.objects.filter(pk=ticket.pk).update(**changes)
    for field_name, value in changes.items():
        setattr(ticket, field_name, value)
    if inbound.raw_id:
        InboundMessage.objects.filter(pk=inbound.raw_id).update(
            status=InboundMessage.Status.PROCESSED, message=message, processed_at=now, reason=""
        )
    live.broadcast_on_commit(message)
    return Received(message=message, ticket=ticket, opened=opened, duplicate=False)


def _thread(inbound: Inbound, customer: Customer) -> tuple[Ticket, bool]:
    """The ticket this message continues, or a new one. Returns (ticket, opened)."""
    if inbound.thread_ids:
        earlier = (
            Message.objects.select_related("ticket")
            .filter(channel=inbound.channel, external_id__in=inbound.thread_ids)
            .order_by("-created_at")
            .first()
        )
        if earlier is not None:
            return _continue(earlier.ticket, inbound, customer)
    if inbound.ticket_reference:
        referenced = Ticket.objects.filter(reference=inbound.ticket_reference.upper()).first()
        if referenced is not None:
            if referenced.customer_id == customer.pk:
                return _continue(referenced, inbound, customer)
            # A stranger quoting someone else's reference never writes on their ticket.
            return _open(inbound, customer, follows_up=referenced), True
    if inbound.continue_open:
        current = (
            customer.tickets.filter(channel=inbound.channel)
            .exclude(status__in=[Ticket.Status.SOLVED, Ticket.Status.CLOSED])
            .order_by("-last_message_at", "-pk")
            .first()
        )
        if current is not None:
            return current, False
    return _open(inbound, customer), True


def _continue(ticket: Ticket, inbound: Inbound, customer: Customer) -> tuple[Ticket, bool]:
    if ticket.status == Ticket.Status.CLOSED:
        return _open(inbound, customer, follows_up=ticket), True
    if ticket.status in (Ticket.Status.SOLVED, Ticket.Status.PENDING, Ticket.Status.ON_HOLD):
        previous = ticket.status
        ticket.status = Ticket.Status.OPEN
        ticket.solved_at = None
        ticket.save(update_fields=["status", "solved_at", "updated_at"])
        kind = (
            TicketEvent.Kind.REOPENED
            if previous == Ticket.Status.SOLVED
            else TicketEvent.Kind.STATUS
        )
        TicketEvent.objects.create(
            ticket=ticket, kind=kind, data={"from": previous, "to": ticket.status, "by": "customer"}
        )
    return ticket, False


def _open(inbound: Inbound, customer: Customer, *, follows_up: Ticket | None = None) -> Ticket:
    subject = inbound.subject or _first_line(inbound.text)
    queue = Queue.objects.filter(slug=inbound.queue).first() if inbound.queue else None
    wallets = list(customer.wallets.all()[:2])
    return open_ticket(
        customer=customer,
        channel=inbound.channel,
        subject=subject,
        category=inbound.category or Ticket.Category.OTHER,
        queue=queue,
        wallet=wallets[0] if len(wallets) == 1 else None,
        follows_up=follows_up,
        acting_user=None,
    )


def open_ticket(
    *,
    customer: Customer,
    channel: str,
    subject: str,
    acting_user,
    category: str = Ticket.Category.OTHER,
    priority: int = Ticket.Priority.NORMAL,
    queue: Queue | None = None,
    wallet=None,
    follows_up: Ticket | None = None,
) -> Ticket:
    """Create a ticket with its reference. Runs inside the caller's transaction or its own."""
    with transaction.atomic(savepoint=False):
        now = timezone.now()
        first_response, resolution = _sla_due(now, priority)
        ticket = Ticket.objects.create(
            customer=customer,
            channel=channel,
            subject=subject[:255],
            category=category,
            priority=priority,
            queue=queue,
            wallet=wallet,
            follows_up=follows_up,
            last_message_at=now,
            first_response_due=first_response,
            resolution_due=resolution,
        )
        # The primary key is unique by construction, so the reference is too, however
        # many tickets are opened at the same moment.
        ticket.reference = f"{settings.TICKET_REFERENCE_PREFIX}-{ticket.pk:06d}"
        ticket.save(update_fields=["reference"])
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.CREATED,
            actor=acting_user,
            data={"channel": channel, "follows_up": follows_up.reference if follows_up else None},
        )
    return ticket


def _sla_due(start, priority: int):
    hours = settings.TICKET_SLA_HOURS.get(Ticket.Priority(priority).label.lower())
    if not hours:
        return None, None
    first_response, resolution = hours
    return start + timedelta(hours=first_response), start + timedelta(hours=resolution)


def _first_line(text: str) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:120]
    return ""


def _store_attachment(message: Message, attachment) -> Attachment:
    import hashlib

    digest = hashlib.sha256(attachment.content).hexdigest()
    stored = Attachment(
        message=message,
        name=attachment.name[:255],
        content_type=attachment.content_type[:255],
        size=len(attachment.content),
        sha256=digest,
        content_id=attachment.content_id[:255],
    )
    stored.file.save(digest, ContentFile(attachment.content), save=False)
    stored.save()
    return stored


# --- agents' work ---------------------------------------------------------------------------


@transaction.atomic
def reply(
    ticket: Ticket,
    *,
    acting_user,
    body: str,
    internal: bool = False,
    then_status: str = "",
) -> Message:
    """An agent answers the customer (queued for delivery) or, with ``internal``, adds a note.

    ``then_status`` moves the ticket on in the same transaction (e.g. "pending" after asking
    the customer something): the message and the status change happen both or neither.
    """
    require_permission(acting_user, "tickets.change_ticket")
    body = (body or "").strip()
    if not body:
        raise ValidationError(_("The message is empty."))
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status == Ticket.Status.CLOSED and not internal:
        raise ValidationError(
            _("This ticket is closed; open a follow-up to write to the customer.")
        )
    now = timezone.now()
    message = Message.objects.create(
        ticket=ticket,
        direction=Message.Direction.NOTE if internal else Message.Direction.OUTBOUND,
        channel=ticket.channel,
        author=acting_user,
        text=body,
        delivery_status="" if internal else Message.Delivery.QUEUED,
    )
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.NOTE if internal else TicketEvent.Kind.REPLY,
        actor=acting_user,
        data={"message": message.pk},
    )
    fields = ["last_message_at", "updated_at"]
    ticket.last_message_at = now
    if not internal:
        if ticket.first_responded_at is None:
            ticket.first_responded_at = now
            fields.append("first_responded_at")
        if ticket.status == Ticket.Status.NEW:
            ticket.status = Ticket.Status.OPEN
            fields.append("status")
    if ticket.assignee_id is None:
        ticket.assignee = acting_user
        fields.append("assignee")
    ticket.save(update_fields=fields)
    live.broadcast_on_commit(message)
    if not internal:
        transaction.on_commit(lambda: _enqueue_delivery(message.pk), robust=True)
    if then_status:
        change_status(ticket, acting_user=acting_user, status=then_status)
    return message


def add_note(ticket: Ticket, *, acting_user, body: str, then_status: str = "") -> Message:
    """An internal note: seen by agents only, never sent."""
    return reply(ticket, acting_user=acting_user, body=body, internal=True, then_status=then_status)


@transaction.atomic
def assign(ticket: Ticket, *, acting_user, assignee) -> Ticket:
    """Give the ticket to an agent (or to nobody, with ``assignee=None``)."""
    require_permission(acting_user, "tickets.change_ticket")
    if assignee is not None and not assignee.is_staff:
        raise ValidationError(_("Tickets can only be assigned to agents."))
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    previous = ticket.assignee_id
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.ASSIGNED,
        actor=acting_user,
        data={"from": previous, "to": assignee.pk if assignee else None},
    )
    return ticket


@transaction.atomic
def change_status(ticket: Ticket, *, acting_user, status: str) -> Ticket:
    """Move the ticket to ``status``. A closed ticket stays closed (a follow-up is opened)."""
    require_permission(acting_user, "tickets.change_ticket")
    if status not in Ticket.Status.values:
        raise ValidationError(_("Unknown status %(status)s."), params={"status": status})
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status == status:
        return ticket
    if ticket.status == Ticket.Status.CLOSED:
        raise ValidationError(_("A closed ticket cannot be reopened; open a follow-up instead."))
    previous = ticket.status
    now = timezone.now()
    ticket.status = status
    ticket.solved_at = (
        now
        if status == Ticket.Status.SOLVED
        else (ticket.solved_at if status == Ticket.Status.CLOSED else None)
    )
    ticket.closed_at = now if status == Ticket.Status.CLOSED else None
    ticket.save(update_fields=["status", "solved_at", "closed_at", "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.STATUS,
        actor=acting_user,
        data={"from": previous, "to": status},
    )
    return ticket


def reprocess_inbound(stored: InboundMessage, *, acting_user) -> str:
    """Run a quarantined or failed payload through its channel again (after a fix)."""
    require_permission(acting_user, "tickets.change_inboundmessage")
    process = processor_for(stored.channel)
    if process is None:
        raise ValidationError(
            _("The %(channel)s channel cannot reprocess stored payloads."),
            params={"channel": stored.get_channel_display()},
        )
    reset = InboundMessage.objects.filter(
        pk=stored.pk,
        status__in=[InboundMessage.Status.QUARANTINED, InboundMessage.Status.FAILED],
    ).update(
        status=InboundMessage.Status.PENDING,
        reason=_("Reprocessed by %(user)s; was: %(reason)s")
        % {"user": acting_user.get_username(), "reason": stored.reason},
    )
    if not reset:
        raise ValidationError(_("Only quarantined or failed payloads can be reprocessed."))
    stored.refresh_from_db()
    return process(stored)


# --- delivery -------------------------------------------------------------------------------


def enqueue_delivery(message_id: int) -> None:
    """Queue the delivery of a stored outbound message (chat's batched writer calls it)."""
    _enqueue_delivery(message_id)


def _enqueue_delivery(message_id: int, *, delay: timedelta | None = None) -> None:
    from .tasks import deliver_message

    if delay:
        deliver_message.using(run_after=timezone.now() + delay).enqueue(message_id)
    else:
        deliver_message.enqueue(message_id)


def deliver(message_id: int) -> str:
    """Send one queued outbound message; retried with back-off, then marked failed."""
    message = Message.objects.select_related("ticket").filter(pk=message_id).first()
    if message is None or message.delivery_status != Message.Delivery.QUEUED:
        return message.delivery_status if message else "missing"
    send = sender_for(message.channel)
    if send is None:
        return _mark_delivery(
            message,
            Message.Delivery.FAILED,
            _("The %(channel)s channel cannot send replies; contact the customer another way.")
            % {"channel": message.get_channel_display()},
        )
    attempts = message.metadata.get("delivery_attempts", 0) + 1
    try:
        outcome = send(message)
    except DeliveryError as exc:
        if exc.permanent or attempts >= MAX_DELIVERY_ATTEMPTS:
            return _mark_delivery(message, Message.Delivery.FAILED, str(exc))
        Message.objects.filter(pk=message.pk).update(
            metadata={**message.metadata, "delivery_attempts": attempts}, delivery_error=str(exc)
        )
        _enqueue_delivery(message.pk, delay=timedelta(seconds=30 * 2**attempts))
        logger.info("delivery of message %s failed (attempt %s), retrying", message.pk, attempts)
        return Message.Delivery.QUEUED
    if outcome == Message.Delivery.QUEUED:
        # The channel holds it for the customer's return (web chat without an email
        # address): it stays queued, and is marked sent once they have seen it.
        return Message.Delivery.QUEUED
    return _mark_delivery(message, Message.Delivery.SENT, "")


def _mark_delivery(message: Message, status: str, error: str) -> str:
    Message.objects.filter(pk=message.pk).update(
        delivery_status=status,
        delivery_error=error,
        delivered_at=timezone.now() if status == Message.Delivery.SENT else None,
    )
    message.delivery_status = status
    live.broadcast_message(message)
    return status
