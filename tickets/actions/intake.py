"""Intake: every customer message from every channel, the live chat's included, is filed
by `receive_many` (or `receive`, one at a time): the sender's identity, the ticket it
continues or a new one, then `thread.append` writes it with the thread's rules.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actions import identity_for_app, resolve_identities
from accounts.identities import normalise_identity
from accounts.models import CustomerIdentity, Transaction, WalletAccount
from accounts.permissions import REPROCESS_INBOUND, require_permission

from ..html import sanitise_html
from ..inbound import Inbound
from ..models import Channel, InboundMessage, Message, Queue, Ticket, TicketEvent
from ..sources import processor_for
from . import pii_notice, thread
from .lifecycle import REFERENCE_SQL, created_event, new_ticket, reference, sla_policies
from .replies import Reply, place_replies, prepare_replies
from .routing import Router, Routing, routed_event

logger = logging.getLogger(__name__)


@dataclass
class Received:
    stored: thread.Appended | Message  # just stored, or the Message received before
    ticket: Ticket
    opened: bool  # a new ticket was opened for it
    duplicate: bool  # it had been received before; nothing was written

    @property
    def message(self) -> Message:
        if isinstance(self.stored, thread.Appended):
            return self.stored.message
        return self.stored


def receive(inbound: Inbound) -> Received:
    """File one customer message: find or create the customer, thread it, store it.

    Idempotent on (channel, external_id): the same message received twice, even by two
    processes at once, is stored once and the second call reports ``duplicate``.
    Raises ValidationError when the sender's identity is not valid (the caller
    quarantines the raw payload with that reason) or the message is refused.
    """
    (result,) = receive_many([inbound])
    if isinstance(result, ValidationError):
        raise result
    return result


@dataclass(frozen=True, slots=True)
class Sender:
    """A customer identity as `receive_many` needs it, when the caller knows it already."""

    pk: int
    customer_id: int


@dataclass(frozen=True)
class Known:
    """What a caller has read in its own transaction and hands to `receive_many`, so that
    it is not read again. The chat writer reads its conversations with their tickets and
    senders, and which of its messages are stored, in two queries: on that path a query
    costs about a millisecond, and a model instance more than filing a message
    (bench/chat_load.py).

    ``tickets``: the tickets inbounds name by ``ticket_id`` (Ticket or thread.TicketState);
    ``senders``: identities (CustomerIdentity or Sender) by (kind, stored value);
    ``unstored``: the (channel, external id) of inbounds the caller found not stored."""

    tickets: Mapping[int, "Ticket | thread.TicketState"] = field(default_factory=dict)
    senders: Mapping[tuple[str, str], "CustomerIdentity | Sender"] = field(default_factory=dict)
    unstored: frozenset[tuple[str, str]] = frozenset()


def receive_many(
    inbounds: Sequence[Inbound],
    *,
    history: bool = True,
    announce: bool = True,
    known: Known | None = None,
) -> list[Received | ValidationError]:
    """File a batch of customer messages in order, in one transaction and a fixed number of
    queries whatever the batch's size.

    Returns, for each inbound, its Received, or the ValidationError that keeps it out (an
    invalid sender; a ``ticket_id`` that is closed, code "ticket_closed", or another
    customer's, code "not_yours"); nothing is written for that one, the others are filed.
    A message continues a ticket opened, or a message filed, earlier in the same batch,
    exactly as if they had been received one by one. If another process stores one of the
    messages at the same moment, the batch is rolled back and filed again, finding it a
    duplicate (inside a caller's transaction, the IntegrityError is the caller's to handle).

    ``history``: each message adds a "message received" event (the live chat says False: its
    lines are the thread); ``announce``: live viewers are told after commit; ``known``:
    what the caller has read already in its transaction (`Known`).
    """
    inbounds, known = list(inbounds), known or Known()

    def file():
        batch = _Batch(inbounds, known=known)
        batch.finish(thread.append(batch.prepare(), history=history, announce=announce))
        return batch.results

    if transaction.get_connection().in_atomic_block:
        with transaction.atomic(savepoint=False):
            return file()
    for attempt in range(2):
        try:
            with transaction.atomic():
                return file()
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def receive_with_replies(
    inbounds: Sequence[Inbound], replies: Sequence[Reply], *, known: Known
) -> tuple[list[Received | ValidationError], list[thread.Appended | ValidationError]]:
    """A live conversation's batch, inside the caller's transaction: the customers'
    messages filed exactly as by `receive_many` and the agents' answers and notes checked
    exactly as by `reply_many`, stored together, with one INSERT and one update of their
    tickets, without a history line each and without the spine's announcement (the chat
    writer sends its own frames). Returns each side's results, in order."""
    batch = _Batch(list(inbounds), known=known)
    inbound_drafts = batch.prepare()
    reply_results, reply_drafts = prepare_replies(replies)
    stored = thread.append([*inbound_drafts, *reply_drafts], history=False, announce=False)
    batch.finish(stored[: len(inbound_drafts)])
    return batch.results, place_replies(reply_results, stored[len(inbound_drafts) :])


