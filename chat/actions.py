"""Business operations of the live chat, called alike by the consumers, views and admin.

A conversation is a ticket on the chat channel; its messages are the ticket's Messages,
written here in batches (`store_messages`) or through `tickets.actions` (uploads, the
offline form, replies from the ticket page). Every action runs in one transaction, records
a TicketEvent in it for what changes the ticket (start, accept, transfer, end, rating,
reopening), and announces its frames only after commit (chat.live). The chat's lines
themselves are the ticket's thread: they add no history entry each, which would bury the
ticket's changes under the transcript and cost the writer an insert per line.
"""

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.actions import identity_for_user, resolve_identity
from accounts.identities import normalise_identity
from accounts.models import CustomerIdentity
from accounts.permissions import is_agent, require_agent
from tickets import actions as ticket_actions
from tickets.inbound import Inbound, InboundAttachment
from tickets.models import Channel, Message, Queue, Ticket, TicketEvent

from . import live, selectors
from .contacts import link_contact
from .models import AgentPresence, Conversation
from .protocol import is_id

logger = logging.getLogger(__name__)

User = get_user_model()


# --- starting -------------------------------------------------------------------------------


def contact_identity_kind(contact: str) -> str:
    return CustomerIdentity.Kind.EMAIL if "@" in contact else CustomerIdentity.Kind.PHONE


def _identity_for(*, user, name: str, contact: str) -> CustomerIdentity:
    """Who is chatting: the signed-in wallet user's customer, else the customer owning the
    contact given, else a new anonymous customer with a "web" identity."""
    if user is not None and user.is_authenticated and not user.is_staff:
        return identity_for_user(user, name=name)
    if contact:
        return resolve_identity(
            kind=contact_identity_kind(contact), value=contact, display_name=name
        )
    return resolve_identity(
        kind=CustomerIdentity.Kind.WEB, value=f"chat-{uuid.uuid4().hex}", display_name=name
    )


@transaction.atomic
def start_conversation(
    *,
    session_key: str,
    user=None,
    name: str = "",
    contact: str = "",
    queue: Queue | None = None,
) -> Conversation:
    """Open a chat: a ticket on the chat channel and its conversation, waiting for an agent
    (or offline when none of the queue is online). Raises ValidationError on a bad contact."""
    name, contact = name.strip()[:200], contact.strip()[:255]
    identity = _identity_for(user=user, name=name, contact=contact)
    customer = identity.customer
    wallets = list(customer.wallets.all()[:2])
    ticket = ticket_actions.open_ticket(
        customer=customer,
        channel=Channel.CHAT,
        subject=_("Web chat"),
        queue=queue,
        wallet=wallets[0] if len(wallets) == 1 else None,
        acting_user=None,
    )
    online = selectors.agents_online(queue)
    conversation = Conversation.objects.create(
        ticket=ticket,
        queue=queue,
        identity=identity,
        session_key=session_key or "",
        contact=contact,
        state=Conversation.State.WAITING if online else Conversation.State.OFFLINE,
    )
    if online:
        new_chat = {
            "type": "chat.new",
            "conversation": conversation.pk,
            "reference": ticket.reference,
        }
        live.announce_on_commit([(live.AGENTS_GROUP, new_chat)])
        _announce_waiting(queue_ids={conversation.queue_id})
        auto_assign(queue=queue)
        conversation.refresh_from_db()
    return conversation


def session_conversation(conversation_id, *, session_key: str = "") -> Conversation | None:
    """The live conversation a session remembers, if it still is live."""
    if not isinstance(conversation_id, int):
        return None
    return (
        Conversation.objects.select_related("ticket__customer", "agent", "queue")
        .filter(pk=conversation_id)
        .exclude(state=Conversation.State.ENDED)
        .first()
    )


# --- messages, in batches -------------------------------------------------------------------


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


# --- uploads and the offline form (through tickets.actions.receive) --------------------------


