"""The chat's lines, stored in batches: what the writer (chat.writer) hands over from every
socket of the process, filed with one transaction and one INSERT through
tickets.actions.receive_with_replies (the customers' lines as by receive_many, the agents'
answers and notes as by reply_many), then acknowledged and announced by the sockets.
"""

import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy

from tickets import actions as ticket_actions
from tickets.inbound import Inbound
from tickets.models import Channel, Message

from . import live, selectors
from .models import Conversation

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pending:
    """One message a socket asks to store. ``kind``: customer, agent or note."""

    conversation_id: int
    client_id: str
    text: str
    kind: str
    agent: object = None  # the agent (a user), for agent messages and notes
    name: str = ""  # shown with the message (the customer's or agent's name)

    @property
    def external_id(self) -> str:
        # Message.external_id is unique per channel: scoped to the conversation, one
        # client's id can never collide with another's.
        return f"{self.conversation_id}:{self.client_id}"[:255]


@dataclass(frozen=True)
class Stored:
    """What became of a Pending: ``frame`` once stored (or found stored before, with
    ``duplicate``), else an error ``code`` and ``detail`` for the sender."""

    pending: Pending
    message_id: int | None = None
    ticket_id: int | None = None
    frame: dict | None = None
    duplicate: bool = False
    code: str = ""
    detail: str = ""

    @property
    def internal(self) -> bool:
        return self.pending.kind == "note"


# The spine's refusals (tickets.actions), as the chat's error codes.
_REFUSALS = {"ticket_closed": "closed", "not_yours": "not_yours", "not_found": "not_found"}


def store_messages(batch: list[Pending]) -> list[Stored]:
    """Store many chat messages in one transaction (a few queries, whatever their number):
    the customers' through tickets.actions.receive_many, the agents' answers and notes
    through tickets.actions.reply_many, both without a history line each (the lines are
    the thread) and without the spine's announcement (the writer sends the chat's frames).

    Idempotent on (conversation, client_id), within the batch and across batches. When a
    concurrent writer (another process) stored one of the same ids first, the batch is
    stored again one message at a time, so only that message reports a duplicate.
    Raises on database failure: nothing of the batch is stored then, and the caller tells
    each sender to send again.
    """
    if not batch:
        return []
    try:
        with transaction.atomic():
            return _store(batch)
    except IntegrityError:
        logger.info("chat batch of %s raced another writer; storing one by one", len(batch))
    results = []
    for pending in batch:
        try:
            with transaction.atomic():
                results.extend(_store([pending]))
        except IntegrityError:
            with transaction.atomic():
                results.extend(_store([pending]))  # now reads the other writer's row
    return results


# What the writer reads of each conversation's ticket, for the spine's rules (a closed
# ticket, reopening, the first answer, the assignee): read here with the conversations,
# in one query, and handed over so that tickets.actions does not read them again.
_TICKET_FIELDS = ("customer_id", "channel", "status", "assignee_id", "first_responded_at")


def _store(batch: list[Pending]) -> list[Stored]:
    conversations = {
        row["pk"]: row
        for row in Conversation.objects.filter(
            pk__in={pending.conversation_id for pending in batch}
        ).values(
            "pk",
            "state",
            "agent_id",
            "ticket_id",
            "customer_sockets",
            "identity_id",
            "identity__kind",
            "identity__value",
            "identity__customer_id",
            *(f"ticket__{name}" for name in _TICKET_FIELDS),
        )
    }
    tickets = {
        row["ticket_id"]: ticket_actions.TicketState(
            pk=row["ticket_id"], **{name: row[f"ticket__{name}"] for name in _TICKET_FIELDS}
        )
        for row in conversations.values()
    }
    existing = {
        row["external_id"]: row
        for row in Message.objects.filter(
            channel=Channel.CHAT, external_id__in={pending.external_id for pending in batch}
        ).values("pk", "external_id", "ticket_id", "direction", "author_id", "text", "created_at")
    }
    results: list[Stored | None] = [None] * len(batch)
    new: list[tuple[int, Pending, dict]] = []  # (index in batch, pending, conversation)
    seen: dict[str, int] = {}  # external id -> index of its first occurrence in the batch
    for index, pending in enumerate(batch):
        row = existing.get(pending.external_id)
        if row is not None:
            results[index] = _already(pending, row)
            continue
        if pending.external_id in seen:
            continue  # resolved below, from its first occurrence
        conversation = conversations.get(pending.conversation_id)
        refusal = _refusal(pending, conversation)
        if refusal:
            results[index] = Stored(pending=pending, code=refusal[0], detail=refusal[1])
            continue
        seen[pending.external_id] = index
        new.append((index, pending, conversation))
    customers = [item for item in new if item[1].kind == "customer"]
    agents = [item for item in new if item[1].kind != "customer"]
    received, answered = ticket_actions.receive_with_replies(
        [_inbound(pending, conversation) for _index, pending, conversation in customers],
        [_reply(pending, conversation, tickets) for _index, pending, conversation in agents],
        known=_known(customers, tickets),
    )
    outcomes = [
        result if isinstance(result, ValidationError) else result.stored for result in received
    ]
    for (index, pending, conversation), outcome in zip(
        [*customers, *agents], [*outcomes, *answered], strict=True
    ):
        results[index] = _outcome(pending, conversation, outcome)
    _announce_previews(customers)
    for index, pending in enumerate(batch):
        if results[index] is None:  # a repeat inside the batch
            first = results[seen[pending.external_id]]
            results[index] = Stored(
                pending=pending,
                message_id=first.message_id,
                ticket_id=first.ticket_id,
                frame=first.frame,
                duplicate=True,
                code=first.code,
                detail=first.detail,
            )
    return results


