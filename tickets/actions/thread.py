"""The thread: the one place where Message rows are created, and the rules every message
obeys whatever its channel, its author or the route that brought it.

Every route ends here: `intake.receive_many` (customers' messages from every channel, the
live chat's included), `replies.reply_many` (agents' answers and notes, from the ticket page
and the chat console), `post_notice` and `post_system_note` (automatic messages: wallet
notices, email acknowledgements). Each rule below exists once, here:

- A closed ticket takes nothing more to or from the customer; agents may still write
  notes on it (`takes`). What a refusal means is the route's: mail that threads onto a
  closed ticket opens a follow-up, a chat line or an agent's reply is refused.
- A customer writing again opens a solved, pending or on-hold ticket
  (`REOPENED_BY_CUSTOMER`), with its event.
- An agent's answer sets the first response time, moves a new ticket to open and takes an
  unassigned ticket (a note takes it too; an integration's answer takes nothing: it is
  no agent), each change with its event.
- Every message moves the ticket's last activity; one to or from the customer (not a
  note) is the ticket's latest-message preview in the inbox, and the first from the
  customer names a ticket opened without a subject (a chat).
- A quiet message (an automatic reply kept for the record) changes nothing of its ticket:
  no reopening, no last activity, no history line.
- An outbound message left queued is handed to delivery once committed; live viewers are
  told after commit, unless the route announces its own frames (the chat does).
- Personal data is stored protected (tickets.personal_data): a customer's message and an
  agents' note keep every kind masked in their subject, text, HTML and file names; an
  answer to the customer keeps its cards, ID and passport numbers masked (what is stored
  is what is sent: the senders read the stored message), its phone numbers and addresses
  as written (usually the desk's own). Each value found is kept encrypted beside its
  message (SensitiveValue), in one INSERT for the whole batch.
"""

import dataclasses
import errno
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy

from mywallet_support.db import db_value, insert_many

from .. import live, personal_data
from ..inbound import InboundAttachment
from ..models import Attachment, Message, SensitiveValue, Ticket, TicketEvent
from ..text import clipped, html_to_text, title_from
from .delivery import enqueue_delivery

logger = logging.getLogger(__name__)

# A message whose attachments could not be written keeps the text; what was lost is listed
# in its metadata under this key (name, type, size, SHA-256, reason), for the agent to see
# and the channel to tell the sender (email: a notice; chat: the upload's answer).
NOT_STORED = "attachments_not_stored"
DISK_FULL = "disk_full"
_DISK_FULL_ERRORS = {errno.ENOSPC, errno.EDQUOT}

# A customer writing again on a ticket in one of these statuses opens it, with this event.
REOPENED_BY_CUSTOMER = {
    Ticket.Status.SOLVED: TicketEvent.Kind.REOPENED,
    Ticket.Status.PENDING: TicketEvent.Kind.STATUS,
    Ticket.Status.ON_HOLD: TicketEvent.Kind.STATUS,
}

CLOSED = gettext_lazy("This ticket is closed.")
_TICKET = Message._meta.get_field("ticket")
_FIELDS = [field.attname for field in Message._meta.concrete_fields]


def takes(ticket: Ticket, direction: str) -> bool:
    """Whether ``ticket`` takes a message in ``direction`` now: a closed ticket takes only
    internal notes."""
    return ticket.status != Ticket.Status.CLOSED or direction == Message.Direction.NOTE


@dataclass(slots=True)
class TicketState:
    """What the thread's rules read of a ticket, and keep up to date, for a caller that
    holds many tickets without their model instances: the chat writer reads them with its
    conversations, and a model instance per ticket costs more than filing a message there
    (bench/chat_load.py). Anywhere a Draft takes a Ticket, it takes this."""

    pk: int
    customer_id: int
    channel: str
    status: str
    first_responded_at: datetime | None
    assignee_id: int | None
    cc: list = field(default_factory=list)
    solved_at: datetime | None = None
    last_message_at: datetime | None = None


@dataclass(slots=True)
class Draft:
    """A message to append to ``ticket``, as read in the current transaction (its status,
    first response and assignee decide what the message changes): a Ticket or a
    TicketState."""

    ticket: Ticket | TicketState
    direction: str
    text: str
    author_id: int | None = None  # the agent, for answers and notes
    sender_id: int | None = None  # the customer's identity, for inbound messages
    subject: str = ""
    html: str = ""  # sanitised already
    external_id: str = ""
    metadata: dict = field(default_factory=dict)
    # Outbound only: QUEUED (delivery takes it, unless ``route_sends``), or SENT (the
    # route delivered it as it was stored: a live chat). "" for inbound messages and notes.
    delivery: str = ""
    channel: str = ""  # default: the ticket's
    route_sends: bool = False  # queued, but its route sends it itself (email notices)
    attachments: tuple[InboundAttachment, ...] = ()
    opened: bool = False  # it opened its ticket: the "created" event tells it already
    # An author's answer or note takes an unassigned ticket only when the author is an
    # agent: an integration's service account (the API) answers without holding tickets.
    takes_ticket: bool = True
    quiet: bool = False  # kept for the record only (an automatic reply): see the module