def post_customer_upload(
    conversation: Conversation, *, client_id: str, name: str, content_type: str, content: bytes
) -> ticket_actions.Received:
    """An image the customer sent: a Message with its Attachment, announced by tickets.live."""
    if not conversation.is_live:
        raise ValidationError(_("This chat has ended; start a new one to write again."))
    identity = conversation.identity
    if identity is None:
        raise ValidationError(_("This chat has no customer identity."))
    inbound = Inbound(
        channel=Channel.CHAT,
        sender_kind=identity.kind,
        sender=identity.value,
        text="",
        ticket_id=conversation.ticket_id,
        external_id=Pending(conversation.pk, client_id, "", "customer").external_id,
        attachments=(InboundAttachment(name=name, content_type=content_type, content=content),),
    )
    return ticket_actions.receive(inbound)


@transaction.atomic
def leave_message(
    *,
    contact: str,
    name: str = "",
    text: str,
    queue: Queue | None = None,
    conversation: Conversation | None = None,
) -> ticket_actions.Received:
    """The offline form: the message goes on ``conversation`` (the session's live chat,
    which found nobody online), or on a new ticket when there is none; answered later by
    email (or on the customer's next visit). The contact given becomes an identity of the
    chat's customer. Raises ValidationError on a bad contact or empty text."""
    text = (text or "").strip()[: settings.CHAT_MAX_MESSAGE_CHARS]
    if not text:
        raise ValidationError(_("Write a message."))
    contact = (contact or "").strip()
    if not contact:
        raise ValidationError(_("Give an email address or a phone number."))
    name = (name or "").strip()[:200]
    if conversation is not None:
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("ticket__customer", "identity")
            .filter(pk=conversation.pk)
            .exclude(state=Conversation.State.ENDED)
            .first()
        )
    if conversation is not None and conversation.identity is not None:
        return _leave_in(conversation, contact=contact, name=name, text=text)
    received = ticket_actions.receive(
        Inbound(
            channel=Channel.CHAT,
            sender_kind=contact_identity_kind(contact),
            sender=contact,
            sender_name=name,
            text=text,
            queue=queue.slug if queue else "",
        )
    )
    Conversation.objects.create(
        ticket=received.ticket,
        queue=queue,
        identity=received.message.sender,
        contact=contact[:255],
        state=Conversation.State.OFFLINE,
    )
    return received


def _leave_in(
    conversation: Conversation, *, contact: str, name: str, text: str
) -> ticket_actions.Received:
    kind = contact_identity_kind(contact)
    identity = link_contact(
        conversation, kind=kind, value=normalise_identity(kind, contact), name=name
    )
    if identity.customer_id == conversation.ticket.customer_id:
        conversation.identity = identity
    conversation.contact = contact[:255]
    conversation.save(update_fields=["identity", "contact"])
    sender = conversation.identity
    return ticket_actions.receive(
        Inbound(
            channel=Channel.CHAT,
            sender_kind=sender.kind,
            sender=sender.value,
            sender_name=name,
            text=text,
            ticket_id=conversation.ticket_id,
        )
    )


# --- sockets coming and going ---------------------------------------------------------------


def customer_connected(conversation_id: int) -> Conversation | None:
    """A customer socket joined: counted (agents' replies then go live, not by email)."""
    Conversation.objects.filter(pk=conversation_id).update(
        customer_sockets=F("customer_sockets") + 1
    )
    return session_conversation(conversation_id)


def customer_disconnected(conversation_id: int) -> None:
    Conversation.objects.filter(pk=conversation_id).update(
        customer_sockets=Greatest(F("customer_sockets") - 1, 0)
    )


def agent_connected(user) -> AgentPresence:
    presence, _created = AgentPresence.objects.get_or_create(user=user)
    AgentPresence.objects.filter(pk=user.pk).update(sockets=F("sockets") + 1)
    presence.refresh_from_db()
    return presence