class _Batch:
    """One `receive_many` call: everything it must know is read up front in a few queries,
    the messages are threaded in memory in order, and the rows are written in bulk."""

    def __init__(self, inbounds: list[Inbound], *, known: Known):
        self.inbounds = inbounds
        self.known = known
        self.now = timezone.now()
        self.results: list[Received | ValidationError | None] = [None] * len(inbounds)
        self.tickets: dict[int, Ticket] = {}  # one instance per ticket for the whole batch
        self.new_tickets: list[Ticket] = []
        self.routes: dict[int, Routing] = {}  # by id() of a new ticket the rules routed
        self.cc_changed: set[int] = set()  # existing tickets whose Cc lists changed
        self.cc_events: list[tuple[int, Ticket, str, str]] = []  # (index, ticket, kind, address)
        self.drafts: dict[int, thread.Draft] = {}  # by the index of its inbound, in order
        # (index, the Message received before, or the index of the inbound in this batch
        # that it repeats)
        self.duplicates: list[tuple[int, Message | int]] = []

    def prepare(self) -> list[thread.Draft]:
        """Read, thread in memory, open the new tickets: the drafts to append, in order."""
        keys = self._sender_keys()
        self._read(keys)
        for index, inbound in enumerate(self.inbounds):
            if index in keys:
                self._file_one(index, inbound, self.identities[keys[index]], keys[index][1])
        self._open_new_tickets()
        return list(self.drafts.values())

    # reading

    def _sender_keys(self) -> dict[int, tuple[str, str]]:
        keys, normalised = {}, {}
        for index, inbound in enumerate(self.inbounds):
            raw = (inbound.sender_kind, inbound.sender)
            if raw in self.known.senders:  # as stored: normalised
                normalised[raw] = raw
            elif raw not in normalised:  # phone numbers are slow to parse; batches repeat them
                try:
                    normalised[raw] = (raw[0], normalise_identity(*raw))
                except ValidationError as exc:
                    normalised[raw] = exc
            if isinstance(normalised[raw], ValidationError):
                self.results[index] = normalised[raw]
            else:
                keys[index] = normalised[raw]
        return keys

    def _read(self, keys: dict[int, tuple[str, str]]) -> None:
        inbounds = [self.inbounds[index] for index in keys]
        names: dict[tuple[str, str], str] = {}
        for index, key in keys.items():
            if not names.get(key):
                names[key] = self.inbounds[index].sender_name
        self.identities = {
            key: self.known.senders[key] for key in names if key in self.known.senders
        }
        self.identities.update(
            resolve_identities(
                {key: name for key, name in names.items() if key not in self.identities}
            )
        )
        self._read_messages(inbounds)
        # Each read only when some message needs it: on the chat writer's path a query costs
        # about a millisecond, more than filing the batch's messages (bench/chat_load.py).
        wanted = {inbound.ticket_id for inbound in inbounds if inbound.ticket_id}
        unread = wanted - set(self.known.tickets)
        read = Ticket.objects.in_bulk(unread) if unread else {}
        self.targets = {
            pk: self._ticket(ticket)
            for pk, ticket in {**self.known.tickets, **read}.items()
            if pk in wanted
        }
        references = {inbound.ticket_reference.upper() for inbound in inbounds}
        references.discard("")
        found = Ticket.objects.filter(reference__in=references) if references else ()
        self.referenced = {ticket.reference: self._ticket(ticket) for ticket in found}
        slugs = {inbound.queue for inbound in inbounds if inbound.queue}
        queues = Queue.objects.filter(slug__in=slugs) if slugs else ()
        self.queues = {queue.slug: queue for queue in queues}
        customer_ids = {identity.customer_id for identity in self.identities.values()}
        self._read_own_addresses(inbounds, customer_ids)
        self.wallets: dict[int, list] = {}
        if any(not inbound.ticket_id for inbound in inbounds):  # a new ticket is possible
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

    def _read_own_addresses(self, inbounds: list[Inbound], customer_ids: set[int]) -> None:
        """The customers' own email addresses among those an authenticated sender copied
        in: those are accepted as Cc at once (the only Cc that is)."""
        copied = {
            address for inbound in inbounds if inbound.authenticated for address in inbound.cc
        }
        self.own_addresses: set[tuple[int, str]] = set()
        if copied:
            self.own_addresses = set(
                CustomerIdentity.objects.filter(
                    customer_id__in=customer_ids,
                    kind=CustomerIdentity.Kind.EMAIL,
                    value__in=copied,
                ).values_list("customer_id", "value")
            )

    def _read_messages(self, inbounds: list[Inbound]) -> None:
        """Messages stored before: by their own ids (duplicates) and the ids they continue."""
        ids_by_channel: dict[str, set[str]] = {}
        for inbound in inbounds:
            wanted = ids_by_channel.setdefault(inbound.channel, set())
            key = (inbound.channel, inbound.external_id[:255])
            if inbound.external_id and key not in self.known.unstored:
                wanted.add(key[1])
            wanted.update(thread_id[:255] for thread_id in inbound.thread_ids)
        # (channel, external id) -> (order, Message stored before | index in this batch)
        self.messages: dict[tuple[str, str], tuple[tuple, Message | int]] = {}
        known = Q()
        for channel, external_ids in ids_by_channel.items():
            if external_ids:
                known |= Q(channel=channel, external_id__in=external_ids)
        if known:
            for message in Message.objects.select_related("ticket").filter(known):
                message.ticket = self._ticket(message.ticket)
                order = (0, message.created_at, message.pk)
                self.messages[message.channel, message.external_id] = (order, message)

    def _ticket(self, ticket: Ticket) -> Ticket:
        return self.tickets.setdefault(ticket.pk, ticket)

    # threading, in memory

    def _file_one(self, index: int, inbound: Inbound, identity, address: str) -> None:
        key = (inbound.channel, inbound.external_id[:255])
        if inbound.external_id and key in self.messages:
            self.duplicates.append((index, self.messages[key][1]))
            return
        customer_id = identity.customer_id
        if inbound.ticket_id:
            target = self._target(inbound.ticket_id, customer_id)
        elif inbound.automatic:
            target = self._answered(inbound, identity, address)
        else:
            target = self._thread(inbound, identity, address)
        if isinstance(target, ValidationError):
            self.results[index] = target
            return
        ticket, opened = target if isinstance(target, tuple) else (target, False)
        draft = thread.Draft(
            ticket=ticket,
            direction=Message.Direction.INBOUND,
            channel=inbound.channel,
            sender_id=identity.pk,
            subject=inbound.subject[:255],
            text=inbound.text,
            html=sanitise_html(inbound.html) if inbound.html else "",
            external_id=inbound.external_id[:255],
            metadata=inbound.metadata,
            attachments=inbound.attachments,
            opened=opened,
            quiet=inbound.automatic,
        )
        if inbound.external_id:  # later messages of the batch may continue or repeat it
            self.messages[key] = ((1, index), index)
        self.drafts[index] = draft
        if inbound.automatic:
            return  # kept for the record: it proposes no one and opens nothing
        self._copy_in(index, inbound, ticket, customer_id)
        # After a customer's message its ticket is open (thread.append reopens it).
        self.open[customer_id, inbound.channel] = ticket

    def _copy_in(self, index: int, inbound: Inbound, ticket: Ticket, customer_id: int) -> None:
        """The people the message copies in: proposed to the agents, never added silently;
        accepted at once only when the ticket's own customer, authenticated, copies in
        another of their own addresses (each with its history line, written by `finish`)."""
        for address in inbound.cc:
            if address in ticket.cc:
                continue
            own = (
                inbound.authenticated
                and ticket.customer_id == customer_id
                and (customer_id, address) in self.own_addresses
            )
            if own:
                ticket.cc = [*ticket.cc, address]
                ticket.cc_proposed = [known for known in ticket.cc_proposed if known != address]
                kind = TicketEvent.Kind.CC_ACCEPTED
            elif address not in ticket.cc_proposed:
                ticket.cc_proposed = [*ticket.cc_proposed, address]
                kind = TicketEvent.Kind.CC_PROPOSED
            else:
                continue
            if ticket.pk is not None:
                self.cc_changed.add(ticket.pk)
            self.cc_events.append((index, ticket, kind, address))

    def _target(self, ticket_id: int, customer_id: int) -> Ticket | ValidationError:
        """The ticket a channel named: it must be this customer's and take messages."""
        ticket = self.targets.get(ticket_id)
        if ticket is None or ticket.customer_id != customer_id:
            return ValidationError(_("This conversation is not yours."), code="not_yours")
        if not thread.takes(ticket, Message.Direction.INBOUND):
            return ValidationError(thread.CLOSED, code="ticket_closed")
        return ticket

    def _thread(self, inbound: Inbound, identity, address: str) -> tuple[Ticket, bool]:
        """The ticket this message continues, or a new one. Returns (ticket, opened).

        A stranger naming someone else's ticket, by its message ids or by the reference in
        the subject, never writes on it: the message opens a new ticket linked to it."""
        for found in (self._continued(inbound), self._referenced(inbound)):
            if found is None:
                continue
            if not _writes_on(found, identity, address):
                return self._open(inbound, identity, follows_up=found), True
            return self._continue(found, inbound, identity)
        if inbound.continue_open:
            current = self.open.get((identity.customer_id, inbound.channel))
            if current is not None:
                return current, False
        return self._open(inbound, identity), True

    def _continued(self, inbound: Inbound) -> Ticket | None:
        """The ticket of the latest earlier message this one names in its thread ids."""
        earlier = [
            self.messages[inbound.channel, thread_id[:255]]
            for thread_id in inbound.thread_ids
            if (inbound.channel, thread_id[:255]) in self.messages
        ]
        if not earlier:
            return None
        _order, message = max(earlier, key=lambda known: known[0])
        return self.drafts[message].ticket if isinstance(message, int) else message.ticket

    def _referenced(self, inbound: Inbound) -> Ticket | None:
        """The ticket whose reference the subject quotes."""
        if not inbound.ticket_reference:
            return None
        return self.referenced.get(inbound.ticket_reference.upper())

    def _answered(self, inbound: Inbound, identity, address: str) -> Ticket | ValidationError:
        """The ticket an automatic reply answers: it must be one its sender writes on, and
        take messages. An automatic reply never opens or reopens a ticket (mail loops,
        tickets reopened by out-of-office replies): without such a ticket it is refused."""
        for found in (self._continued(inbound), self._referenced(inbound)):
            if (
                found is not None
                and _writes_on(found, identity, address)
                and thread.takes(found, Message.Direction.INBOUND)
            ):
                return found
        return ValidationError(
            _("Automatic reply: it answers no open ticket of its sender."), code="automatic_reply"
        )

    def _continue(self, ticket: Ticket, inbound: Inbound, identity):
        if not thread.takes(ticket, Message.Direction.INBOUND):
            # Mail that threads onto a closed ticket opens a follow-up that points to it.
            return self._open(inbound, identity, follows_up=ticket), True
        return ticket, False

    def _open(self, inbound: Inbound, identity, *, follows_up: Ticket | None = None):
        wallets = self.wallets.get(identity.customer_id, [])
        subject = inbound.subject or _first_line(inbound.text)
        queue = self.queues.get(inbound.queue)
        category = inbound.category or Ticket.Category.OTHER
        priority = Ticket.Priority.NORMAL
        route = self.router.route(
            channel=inbound.channel,
            text=f"{subject}\n{inbound.text}",
            to=inbound.metadata.get("to", ()),
            category=category,
            priority=priority,
        )
        if route is not None:
            queue, category, priority = route.queue, route.category, route.priority
        ticket = new_ticket(
            customer=identity.customer,
            channel=inbound.channel,
            subject=subject,
            category=category,
            priority=priority,
            queue=queue,
            wallet=wallets[0] if len(wallets) == 1 else None,
            follows_up=follows_up,
            now=self.now,
            policies=self.policies,
        )
        self.new_tickets.append(ticket)
        if route is not None:
            self.routes[id(ticket)] = route
        return ticket

    # The rules new tickets need, read once a batch, and only by a batch that opens one.

    @cached_property
    def router(self) -> Router:
        return Router.load()

    @cached_property
    def policies(self) -> dict:
        return sla_policies()

    # writing, in bulk

    def _open_new_tickets(self) -> None:
        if self.new_tickets:
            Ticket.objects.bulk_create(self.new_tickets)
            for ticket in self.new_tickets:
                ticket.reference = reference(ticket)
                self.tickets[ticket.pk] = ticket
            Ticket.objects.filter(pk__in=[ticket.pk for ticket in self.new_tickets]).update(
                reference=REFERENCE_SQL
            )
            TicketEvent.objects.bulk_create(
                [created_event(ticket, acting_user=None) for ticket in self.new_tickets]
                + [
                    routed_event(ticket, self.routes[id(ticket)])
                    for ticket in self.new_tickets
                    if id(ticket) in self.routes
                ]
            )

    def finish(self, stored: list[thread.Appended]) -> None:
        """After the drafts are appended: people copied in, raw payloads, the notice to a
        customer who wrote a full card or ID number (pii_notice), the results."""
        filed = dict(zip(self.drafts, stored, strict=True))
        self._record_cc(filed)
        duplicates = [
            (index, filed[earlier] if isinstance(earlier, int) else earlier)
            for index, earlier in self.duplicates
        ]
        self._record_raw(filed, duplicates)
        pii_notice.warn_senders(
            [(item, self.inbounds[index].language) for index, item in filed.items()]
        )
        for index, item in filed.items():
            opened = self.drafts[index].opened
            self.results[index] = Received(
                stored=item, ticket=item.draft.ticket, opened=opened, duplicate=False
            )
        for index, earlier in duplicates:
            ticket = (
                earlier.draft.ticket if isinstance(earlier, thread.Appended) else earlier.ticket
            )
            self.results[index] = Received(
                stored=earlier, ticket=ticket, opened=False, duplicate=True
            )

    def _record_cc(self, filed: dict[int, thread.Appended]) -> None:
        """Store the Cc lists that changed, with a history line for each address."""
        for pk in self.cc_changed:
            ticket = self.tickets[pk]
            Ticket.objects.filter(pk=pk).update(cc=ticket.cc, cc_proposed=ticket.cc_proposed)
        if self.cc_events:
            TicketEvent.objects.bulk_create(
                TicketEvent(
                    ticket_id=ticket.pk,
                    kind=kind,
                    data={"address": address, "message": filed[index].pk, "by": "mail"},
                )
                for index, ticket, kind, address in self.cc_events
            )

    def _record_raw(self, filed: dict[int, thread.Appended], duplicates: list[tuple[int, Any]]):
        """Mark each stored raw payload processed (or duplicate) and point it at its message."""
        processed = [
            (message.pk, self.inbounds[index].raw_id)
            for index, message in filed.items()
            if self.inbounds[index].raw_id
        ]
        if processed:
            InboundMessage.objects.filter(pk__in=[raw_id for _pk, raw_id in processed]).update(
                status=InboundMessage.Status.PROCESSED, processed_at=self.now, reason=""
            )
            _link_raw(processed)
        for index, message in duplicates:
            if self.inbounds[index].raw_id:
                InboundMessage.objects.filter(pk=self.inbounds[index].raw_id).update(
                    status=InboundMessage.Status.DUPLICATE,
                    message_id=message.pk,
                    processed_at=self.now,
                    reason=_("Already received as message %(id)s.") % {"id": message.pk},
                )


