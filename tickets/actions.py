"""Business operations on tickets, shared by every channel, the admin, the API and chat.

Each top-level action runs in one transaction, records what it did (TicketEvent or
AccountEvent) in that transaction, and defers broadcasts and deliveries to on_commit.
"""

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, CharField, Q, Value, When
from django.db.models.functions import Cast, Concat, LPad
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actions import resolve_identities
from accounts.identities import normalise_identity
from accounts.models import Customer, WalletAccount
from accounts.permissions import require_permission

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
    (result,) = receive_many([inbound])
    if isinstance(result, ValidationError):
        raise result
    return result


def receive_many(inbounds: Sequence[Inbound]) -> list[Received | ValidationError]:
    """File a batch of customer messages in order, with the same rules as `receive`,
    in one transaction and a fixed number of queries whatever the batch's size.

    Returns, for each inbound, its Received, or the ValidationError that keeps it out
    (an invalid sender; nothing is written for that one, the others are filed). A message
    continues a ticket opened, or a message filed, earlier in the same batch, exactly as
    if they had been received one by one. If another process stores one of the messages
    at the same moment, the batch is rolled back and filed again, finding it a duplicate.
    """
    inbounds = list(inbounds)
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _Batch(inbounds).file()
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


class _Batch:
    """One `receive_many` call: everything it must know is read up front in a few queries,
    the messages are threaded in memory in order, and the rows are written in bulk."""

    def __init__(self, inbounds: list[Inbound]):
        self.inbounds = inbounds
        self.now = timezone.now()
        self.results: list[Received | ValidationError | None] = [None] * len(inbounds)
        self.tickets: dict[int, Ticket] = {}  # one instance per ticket for the whole batch
        self.new_tickets: list[Ticket] = []
        self.touched: dict[int, Ticket] = {}  # existing tickets to update
        self.reopened: set[int] = set()
        self.cc_before: dict[int, list] = {}
        self.events: list[tuple[TicketEvent, Message | None]] = []  # (event, its message)
        self.filed: list[tuple[int, Message, bool]] = []  # (index, message, opened)
        self.duplicates: list[tuple[int, Message]] = []

    def file(self) -> list[Received | ValidationError]:
        keys = self._sender_keys()
        self._read(keys)
        for index, inbound in enumerate(self.inbounds):
            if index in keys:
                self._file_one(index, inbound, self.identities[keys[index]])
        self._write()
        return self.results

    # reading

    def _sender_keys(self) -> dict[int, tuple[str, str]]:
        keys = {}
        for index, inbound in enumerate(self.inbounds):
            try:
                value = normalise_identity(inbound.sender_kind, inbound.sender)
            except ValidationError as exc:
                self.results[index] = exc
            else:
                keys[index] = (inbound.sender_kind, value)
        return keys

    def _read(self, keys: dict[int, tuple[str, str]]) -> None:
        inbounds = [self.inbounds[index] for index in keys]
        names: dict[tuple[str, str], str] = {}
        for index, key in keys.items():
            if not names.get(key):
                names[key] = self.inbounds[index].sender_name
        self.identities = resolve_identities(names)
        # Messages stored before: by their own ids (duplicates) and the ids they continue.
        ids_by_channel: dict[str, set[str]] = {}
        for inbound in inbounds:
            wanted = ids_by_channel.setdefault(inbound.channel, set())
            if inbound.external_id:
                wanted.add(inbound.external_id[:255])
            wanted.update(thread_id[:255] for thread_id in inbound.thread_ids)
        self.messages: dict[tuple[str, str], tuple[tuple, Message]] = {}
        known = Q()
        for channel, external_ids in ids_by_channel.items():
            if external_ids:
                known |= Q(channel=channel, external_id__in=external_ids)
        if known:
            for message in Message.objects.select_related("ticket").filter(known):
                message.ticket = self._ticket(message.ticket)
                order = (0, message.created_at, message.pk)
                self.messages[message.channel, message.external_id] = (order, message)
        references = {inbound.ticket_reference.upper() for inbound in inbounds}
        references.discard("")
        self.referenced = {
            ticket.reference: self._ticket(ticket)
            for ticket in Ticket.objects.filter(reference__in=references)
        }
        slugs = {inbound.queue for inbound in inbounds if inbound.queue}
        self.queues = {queue.slug: queue for queue in Queue.objects.filter(slug__in=slugs)}
        customer_ids = {identity.customer_id for identity in self.identities.values()}
        self.wallets: dict[int, list] = {}
        for wallet in WalletAccount.objects.filter(customer_id__in=customer_ids).order_by("pk"):
            self.wallets.setdefault(wallet.customer_id, []).append(wallet)
        # The open conversation of each customer, for channels that continue it.
        self.open: dict[tuple[int, str], Ticket] = {}
        conversational = {inbound.channel for inbound in inbounds if inbound.continue_open}
        if conversational:
            current = (
                Ticket.objects.filter(customer_id__in=customer_ids, channel__in=conversational)
                .exclude(status__in=[Ticket.Status.SOLVED, Ticket.Status.CLOSED])
                .order_by("last_message_at", "pk")  # the last one per customer wins
            )
            for ticket in current:
                self.open[ticket.customer_id, ticket.channel] = self._ticket(ticket)

    def _ticket(self, ticket: Ticket) -> Ticket:
        return self.tickets.setdefault(ticket.pk, ticket)

    # threading, in memory

    def _file_one(self, index: int, inbound: Inbound, identity) -> None:
        key = (inbound.channel, inbound.external_id[:255])
        if inbound.external_id and key in self.messages:
            self.duplicates.append((index, self.messages[key][1]))
            return
        customer = identity.customer
        ticket, opened = self._thread(inbound, customer)
        message = Message(
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
        if inbound.external_id:
            self.messages[key] = ((1, index), message)
        self.filed.append((index, message, opened))
        if not opened:
            self.events.append((TicketEvent(ticket=ticket, kind=TicketEvent.Kind.MESSAGE), message))
        if ticket.pk is not None:  # opened earlier in this batch: written with its fields
            self.touched[ticket.pk] = ticket
        ticket.last_message_at = self.now
        cc = list(dict.fromkeys([*ticket.cc, *inbound.cc]))
        if cc != ticket.cc:
            if ticket.pk is not None:
                self.cc_before.setdefault(ticket.pk, ticket.cc)
            ticket.cc = cc
        if ticket.status not in (Ticket.Status.SOLVED, Ticket.Status.CLOSED):
            self.open[customer.pk, inbound.channel] = ticket

    def _thread(self, inbound: Inbound, customer: Customer) -> tuple[Ticket, bool]:
        """The ticket this message continues, or a new one. Returns (ticket, opened)."""
        earlier = [
            self.messages[inbound.channel, thread_id[:255]]
            for thread_id in inbound.thread_ids
            if (inbound.channel, thread_id[:255]) in self.messages
        ]
        if earlier:
            _order, message = max(earlier, key=lambda known: known[0])
            return self._continue(message.ticket, inbound, customer)
        if inbound.ticket_reference:
            referenced = self.referenced.get(inbound.ticket_reference.upper())
            if referenced is not None:
                if referenced.customer_id == customer.pk:
                    return self._continue(referenced, inbound, customer)
                # A stranger quoting someone else's reference never writes on their ticket.
                return self._open(inbound, customer, follows_up=referenced), True
        if inbound.continue_open:
            current = self.open.get((customer.pk, inbound.channel))
            if current is not None:
                return current, False
        return self._open(inbound, customer), True

    def _continue(self, ticket: Ticket, inbound: Inbound, customer: Customer):
        if ticket.status == Ticket.Status.CLOSED:
            return self._open(inbound, customer, follows_up=ticket), True
        if ticket.status in REOPENED_BY_CUSTOMER:
            previous = ticket.status
            ticket.status = Ticket.Status.OPEN
            ticket.solved_at = None
            self.reopened.add(ticket.pk)
            kind = REOPENED_BY_CUSTOMER[previous]
            event = TicketEvent(
                ticket=ticket,
                kind=kind,
                data={"from": previous, "to": ticket.status, "by": "customer"},
            )
            self.events.append((event, None))
        return ticket, False

    def _open(self, inbound: Inbound, customer: Customer, *, follows_up: Ticket | None = None):
        wallets = self.wallets.get(customer.pk, [])
        ticket = _new_ticket(
            customer=customer,
            channel=inbound.channel,
            subject=inbound.subject or _first_line(inbound.text),
            category=inbound.category or Ticket.Category.OTHER,
            queue=self.queues.get(inbound.queue),
            wallet=wallets[0] if len(wallets) == 1 else None,
            follows_up=follows_up,
            now=self.now,
        )
        self.new_tickets.append(ticket)
        self.events.append((_created_event(ticket, acting_user=None), None))
        return ticket

    # writing, in bulk

    def _write(self) -> None:
        if self.new_tickets:
            Ticket.objects.bulk_create(self.new_tickets)
            for ticket in self.new_tickets:
                ticket.reference = _reference(ticket)
                self.tickets[ticket.pk] = ticket
            Ticket.objects.filter(pk__in=[ticket.pk for ticket in self.new_tickets]).update(
                reference=_REFERENCE_SQL
            )
        messages = [message for _index, message, _opened in self.filed]
        Message.objects.bulk_create(messages)
        attachments = [
            _attachment(message, attachment)
            for index, message, _opened in self.filed
            for attachment in self.inbounds[index].attachments
        ]
        Attachment.objects.bulk_create(attachments)
        for event, message in self.events:
            if message is not None:
                event.data = {"message": message.pk}
        TicketEvent.objects.bulk_create([event for event, _message in self.events])
        self._update_tickets()
        self._record_raw()
        for index, message, opened in self.filed:
            live.broadcast_on_commit(message)
            self.results[index] = Received(
                message=message, ticket=message.ticket, opened=opened, duplicate=False
            )
        for index, message in self.duplicates:
            self.results[index] = Received(
                message=message, ticket=message.ticket, opened=False, duplicate=True
            )

    def _update_tickets(self) -> None:
        """The tickets that existed before: one UPDATE for their activity time, and one
        for each less common change (reopened, people copied in)."""
        if not self.touched:
            return
        Ticket.objects.filter(pk__in=self.touched).update(
            last_message_at=self.now, updated_at=self.now
        )
        reopened = [pk for pk in self.touched if pk in self.reopened]
        if reopened:
            Ticket.objects.filter(pk__in=reopened).update(status=Ticket.Status.OPEN, solved_at=None)
        for ticket in self.touched.values():
            if ticket.cc != self.cc_before.get(ticket.pk, ticket.cc):
                Ticket.objects.filter(pk=ticket.pk).update(cc=ticket.cc)

    def _record_raw(self) -> None:
        """Mark each stored raw payload processed (or duplicate) and point it at its message."""
        processed = [
            (message.pk, self.inbounds[index].raw_id)
            for index, message, _opened in self.filed
            if self.inbounds[index].raw_id
        ]
        if processed:
            InboundMessage.objects.filter(pk__in=[raw_id for _pk, raw_id in processed]).update(
                status=InboundMessage.Status.PROCESSED, processed_at=self.now, reason=""
            )
            _link_raw(processed)
        for index, message in self.duplicates:
            if self.inbounds[index].raw_id:
                InboundMessage.objects.filter(pk=self.inbounds[index].raw_id).update(
                    status=InboundMessage.Status.DUPLICATE,
                    message=message,
                    processed_at=self.now,
                    reason=_("Already received as message %(id)s.") % {"id": message.pk},
                )


def _link_raw(pairs: list[tuple[int, int]]) -> None:
    """Set InboundMessage.message for many (message id, raw id) pairs in one round trip.

    Measured on a batch of 100: bulk_update's CASE expression cost more than filing the
    messages themselves; executemany of one plain UPDATE costs about a millisecond.
    """
    table = connection.ops.quote_name(InboundMessage._meta.db_table)
    column = connection.ops.quote_name(InboundMessage._meta.get_field("message").column)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {column} = %s WHERE id = %s", pairs)  # noqa: S608


# A customer writing again on a ticket in one of these statuses opens it, with this event.
REOPENED_BY_CUSTOMER = {
    Ticket.Status.SOLVED: TicketEvent.Kind.REOPENED,
    Ticket.Status.PENDING: TicketEvent.Kind.STATUS,
    Ticket.Status.ON_HOLD: TicketEvent.Kind.STATUS,
}


def reopen_for_customer(ticket_ids) -> None:
    """The customer wrote again on these tickets (outside `receive`: chat's batched
    writer): the solved, pending or on-hold ones open again, each with its event, in
    three queries whatever their number. Call it inside the writing transaction."""
    waiting = list(
        Ticket.objects.filter(pk__in=ticket_ids, status__in=REOPENED_BY_CUSTOMER).values_list(
            "pk", "status"
        )
    )
    if not waiting:
        return
    Ticket.objects.filter(pk__in=[pk for pk, _status in waiting]).update(
        status=Ticket.Status.OPEN, solved_at=None, updated_at=timezone.now()
    )
    TicketEvent.objects.bulk_create(
        TicketEvent(
            ticket_id=pk,
            kind=REOPENED_BY_CUSTOMER[status],
            data={"from": status, "to": Ticket.Status.OPEN, "by": "customer"},
        )
        for pk, status in waiting
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
        ticket = _new_ticket(
            customer=customer,
            channel=channel,
            subject=subject,
            category=category,
            priority=priority,
            queue=queue,
            wallet=wallet,
            follows_up=follows_up,
            now=timezone.now(),
        )
        ticket.save()
        ticket.reference = _reference(ticket)
        ticket.save(update_fields=["reference"])
        _created_event(ticket, acting_user=acting_user).save()
    return ticket


def _new_ticket(*, customer, channel, subject, now, priority=Ticket.Priority.NORMAL, **fields):
    first_response, resolution = _sla_due(now, priority)
    return Ticket(
        customer=customer,
        channel=channel,
        subject=subject[:255],
        priority=priority,
        last_message_at=now,
        first_response_due=first_response,
        resolution_due=resolution,
        **fields,
    )


def _reference(ticket: Ticket) -> str:
    # The primary key is unique by construction, so the reference is too, however many
    # tickets are opened at the same moment.
    return f"{settings.TICKET_REFERENCE_PREFIX}-{ticket.pk:06d}"


# `_reference` in SQL, for many new tickets in one UPDATE: the key padded to six digits.
_REFERENCE_SQL = Concat(
    Value(f"{settings.TICKET_REFERENCE_PREFIX}-"),
    Case(
        When(pk__lt=10**6, then=LPad(Cast("pk", CharField()), 6, Value("0"))),
        default=Cast("pk", CharField()),
    ),
)


def _created_event(ticket: Ticket, *, acting_user) -> TicketEvent:
    follows_up = ticket.follows_up
    return TicketEvent(
        ticket=ticket,
        kind=TicketEvent.Kind.CREATED,
        actor=acting_user,
        data={
            "channel": ticket.channel,
            "follows_up": follows_up.reference if follows_up else None,
        },
    )


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


def _attachment(message: Message, attachment) -> Attachment:
    """An Attachment row for ``message``, its file written to storage (the row is not saved)."""
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
        transaction.on_commit(lambda: enqueue_delivery(message.pk), robust=True)
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


def enqueue_delivery(message_id: int, *, delay: timedelta | None = None) -> None:
    """Queue the delivery of a stored outbound message (replies, chat's batched writer,
    customer notices), after ``delay`` when retrying."""
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
        enqueue_delivery(message.pk, delay=timedelta(seconds=30 * 2**attempts))
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