@dataclass
class Appended:
    """A message just stored: its id and time; the Message instance only when asked (the
    chat writer never asks: building one costs more than storing it, bench/chat_load.py)."""

    draft: Draft
    pk: int
    created_at: datetime

    @cached_property
    def message(self) -> Message:
        draft = self.draft
        sent = draft.delivery == Message.Delivery.SENT
        values = {
            **_columns(draft),
            "id": self.pk,
            "delivery_error": "",
            "delivered_at": self.created_at if sent else None,
            "metadata": draft.metadata,
            "created_at": self.created_at,
        }
        message = Message.from_db(None, _FIELDS, [values[name] for name in _FIELDS])
        if isinstance(draft.ticket, Ticket):
            _TICKET.set_cached_value(message, draft.ticket)
        return message


def append(
    drafts: Sequence[Draft], *, history: bool = True, announce: bool = True
) -> list[Appended]:
    """Store ``drafts`` with one INSERT and apply the thread's rules to their tickets, in
    a fixed number of queries whatever their number. Returns what was stored, in order.

    ``history``: each message adds its own event (message received, reply, note); the live
    chat says False, its lines being the thread already. Changes of the ticket (reopened,
    first answer, assignee) are always recorded. ``announce``: tell live viewers after
    commit (tickets.live); the chat says False and sends its own frames.
    Raises ValidationError (code "ticket_closed") for a message a closed ticket does not
    take: routes check `takes` first and give the refusal its meaning.
    """
    if not drafts:
        return []
    for draft in drafts:
        if not takes(draft.ticket, draft.direction):
            raise ValidationError(CLOSED, code="ticket_closed")
    now = timezone.now()
    found = [_protect(draft) for draft in drafts]
    stored = [
        Appended(draft=draft, pk=pk, created_at=now)
        for draft, pk in zip(drafts, _insert(drafts, now), strict=True)
    ]
    values = [
        row
        for item, items in zip(stored, found, strict=True)
        for row in personal_data.value_rows(item.pk, items)
    ]
    if values:
        SensitiveValue.objects.bulk_create(values)
    if any(draft.attachments for draft in drafts):
        _store_attachments(stored)
    events = [event for item in stored if (event := _event(item)) is not None] if history else []
    TicketEvent.objects.bulk_create([*events, *_touch(drafts, now)])
    queued = [
        item.pk
        for item in stored
        if item.draft.delivery == Message.Delivery.QUEUED and not item.draft.route_sends
    ]
    if queued:
        transaction.on_commit(lambda: [enqueue_delivery(pk) for pk in queued], robust=True)
    if announce:
        live.broadcast_on_commit(
            [(item.draft.ticket.pk, item.pk, item.draft.direction) for item in stored]
        )
    else:  # the route sends its own frames; the inbox still hears of the tickets
        live.tickets_changed({draft.ticket.pk for draft in drafts})
    return stored


def _protect(draft: Draft) -> list[personal_data.Found]:
    """Mask the personal data in ``draft`` in place (see the module) and return the values
    found, each once, in the order of subject, text, HTML and file names."""
    kinds = personal_data.kinds_for(draft.direction)
    found: dict[tuple[str, str], personal_data.Found] = {}

    def protected(text: str) -> str:
        result = personal_data.protect(text, kinds)
        for item in result.found:
            found.setdefault((item.kind, item.normalised), item)
        return result.text

    draft.subject = protected(draft.subject)
    draft.text = protected(draft.text)
    draft.html = protected(draft.html)
    if draft.attachments:
        draft.attachments = tuple(
            dataclasses.replace(attachment, name=protected(attachment.name))
            for attachment in draft.attachments
        )
    return list(found.values())


def _insert(drafts: Sequence[Draft], now) -> list[int]:
    """One INSERT ... RETURNING (mywallet_support.db.insert_many: bulk_create spent half the
    chat writer's batch preparing each field of each row)."""
    delivered_now = db_value(Message, "delivered_at", now)
    no_metadata = db_value(Message, "metadata", {})
    rows = [
        {
            **_columns(draft),
            "delivered_at": delivered_now if draft.delivery == Message.Delivery.SENT else None,
            "metadata": db_value(Message, "metadata", draft.metadata)
            if draft.metadata
            else no_metadata,
        }
        for draft in drafts
    ]
    return insert_many(Message, rows, same={"created_at": now})