def agent_disconnected(user) -> None:
    """The agent's last console closing sets them offline (their chats stay theirs)."""
    with transaction.atomic():
        AgentPresence.objects.filter(pk=user.pk).update(sockets=Greatest(F("sockets") - 1, 0))
        went_offline = (
            AgentPresence.objects.filter(pk=user.pk, sockets=0)
            .exclude(status=AgentPresence.Status.OFFLINE)
            .update(status=AgentPresence.Status.OFFLINE)
        )
        if went_offline:
            _announce_presence(user, AgentPresence.Status.OFFLINE)


# --- agents' work ---------------------------------------------------------------------------


@transaction.atomic
def set_presence(user, *, status: str) -> AgentPresence:
    require_agent(user)
    if status not in AgentPresence.Status.values:
        raise ValidationError(_("Unknown presence %(status)s."), params={"status": status})
    presence, _created = AgentPresence.objects.select_for_update().get_or_create(user=user)
    if presence.status != status:
        presence.status = status
        presence.save(update_fields=["status", "updated_at"])
        _announce_presence(user, status)
    if status == AgentPresence.Status.ONLINE:
        _wake_offline_chats(user)
        auto_assign()
    return presence


def _wake_offline_chats(user) -> None:
    """Chats that found nobody online, whose customer is still there, now wait for one."""
    offline = Conversation.objects.filter(state=Conversation.State.OFFLINE, customer_sockets__gt=0)
    woken = []
    for conversation in offline.select_related("queue", "agent"):
        if selectors.available_agents(conversation.queue).filter(pk=user.pk).exists():
            woken.append(conversation)
    if not woken:
        return
    Conversation.objects.filter(pk__in=[c.pk for c in woken]).update(
        state=Conversation.State.WAITING
    )
    _announce_waiting(queue_ids={c.queue_id for c in woken})


def _limit_reached(agent) -> bool:
    presence = AgentPresence.objects.filter(user=agent).first()
    limit = presence.limit if presence else settings.CHAT_MAX_CHATS
    held = Conversation.objects.filter(agent=agent, state=Conversation.State.ACTIVE).count()
    return held >= limit


@transaction.atomic
def accept(conversation: Conversation, *, acting_user) -> Conversation:
    """The agent takes a waiting (or offline) chat, within their limit of chats."""
    require_agent(acting_user)
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if conversation.state == Conversation.State.ACTIVE and conversation.agent_id == acting_user.pk:
        return conversation
    if conversation.state not in (Conversation.State.WAITING, Conversation.State.OFFLINE):
        raise ValidationError(_("This chat is no longer waiting."))
    if _limit_reached(acting_user):
        raise ValidationError(_("You already hold as many chats as you may."))
    return _hand_over(conversation, agent=acting_user, acting_user=acting_user)


def _hand_over(conversation: Conversation, *, agent, acting_user) -> Conversation:
    previous = conversation.agent
    was_waiting = conversation.state == Conversation.State.WAITING
    conversation.agent = agent
    conversation.state = Conversation.State.ACTIVE
    conversation.accepted_at = timezone.now()
    conversation.save(update_fields=["agent", "state", "accepted_at"])
    if acting_user is None:
        # Auto-assignment: the system's doing, recorded with no human actor; the ticket
        # opens with the agent's first answer (tickets.actions.thread).
        ticket_actions.assign_automatically(conversation.ticket, assignee=agent)
    else:
        ticket = ticket_actions.assign(conversation.ticket, acting_user=acting_user, assignee=agent)
        if ticket.status == Ticket.Status.NEW:
            ticket_actions.change_status(ticket, acting_user=acting_user, status=Ticket.Status.OPEN)
    group = live.ticket_group(conversation.ticket_id)
    events = []
    if previous is not None and previous.pk != agent.pk:
        events += _released(conversation, previous)
    events += [
        (group, _status_event(conversation, selectors.customer_status(conversation))),
        (live.agent_group(agent.pk), {"type": "chat.assigned", "conversation": conversation.pk}),
    ]
    live.announce_on_commit(events)
    if was_waiting:
        _announce_waiting(queue_ids={conversation.queue_id})
    return conversation


