"""Business operations of the live chat, called alike by the consumers, views and admin.

A conversation is a ticket on the chat channel; its messages are the ticket's Messages,
all written by tickets.actions: the writer's batches of both sides through
`receive_with_replies` (`store_messages`), uploads and the offline form through `receive`,
replies from the ticket page through `reply`. Every action runs in one transaction, records
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
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.db.models.signals import post_save
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actions import identity_for_app, identity_for_user, resolve_identity
from accounts.actions.security import record_app_verification
from accounts.app_identity import AppIdentity
from accounts.identities import normalise_identity
from accounts.models import CustomerIdentity
from accounts.permissions import is_agent, require_agent
from mywallet_support.mail import customer_language
from tickets import actions as ticket_actions
from tickets.inbound import Inbound, InboundAttachment
from tickets.models import Channel, Queue, Ticket, TicketEvent

from . import live, selectors
from .contacts import link_contact
from .messages import Pending
from .models import AgentPresence, Conversation
from .protocol import is_id

logger = logging.getLogger(__name__)

User = get_user_model()


# --- starting -------------------------------------------------------------------------------


def contact_identity_kind(contact: str) -> str:
    return CustomerIdentity.Kind.EMAIL if "@" in contact else CustomerIdentity.Kind.PHONE


@dataclass(frozen=True)
class Caller:
    """Who is chatting, as far as we know: the identity the chat is filed under, the
    customer a typed contact claims to be (never trusted), and the app's proof if any.
    ``guest``: the identity's customer was made for this chat (a placeholder, or a contact
    new to us), so what the chat learns of them (their language) is theirs to keep."""

    identity: CustomerIdentity
    claimed: CustomerIdentity | None = None
    app: AppIdentity | None = None
    guest: bool = False


def _caller(*, user, name: str, contact: str, app: AppIdentity | None) -> Caller:
    """The app's verified customer; else the signed-in wallet user's customer; else a guest
    (guest_caller)."""
    if app is not None:
        return Caller(identity=identity_for_app(app.customer), app=app)
    if user is not None and user.is_authenticated and not user.is_staff:
        return Caller(identity=identity_for_user(user, name=name))
    return guest_caller(name=name, contact=contact)


def guest_caller(*, name: str, contact: str) -> Caller:
    """A guest: a contact new to us is theirs (a new customer with it, nothing private to
    see); a known one is only a claim, so the chat goes on a placeholder customer with a
    "web" identity and the contact's customer is named as claimed. Raises ValidationError
    on a bad contact."""
    if contact:
        kind = contact_identity_kind(contact)
        value = normalise_identity(kind, contact)
        owner = CustomerIdentity.objects.select_related("customer").filter(kind=kind, value=value)
        owner = owner.first()
        if owner is None:
            identity = resolve_identity(kind=kind, value=value, display_name=name)
            return Caller(identity=identity, guest=True)
        return Caller(identity=_placeholder(name), claimed=owner, guest=True)
    return Caller(identity=_placeholder(name), guest=True)


def _placeholder(name: str) -> CustomerIdentity:
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
    app: AppIdentity | None = None,
    language: str = "",
) -> Conversation:
    """Open a chat: a ticket on the chat channel and its conversation, waiting for an agent
    (or offline when none of the queue is online). ``app``: the customer the MY Wallet
    app's token proved (accounts.app_identity.verify), recorded as a strong verification
    on the ticket. ``language``: the page's, kept on a guest's own new customer so that
    answers (macros, mail) speak it. Raises ValidationError on a bad contact."""
    name, contact = name.strip()[:200], contact.strip()[:255]
    caller = _caller(user=user, name=name, contact=contact, app=app)
    customer = caller.identity.customer
    if caller.guest and language:
        customer.language = customer_language(language)
        customer.save(update_fields=["language"])
    if app is not None:
        wallet = app.account
    else:
        wallets = list(customer.wallets.all()[:2])
        wallet = wallets[0] if len(wallets) == 1 else None
    ticket = ticket_actions.open_ticket(
        customer=customer,
        channel=Channel.CHAT,
        subject="",  # named by the customer's first line (tickets.actions.thread)
        queue=queue,
        wallet=wallet,
        acting_user=None,
    )
    if caller.claimed is not None:
        ticket_actions.claim_identity(ticket, caller.claimed)
    if app is not None:
        record_app_verification(ticket, app.account, app)
    online = selectors.agents_online(queue)
    conversation = Conversation.objects.create(
        ticket=ticket,
        queue=queue,
        identity=caller.identity,
        session_key=session_key or "",
        contact="" if app is not None else contact,
        verified_by_app_at=timezone.now() if app is not None else None,
        state=Conversation.State.WAITING if online else Conversation.State.OFFLINE,
    )
    if online:
        new_chat = {
            "type": "chat.new",
            "conversation": conversation.pk,
            "reference": ticket.reference,
        }
        live.announce_on_commit([(live.AGENTS_GROUP, new_chat)])
        _announce_waiting(added=[conversation])
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
    email (or on the customer's next visit). A contact new to us becomes an identity of the
    chat's customer; a known one is only a claim (chat.contacts.link_contact). A chat the
    MY Wallet app verified needs no contact: we know the customer, and a contact typed there
    is not taken (it could be anyone's). Raises ValidationError on a bad or missing contact
    or empty text."""
    text = (text or "").strip()[: settings.CHAT_MAX_MESSAGE_CHARS]
    if not text:
        raise ValidationError(_("Write a message."))
    contact = (contact or "").strip()
    name = (name or "").strip()[:200]
    if conversation is not None:
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("ticket__customer", "identity")
            .filter(pk=conversation.pk)
            .exclude(state=Conversation.State.ENDED)
            .first()
        )
    if conversation is not None and conversation.verified_by_app:
        return _receive_on(conversation, name=name, text=text)
    if not contact:
        raise ValidationError(_("Give an email address or a phone number."))
    if conversation is not None and conversation.identity is not None:
        return _leave_in(conversation, contact=contact, name=name, text=text)
    # Filed like a chat started with this contact: a known contact is only a claim.
    caller = guest_caller(name=name, contact=contact)
    received = ticket_actions.receive(
        Inbound(
            channel=Channel.CHAT,
            sender_kind=caller.identity.kind,
            sender=caller.identity.value,
            sender_name=name,
            text=text,
            queue=queue.slug if queue else "",
        )
    )
    if caller.claimed is not None:
        ticket_actions.claim_identity(received.ticket, caller.claimed)
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
    return _receive_on(conversation, name=name, text=text)