def _columns(draft: Draft) -> dict:
    """The draft's columns that are stored as they are (the same in the row and in the
    instance built from it)."""
    return {
        "ticket_id": draft.ticket.pk,
        "direction": draft.direction,
        "channel": draft.channel or draft.ticket.channel,
        "author_id": draft.author_id,
        "sender_id": draft.sender_id,
        "subject": draft.subject[:255],
        "text": draft.text,
        "html": draft.html,
        "external_id": draft.external_id[:255],
        "delivery_status": str(draft.delivery),
    }


def _event(item: Appended) -> TicketEvent | None:
    draft = item.draft
    if draft.quiet:
        return None
    if draft.direction == Message.Direction.INBOUND:
        if draft.opened:
            return None
        return TicketEvent(
            ticket_id=draft.ticket.pk, kind=TicketEvent.Kind.MESSAGE, data={"message": item.pk}
        )
    kind = TicketEvent.Kind.NOTE if draft.direction == Message.Direction.NOTE else None
    data = {"message": item.pk}
    if draft.author_id is None:
        data["system"] = True
    return TicketEvent(
        ticket_id=draft.ticket.pk,
        kind=kind or TicketEvent.Kind.REPLY,
        actor_id=draft.author_id,
        data=data,
    )


def _touch(drafts: Sequence[Draft], now) -> list[TicketEvent]:
    """The tickets' changes: last activity for all in one UPDATE, and one UPDATE for each
    rarer change (reopened, first answer, new to open, taken), each with its event. The
    ticket instances are updated too, so the caller sees the state it wrote."""
    drafts = [draft for draft in drafts if not draft.quiet]
    tickets = {draft.ticket.pk: draft.ticket for draft in drafts}
    if tickets:
        Ticket.objects.filter(pk__in=tickets).update(
            last_message_at=now, updated_at=now, **_summaries(drafts)
        )
    events: list[TicketEvent] = []
    reopened, answered, opened, taken = {}, {}, {}, {}
    for draft in drafts:
        ticket = draft.ticket
        ticket.last_message_at = now
        if draft.direction == Message.Direction.INBOUND:
            if ticket.status in REOPENED_BY_CUSTOMER and ticket.pk not in reopened:
                reopened[ticket.pk] = ticket.status
        elif draft.author_id is not None:
            if draft.direction == Message.Direction.OUTBOUND:
                if ticket.first_responded_at is None:
                    answered[ticket.pk] = ticket
                if ticket.status == Ticket.Status.NEW:
                    opened.setdefault(ticket.pk, draft.author_id)
            if ticket.assignee_id is None and draft.takes_ticket:
                taken.setdefault(ticket.pk, draft.author_id)
    if reopened:
        Ticket.objects.filter(pk__in=reopened).update(status=Ticket.Status.OPEN, solved_at=None)
        for pk, previous in reopened.items():
            tickets[pk].status, tickets[pk].solved_at = Ticket.Status.OPEN, None
            data = {"from": previous, "to": Ticket.Status.OPEN, "by": "customer"}
            events.append(TicketEvent(ticket_id=pk, kind=REOPENED_BY_CUSTOMER[previous], data=data))
    if answered:
        Ticket.objects.filter(pk__in=answered, first_responded_at__isnull=True).update(
            first_responded_at=now
        )
        for ticket in answered.values():
            ticket.first_responded_at = now
    for pk, agent_id in opened.items():
        Ticket.objects.filter(pk=pk, status=Ticket.Status.NEW).update(status=Ticket.Status.OPEN)
        tickets[pk].status = Ticket.Status.OPEN
        data = {"from": Ticket.Status.NEW, "to": Ticket.Status.OPEN, "by": "answer"}
        events.append(
            TicketEvent(ticket_id=pk, kind=TicketEvent.Kind.STATUS, actor_id=agent_id, data=data)
        )
    for pk, agent_id in taken.items():
        Ticket.objects.filter(pk=pk, assignee__isnull=True).update(assignee_id=agent_id)
        tickets[pk].assignee_id = agent_id
        data = {"from": None, "to": agent_id, "by": "answer"}
        events.append(
            TicketEvent(ticket_id=pk, kind=TicketEvent.Kind.ASSIGNED, actor_id=agent_id, data=data)
        )
    return events


PREVIEW_LENGTH = Ticket._meta.get_field("last_message_preview").max_length