def _released(conversation: Conversation, previous) -> list[tuple[str, dict]]:
    """The customer is told their agent left; the agent's consoles let the chat go."""
    left = {"type": "status", "state": "left", "agent": selectors.agent_name(previous)}
    released = {"type": "chat.released", "conversation": conversation.pk, "state": "transferred"}
    return [
        (live.ticket_group(conversation.ticket_id), _status_event(conversation, left)),
        (live.agent_group(previous.pk), released),
    ]


def _status_event(conversation: Conversation, frame: dict) -> dict:
    return {"type": "chat.status", "conversation": conversation.pk, "frame": frame}


def auto_assign(*, queue: Queue | None = None) -> list[Conversation]:
    """Give waiting chats, oldest first, to the least-busy online agent of their queue who
    is under their limit (CHAT_AUTO_ASSIGN). Returns the chats handed over."""
    if not settings.CHAT_AUTO_ASSIGN:
        return []
    handed = []
    with transaction.atomic():
        waiting = Conversation.objects.select_for_update(of=("self",)).filter(
            state=Conversation.State.WAITING
        )
        if queue is not None:
            waiting = waiting.filter(queue=queue)
        for conversation in waiting.select_related("queue").order_by("started_at", "pk"):
            agent = least_busy_agent(conversation.queue)
            if agent is None:
                continue
            handed.append(_hand_over(conversation, agent=agent, acting_user=None))
    return handed


def least_busy_agent(queue: Queue | None):
    """The online agent of ``queue`` with the fewest chats, under their limit, or None."""
    candidates = [
        user
        for user in selectors.available_agents(queue).order_by("pk")
        if user.active_chats < user.chat_presence.limit
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda user: (user.active_chats, user.pk))


@transaction.atomic
def transfer_to(
    conversation: Conversation, *, acting_user, agent_id=None, queue_slug=None
) -> Conversation:
    """`transfer`, from what a console sent: an agent's id or a queue's slug."""
    to_agent = to_queue = None
    if agent_id is not None:
        if isinstance(agent_id, bool) or not isinstance(agent_id, int):
            raise ValidationError(_("No such agent."))
        to_agent = get_user_model().objects.filter(pk=agent_id).first()
        if to_agent is None:
            raise ValidationError(_("No such agent."))
    if queue_slug is not None:
        to_queue = Queue.objects.filter(slug=str(queue_slug)).first()
        if to_queue is None:
            raise ValidationError(_("No such queue."))
    return transfer(conversation, acting_user=acting_user, to_agent=to_agent, to_queue=to_queue)


def transfer(
    conversation: Conversation, *, acting_user, to_agent=None, to_queue: Queue | None = None
) -> Conversation:
    """Hand the chat to another agent, or back to a queue to wait for one of its agents."""
    require_agent(acting_user)
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("agent")
        .get(pk=conversation.pk)
    )
    if conversation.state == Conversation.State.ENDED:
        raise ValidationError(_("This chat has ended."))
    if (to_agent is None) == (to_queue is None):
        raise ValidationError(_("Transfer to one agent or one queue."))
    if to_agent is not None:
        if not is_agent(to_agent):
            raise ValidationError(_("Chats can only be transferred to agents."))
        if _limit_reached(to_agent):
            raise ValidationError(_("That agent already holds as many chats as they may."))
        return _hand_over(conversation, agent=to_agent, acting_user=acting_user)
    previous = conversation.agent
    online = selectors.agents_online(to_queue)
    conversation.queue = to_queue
    conversation.agent = None
    conversation.state = Conversation.State.WAITING if online else Conversation.State.OFFLINE
    conversation.save(update_fields=["queue", "agent", "state"])
    ticket_actions.assign(
        conversation.ticket, acting_user=acting_user, assignee=None, queue=to_queue
    )
    group = live.ticket_group(conversation.ticket_id)
    events = []
    if previous is not None:
        events += _released(conversation, previous)
    events.append((group, _status_event(conversation, selectors.customer_status(conversation))))
    live.announce_on_commit(events)
    _announce_waiting(queue_ids={to_queue.pk})
    if online:
        auto_assign(queue=to_queue)
    conversation.refresh_from_db()
    return conversation