def _receive_on(conversation: Conversation, *, name: str, text: str) -> ticket_actions.Received:
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
    _announce_waiting(added=woken)


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
        _announce_waiting(taken=[conversation])
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
        full = set()  # queues with no agent free: handing out others frees none of theirs
        for conversation in waiting.select_related("queue").order_by("started_at", "pk"):
            if conversation.queue_id in full:
                continue  # no query per waiting chat when every agent is busy
            agent = least_busy_agent(conversation.queue)
            if agent is None:
                full.add(conversation.queue_id)
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
    if conversation.state == Conversation.State.WAITING:
        _announce_waiting(left=[conversation])  # from its old place in its old queue
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
    if online:
        _announce_waiting(added=[conversation])
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
    _end(conversation, actor=acting_user, by="customer" if acting_user is None else "agent")
    if acting_user is not None:
        _solve(conversation, acting_user)
    return conversation


@transaction.atomic
def end_with_ticket(ticket_id: int) -> None:
    """The chat's ticket was solved or closed elsewhere (the ticket page, a bulk action):
    the live chat ends with it, and the customer is asked for a rating, as when the agent
    ends it from the console."""
    conversation = (
        Conversation.objects.select_for_update()
        .filter(ticket_id=ticket_id)
        .exclude(state=Conversation.State.ENDED)
        .first()
    )
    if conversation is not None:
        _end(conversation, actor=None, by="ticket")