def _announce_previews(customers: list[tuple[int, Pending, dict]]) -> None:
    """After commit: the consoles that list a waiting chat whose customer wrote get its
    entry again, with the preview of what the customer wrote first (chat.selectors
    .waiting_change; nothing is sent for chats beyond the listed window)."""
    waiting = sorted(
        {row["pk"] for _i, _p, row in customers if row["state"] == Conversation.State.WAITING}
    )
    if not waiting:
        return

    def build():
        change = selectors.waiting_change(updated=waiting)
        if change["added"]:
            live.send_now([(live.AGENTS_GROUP, {"type": "chat.waiting", "frame": change})])

    transaction.on_commit(build, robust=True)


def _inbound(pending: Pending, conversation: dict) -> Inbound:
    """A customer's line, filed on their chat's own ticket."""
    return Inbound(
        channel=Channel.CHAT,
        sender_kind=conversation["identity__kind"],
        sender=conversation["identity__value"],
        text=pending.text,
        external_id=pending.external_id,
        ticket_id=conversation["ticket_id"],
    )


def _reply(pending: Pending, conversation: dict, tickets: dict) -> ticket_actions.Reply:
    """An agent's answer or note. An answer reaches a connected customer as it is stored
    (sent); otherwise delivery takes it (by email, or at the customer's return)."""
    return ticket_actions.Reply(
        ticket=tickets[conversation["ticket_id"]],
        acting_user=pending.agent,
        text=pending.text,
        internal=pending.kind == "note",
        external_id=pending.external_id,
        delivered=_live(conversation),
    )


def _known(customers: list[tuple[int, Pending, dict]], tickets: dict) -> ticket_actions.Known:
    """What the writer read with its conversations, handed to the spine (tickets.actions
    .Known): their tickets, the customers' identities, and that the lines are new."""
    rows = {row["pk"]: row for _index, _pending, row in customers}  # one per conversation
    senders = {
        (row["identity__kind"], row["identity__value"]): ticket_actions.Sender(
            pk=row["identity_id"], customer_id=row["identity__customer_id"]
        )
        for row in rows.values()
    }
    unstored = frozenset((Channel.CHAT, pending.external_id) for _i, pending, _c in customers)
    return ticket_actions.Known(tickets=tickets, senders=senders, unstored=unstored)


def _outcome(pending: Pending, conversation: dict, outcome) -> Stored:
    if isinstance(outcome, ValidationError):
        code = _REFUSALS.get(outcome.code, "invalid")
        return Stored(pending=pending, code=code, detail=" ".join(outcome.messages))
    return Stored(
        pending=pending,
        message_id=outcome.pk,
        ticket_id=conversation["ticket_id"],
        frame=selectors.frame(
            outcome.pk,
            pending.kind,
            name=pending.name,
            text=pending.text,
            sent_at=outcome.created_at.isoformat(),
        ),
    )


def _already(pending: Pending, row: dict) -> Stored:
    message = Message(
        pk=row["pk"],
        ticket_id=row["ticket_id"],
        direction=row["direction"],
        author_id=row["author_id"],
        text=row["text"],
        created_at=row["created_at"],
    )
    return Stored(
        pending=pending,
        message_id=row["pk"],
        ticket_id=row["ticket_id"],
        frame=selectors.message_frame(message, name=pending.name),
        duplicate=True,
    )


def _refusal(pending: Pending, conversation: dict | None) -> tuple[str, str] | None:
    """The chat's own refusals; a closed ticket is the spine's (tickets.actions.takes)."""
    if conversation is None:
        return "not_found", gettext_lazy("This chat does not exist.")
    if conversation["state"] == Conversation.State.ENDED and pending.kind != "note":
        return "closed", gettext_lazy("This chat has ended; start a new one to write again.")
    if pending.kind == "agent" and conversation["agent_id"] != getattr(pending.agent, "pk", None):
        return "not_yours", gettext_lazy("Accept this chat before writing in it.")
    if pending.kind == "customer" and conversation["identity__kind"] is None:
        return "not_found", gettext_lazy("This chat has no customer identity.")
    return None


def _live(conversation: dict) -> bool:
    """Whether the customer has the chat open now (an agent's message reaches them live)."""
    return conversation["customer_sockets"] > 0