@transaction.atomic
def close(conversation: Conversation, *, acting_user=None) -> Conversation:
    """End the chat: by its agent (the ticket is solved) or by the customer (``acting_user``
    None; the ticket stays for agents to finish). The customer is asked for a rating."""
    if acting_user is not None:
        require_agent(acting_user)
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if conversation.state == Conversation.State.ENDED:
        if acting_user is not None:
            _solve(conversation, acting_user)
        return conversation
    was_waiting = conversation.state == Conversation.State.WAITING
    conversation.state = Conversation.State.ENDED
    conversation.ended_at = timezone.now()
    conversation.save(update_fields=["state", "ended_at"])
    TicketEvent.objects.create(
        ticket_id=conversation.ticket_id,
        kind=TicketEvent.Kind.CHAT_ENDED,
        actor=acting_user,
        data={"by": "customer" if acting_user is None else "agent"},
    )
    if acting_user is not None:
        _solve(conversation, acting_user)
    event = {
        "type": "chat.status",
        "conversation": conversation.pk,
        "frame": {"type": "status", "state": "closed"},
        "ended": True,
    }
    live.announce_on_commit([(live.ticket_group(conversation.ticket_id), event)])
    if was_waiting:
        _announce_waiting(queue_ids={conversation.queue_id})
    elif conversation.agent_id is not None:
        transaction.on_commit(auto_assign, robust=True)  # the agent has room again
    return conversation


def _solve(conversation: Conversation, acting_user) -> None:
    ticket = Ticket.objects.get(pk=conversation.ticket_id)
    if ticket.status not in (Ticket.Status.SOLVED, Ticket.Status.CLOSED):
        ticket_actions.change_status(ticket, acting_user=acting_user, status=Ticket.Status.SOLVED)


@transaction.atomic
def rate(conversation: Conversation, *, score, comment: str = "") -> Ticket:
    """The customer rates the chat (1 to 5, and a comment); rating ends it if it was not."""
    ticket_actions.validate_rating(score)
    if conversation.is_live:
        conversation = close(conversation)
    ticket = ticket_actions.record_rating(
        conversation.ticket, score=score, comment=comment, channel=Channel.CHAT
    )
    return ticket


def conversation_for_agent(conversation_id, *, user) -> Conversation:
    """A conversation an agent asks about by id (any agent may read; writing is checked
    by each action)."""
    require_agent(user)
    if not is_id(conversation_id):
        raise ValidationError(_("Which chat?"))
    conversation = (
        Conversation.objects.select_related("ticket__customer", "agent", "queue")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise ValidationError(_("This chat does not exist."))
    return conversation


# --- announcements --------------------------------------------------------------------------


def _announce_waiting(*, queue_ids: set) -> None:
    """After commit: the agents' waiting list, and each waiting customer's new position."""

    def build():
        events = [(live.AGENTS_GROUP, {"type": "chat.waiting", "chats": selectors.waiting_list()})]
        for queue_id in queue_ids:
            for conversation_id, ticket_id, position in selectors.waiting_positions(queue_id):
                frame = {"type": "status", "state": "waiting", "position": position}
                events.append(
                    (
                        live.ticket_group(ticket_id),
                        {"type": "chat.status", "conversation": conversation_id, "frame": frame},
                    )
                )
        live.send_now(events)

    transaction.on_commit(build, robust=True)


def _announce_presence(user, status: str) -> None:
    """After commit: every agent console learns this agent's new presence ("presence"
    frame, chat/protocol.py), e.g. for its transfer list."""
    frame = {
        "type": "presence",
        "agent": {"id": user.pk, "name": selectors.agent_name(user), "presence": status},
    }
    live.announce_on_commit([(live.AGENTS_GROUP, {"type": "chat.presence", "frame": frame})])