@transaction.atomic
def open_for_customer(
    *,
    customer,
    subject: str,
    text: str,
    category: str = "",
    related_transaction: Transaction | None = None,
) -> Received:
    """A customer the MY Wallet app proved opens a ticket with their first words (the app's
    "contact us", on channel "api"): filed by `receive` like any channel's message, as an
    authenticated sender. ``related_transaction`` must be one of the customer's own
    (ValidationError "not_yours" otherwise)."""
    if related_transaction is not None and related_transaction.account.customer_id != customer.pk:
        raise ValidationError(_("This transaction is not yours."), code="not_yours")
    received = receive(_from_app(customer, subject=subject, text=text, category=category))
    if related_transaction is not None:
        received.ticket.related_transaction = related_transaction
        Ticket.objects.filter(pk=received.ticket.pk).update(related_transaction=related_transaction)
    return received


def write_for_customer(ticket: Ticket, *, customer, text: str) -> Received:
    """A customer the app proved writes on their own ``ticket``: filed by `receive` with
    the thread's rules, so a closed ticket gets a follow-up that points to it. The ticket
    is named by its reference, so a ticket that is not the customer's is never written on
    (intake opens a new ticket instead; callers check ownership first and answer 404)."""
    return receive(
        _from_app(customer, subject=ticket.subject, text=text, reference=ticket.reference)
    )