def _ticket_saved(sender, instance: Ticket, update_fields=None, **kwargs) -> None:
    """post_save of a Ticket: a chat ticket now solved or closed ends its chat, after commit
    (`end_with_ticket`)."""
    if (
        update_fields
        and "status" in update_fields
        and instance.channel == Channel.CHAT
        and not instance.is_open
    ):
        transaction.on_commit(lambda: end_with_ticket(instance.pk), robust=True)


def follow_ticket_status() -> None:
    """Connect `_ticket_saved` (chat.apps, once the apps are ready)."""
    post_save.connect(_ticket_saved, sender=Ticket, dispatch_uid="chat.end_with_ticket")


def _end(conversation: Conversation, *, actor, by: str) -> None:
    """The conversation ends (locked by the caller): its history event, the customer's
    "closed" status (which asks for a rating), and the queue told."""
    was_waiting = conversation.state == Conversation.State.WAITING
    conversation.state = Conversation.State.ENDED
    conversation.ended_at = timezone.now()
    conversation.save(update_fields=["state", "ended_at"])
    TicketEvent.objects.create(
        ticket_id=conversation.ticket_id,
        kind=TicketEvent.Kind.CHAT_ENDED,
        actor=actor,
        data={"by": by},
    )
    event = {
        "type": "chat.status",
        "conversation": conversation.pk,
        "frame": {"type": "status", "state": "closed"},
        "ended": True,
    }
    live.announce_on_commit([(live.ticket_group(conversation.ticket_id), event)])
    if was_waiting:
        _announce_waiting(left=[conversation])
    elif conversation.agent_id is not None:
        transaction.on_commit(auto_assign, robust=True)  # the agent has room again


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


def explain_failed_payment(conversation_id: int, *, language: str) -> None:
    """The customer wrote of a failed payment: the explanation at once, as an automatic
    message (tickets.actions.explain_in_chat), naming their own payments only when the
    MY Wallet app's token proved who they are; a guest gets the general causes."""
    conversation = Conversation.objects.select_related("ticket").filter(pk=conversation_id)
    conversation = conversation.first()
    if conversation is None or conversation.state == Conversation.State.ENDED:
        return
    ticket_actions.explain_in_chat(
        conversation.ticket, known=conversation.verified_by_app, language=language
    )


def conversation_for_agent(conversation_id, *, user) -> Conversation:
    """A conversation an agent asks about by id (any agent may read; writing is checked
    by each action)."""
    require_agent(user)
    if not is_id(conversation_id):
        raise ValidationError(_("Which chat?"))
    conversation = (
        Conversation.objects.select_related(
            "ticket__customer", "ticket__claimed_identity__customer", "agent", "queue"
        )
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise ValidationError(_("This chat does not exist."))
    return conversation


# --- announcements --------------------------------------------------------------------------


def _announce_waiting(*, added=(), taken=(), left=()) -> None:
    """After commit: the agents' consoles get one "waiting_change" frame (built once, sent
    to the group, chat/protocol.py), and the customers whose queue position moved get
    theirs: those at or behind each chat that joined or left its queue. ``added``,
    ``taken`` and ``left`` are Conversations (``left`` as they were while waiting)."""
    places = [(c.queue_id, c.started_at, c.pk) for c in (*added, *taken, *left)]
    if not places:
        return
    ids = {
        "added": [c.pk for c in added],
        "taken": [c.pk for c in taken],
        "left": [c.pk for c in left],
    }

    def build():
        change = selectors.waiting_change(**ids)
        events = [(live.AGENTS_GROUP, {"type": "chat.waiting", "frame": change})]
        moved = {}
        for queue_id, started_at, pk in places:
            for conversation_id, ticket_id, position in selectors.positions_from(
                queue_id, started_at, pk
            ):
                moved[conversation_id] = (ticket_id, position)
        for conversation_id, (ticket_id, position) in moved.items():
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