def _summaries(drafts: Sequence[Draft]) -> dict:
    """The columns the last-activity UPDATE also sets, per ticket in one CASE each: the
    latest message's preview (a note is the agents' own and is not the conversation's
    latest word), and a subject for a ticket that has none from its customer's first
    line."""
    previews, titles = {}, {}
    for draft in drafts:
        if draft.direction == Message.Direction.NOTE:
            continue
        ticket, text = draft.ticket, draft.text or html_to_text(draft.html)
        previews[ticket.pk] = clipped(text, PREVIEW_LENGTH)
        if draft.direction == Message.Direction.INBOUND and ticket.pk not in titles:
            titles[ticket.pk] = title_from(text)
        if isinstance(ticket, Ticket):  # the caller's instance sees what was written
            ticket.last_message_preview = previews[ticket.pk]
            ticket.subject = ticket.subject or titles.get(ticket.pk, "")
    columns = {}
    if previews:
        columns["last_message_preview"] = Case(
            *(When(pk=pk, then=Value(preview)) for pk, preview in previews.items()),
            default=F("last_message_preview"),
        )
    titles = {pk: title for pk, title in titles.items() if title}
    if titles:
        columns["subject"] = Case(
            *(When(pk=pk, subject="", then=Value(title)) for pk, title in titles.items()),
            default=F("subject"),
        )
    return columns


def _store_attachments(stored: list[Appended]) -> None:
    """Write the attachments' files and rows. A file the disk has no room for (ENOSPC, a
    quota) is not an error of the message: its row is not made, the message keeps its text,
    and its metadata lists what was not stored (NOT_STORED), so nothing crashes, the agent
    sees it and the channel tells the sender. Any other storage error is raised as before."""
    rows = []
    for item in stored:
        lost = []
        for attachment in item.draft.attachments:
            try:
                rows.append(_attachment(item.pk, attachment))
            except OSError as exc:
                if exc.errno not in _DISK_FULL_ERRORS:
                    raise
                lost.append(_not_stored(attachment, DISK_FULL))
        if lost:
            metadata = {**item.draft.metadata, NOT_STORED: lost}
            Message.objects.filter(pk=item.pk).update(metadata=metadata)
            item.draft.metadata = metadata
            logger.error(
                "message %s: %s attachment(s) not stored, the disk is full", item.pk, len(lost)
            )
    Attachment.objects.bulk_create(rows)


def _not_stored(attachment: InboundAttachment, reason: str) -> dict:
    return {
        "name": attachment.name[:255],
        "content_type": attachment.content_type[:255],
        "size": len(attachment.content),
        "sha256": hashlib.sha256(attachment.content).hexdigest(),
        "reason": reason,
    }


def _attachment(message_id: int, attachment: InboundAttachment) -> Attachment:
    """An Attachment row for a message, its file written to storage (the row is not saved).
    A file cut short by a full disk is removed, so it takes no room and is never served."""
    digest = hashlib.sha256(attachment.content).hexdigest()
    stored = Attachment(
        message_id=message_id,
        name=attachment.name[:255],
        content_type=attachment.content_type[:255],
        size=len(attachment.content),
        sha256=digest,
        content_id=attachment.content_id[:255],
    )
    storage = stored.file.storage
    name = storage.get_available_name(stored.file.field.generate_filename(stored, digest))
    try:
        stored.file.save(digest, ContentFile(attachment.content), save=False)
    except OSError:
        if storage.exists(name):
            storage.delete(name)
        raise
    return stored


# --- automatic messages ---------------------------------------------------------------------


def post_notice(
    ticket: Ticket,
    *,
    text: str,
    metadata: dict,
    subject: str = "",
    channel: str = "",
    external_id: str = "",
    send_now: bool = False,
) -> Message:
    """An automatic message to the customer (a wallet notice, an email acknowledgement):
    outbound, without an author, marked ``metadata["system"]``. Queued for delivery through
    the ticket's channel, unless ``send_now``: the caller sends it itself and records the
    outcome (tickets.actions.delivery.record_delivery). Refuses a closed ticket."""
    draft = Draft(
        ticket=ticket,
        direction=Message.Direction.OUTBOUND,
        text=text,
        subject=subject,
        channel=channel,
        external_id=external_id,
        metadata={**metadata, "system": True},
        delivery=Message.Delivery.QUEUED,
        route_sends=send_now,
    )
    with transaction.atomic():
        (stored,) = append([draft])
    return stored.message


def post_system_note(ticket: Ticket, *, text: str, metadata: dict) -> Message:
    """An automatic internal note, for agents only (what the system did, or told the
    customer elsewhere)."""
    draft = Draft(
        ticket=ticket,
        direction=Message.Direction.NOTE,
        text=text,
        metadata={**metadata, "system": True},
    )
    with transaction.atomic():
        (stored,) = append([draft])
    return stored.message