def _from_app(customer, *, subject: str, text: str, category: str = "", reference: str = ""):
    identity = identity_for_app(customer)
    return Inbound(
        channel=Channel.API,
        sender_kind=identity.kind,
        sender=identity.value,
        sender_name=customer.name,
        subject=subject,
        text=text,
        category=category,
        ticket_reference=reference,
        authenticated=True,
    )


def _writes_on(ticket: Ticket, identity, address: str) -> bool:
    """Whether a sender's message belongs on ``ticket``: they are its customer, or a Cc an
    agent (or the customer's authenticated mail) accepted."""
    return ticket.customer_id == identity.customer_id or address in (ticket.cc or ())


def _link_raw(pairs: list[tuple[int, int]]) -> None:
    """Set InboundMessage.message for many (message id, raw id) pairs in one round trip.

    Measured on a batch of 100: bulk_update's CASE expression cost more than filing the
    messages themselves; executemany of one plain UPDATE costs about a millisecond.
    """
    table = connection.ops.quote_name(InboundMessage._meta.db_table)
    column = connection.ops.quote_name(InboundMessage._meta.get_field("message").column)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {column} = %s WHERE id = %s", pairs)  # noqa: S608


def _first_line(text: str) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:120]
    return ""


def reprocess_inbound(stored: InboundMessage, *, acting_user) -> str:
    """Run a quarantined or failed payload through its channel again (after a fix)."""
    require_permission(acting_user, REPROCESS_INBOUND)
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
