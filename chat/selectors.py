"""Reads of the live chat and the frames built from them (see chat/protocol.py).

Every function issues a fixed number of queries, whatever the number of chats or messages.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from mywallet_support.masking import mask_identity
from mywallet_support.pii import mask_text
from tickets.macros import rendered_macros
from tickets.models import Message, Queue
from tickets.selectors import customer_panel

from .models import AgentPresence, Conversation

# A socket may still join a chat that ended this recently, to send its rating only (the
# connection may drop between the "closed" status and the rating).
RATING_WINDOW = timedelta(minutes=30)

PREVIEW_CHARS = 140


# --- names and frames -----------------------------------------------------------------------


def agent_name(user) -> str:
    if user is None:
        return ""
    return user.first_name or user.get_full_name() or user.get_username()


def author_of(direction: str, has_author: bool) -> str:
    if direction == Message.Direction.INBOUND:
        return "customer"
    if direction == Message.Direction.NOTE:
        return "note"
    return "agent" if has_author else "system"


def message_frame(message: Message, *, name: str = "", attachments=()) -> dict:
    """The "message" frame of a stored message (customer sockets never get notes)."""
    return frame(
        message.pk,
        author_of(message.direction, message.author_id is not None),
        name=name,
        text=message.text,
        sent_at=message.created_at.isoformat(),
        attachments=[
            {
                "name": attachment.name,
                "url": reverse("chat:attachment", args=[attachment.pk]),
                "content_type": attachment.content_type,
            }
            for attachment in attachments
        ],
    )


def frame(message_id: int, author: str, *, name: str, text: str, sent_at: str, attachments=()):
    """A "message" frame from its parts (the batched writer has no Message instances).

    A customer's words go out with their personal data masked, as every agent view shows
    them (and as the thread stores them): the frame reaches the agents' consoles."""
    return {
        "type": "message",
        "id": message_id,
        "author": author,
        "name": name,
        "text": mask_text(text) if author == "customer" else text,
        "sent_at": sent_at,
        "attachments": list(attachments),
    }


def customer_status(conversation: Conversation, *, position: int | None = None) -> dict:
    """The "status" frame that tells the customer where their chat stands."""
    state = conversation.state
    if state == Conversation.State.WAITING:
        if position is None:
            position = queue_position(conversation)
        return {"type": "status", "state": "waiting", "position": position}
    if state == Conversation.State.ACTIVE:
        return {"type": "status", "state": "active", "agent": agent_name(conversation.agent)}
    if state == Conversation.State.OFFLINE:
        return {"type": "status", "state": "offline"}
    return {"type": "status", "state": "closed"}


# --- the transcript -------------------------------------------------------------------------


def transcript(conversation: Conversation, *, after: int, internal: bool) -> list[dict]:
    """Every stored message of the conversation after id ``after``, as frames (two queries).

    Customers (``internal=False``) never get notes.
    """
    messages = (
        Message.objects.filter(ticket_id=conversation.ticket_id, pk__gt=max(after, 0))
        .select_related("author", "sender")
        .prefetch_related("attachments")
        .order_by("pk")
    )
    if not internal:
        messages = messages.exclude(direction=Message.Direction.NOTE)
    customer_name = conversation.ticket.customer.name
    return [
        message_frame(
            message,
            name=customer_name
            if message.direction == Message.Direction.INBOUND
            else agent_name(message.author),
            attachments=message.attachments.all(),
        )
        for message in messages
    ]


def stored_frame(message_id: int) -> tuple[dict, bool] | None:
    """(frame, internal) of one stored message, for announcements made by tickets.live."""
    message = (
        Message.objects.select_related("author", "ticket__customer")
        .prefetch_related("attachments")
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        return None
    name = (
        message.ticket.customer.name
        if message.direction == Message.Direction.INBOUND
        else agent_name(message.author)
    )
    frame = message_frame(message, name=name, attachments=message.attachments.all())
    return frame, message.direction == Message.Direction.NOTE


# --- the queue ------------------------------------------------------------------------------
#
# A queue can hold thousands of chats in a rush, so nothing below reads or sends the whole
# of it: customers learn their own position, and agent consoles get the oldest
# CHAT_WAITING_LISTED chats and a count, then small "waiting_change" frames built once per
# change for every console (chat/protocol.py).


def _ahead_of(started_at, pk) -> Q:
    """The chats that waited longer than the one started at ``started_at`` with id ``pk``
    (the queue's order is started_at, then id)."""
    return Q(started_at__lt=started_at) | Q(started_at=started_at, pk__lt=pk)


def _waiting(queue_id=...):
    """The chats waiting: all of them, or one queue's (``None``: those with no queue)."""
    waiting = Conversation.objects.filter(state=Conversation.State.WAITING)
    return waiting if queue_id is ... else waiting.filter(queue_id=queue_id)


def queue_position(conversation: Conversation) -> int:
    """A waiting chat's 1-based position in its queue (one count query)."""
    ahead = _waiting(conversation.queue_id).filter(
        _ahead_of(conversation.started_at, conversation.pk)
    )
    return ahead.count() + 1


def positions_from(queue_id: int | None, started_at, pk: int) -> list[tuple[int, int, int]]:
    """(conversation id, ticket id, 1-based position) of the chats waiting in one queue at
    or behind the place (``started_at``, ``pk``): the only ones whose position a chat
    joining or leaving there moves (two queries). A chat joining at the end moves nobody
    else, so a rush of starts costs no position frames to those already waiting."""
    waiting = _waiting(queue_id)
    ahead = _ahead_of(started_at, pk)
    before = waiting.filter(ahead).count()
    rows = waiting.exclude(ahead).order_by("started_at", "pk").values_list("pk", "ticket_id")
    return [(row_pk, ticket_id, before + n) for n, (row_pk, ticket_id) in enumerate(rows, 1)]


def listed_limit() -> int:
    return max(1, settings.CHAT_WAITING_LISTED)


def _waiting_rows():
    first_text = (
        Message.objects.filter(ticket_id=OuterRef("ticket_id"), direction="inbound")
        .order_by("pk")
        .values("text")[:1]
    )
    return (
        _waiting()
        .select_related("ticket__customer", "queue")
        .annotate(preview=Subquery(first_text))
        .order_by("started_at", "pk")
    )


def waiting_entry(conversation: Conversation) -> dict:
    """One chat of the agents' waiting list (from `_waiting_rows`, with its preview)."""
    return {
        "conversation": conversation.pk,
        "reference": conversation.ticket.reference,
        "customer": conversation.ticket.customer.name,
        "queue": conversation.queue.slug if conversation.queue else "",
        "waiting_since": conversation.started_at.isoformat(),
        "preview": mask_text(conversation.preview or "")[:PREVIEW_CHARS],
    }


def waiting_snapshot() -> dict:
    """The agents' "waiting" frame: the oldest CHAT_WAITING_LISTED waiting chats, oldest
    first, and how many wait in all (two queries, whatever the queue's length)."""
    chats = [waiting_entry(c) for c in _waiting_rows()[: listed_limit()]]
    return {"type": "waiting", "chats": chats, "count": _waiting().count()}


def waiting_change(*, added=(), taken=(), left=(), updated=()) -> dict:
    """The agents' "waiting_change" frame after chats (ids) joined or left the queue, built
    once and sent to every console (at most four queries, whatever the queue's length).

    ``added`` carries only the chats that joined within the listed window (a chat joining
    behind it is only counted); ``fill`` the chats now at the window's last places, as many
    as left it, so a console that listed the oldest ones lists them again after merging.
    A chat taken or gone again before this is built is not "added". ``updated``: listed
    chats whose customer wrote (their entries again, for the preview), under "added".
    """
    limit = listed_limit()
    count = _waiting().count()
    listed = []
    if added or updated:
        rows = _waiting_rows().filter(pk__in=[*added, *updated])
        keys = _waiting().order_by("started_at", "pk").values_list("started_at", "pk")
        last = list(keys[limit - 1 : limit])
        if last:
            started_at, pk = last[0]
            rows = rows.filter(_ahead_of(started_at, pk) | Q(pk=pk))
        listed = [waiting_entry(c) for c in rows]
    gone = len(taken) + len(left)
    fill = []
    if gone:
        fill = [waiting_entry(c) for c in _waiting_rows()[max(limit - gone, 0) : limit]]
    return {
        "type": "waiting_change",
        "added": listed,
        "taken": list(taken),
        "left": list(left),
        "fill": fill,
        "count": count,
    }


# --- agents ---------------------------------------------------------------------------------


def available_agents(queue: Queue | None):
    """Staff online in the console for ``queue`` (its members; every agent when it has
    none, or for chats without a queue), each annotated with ``active_chats``."""
    users = get_user_model().objects.filter(
        is_staff=True,
        is_active=True,
        chat_presence__status=AgentPresence.Status.ONLINE,
        chat_presence__sockets__gt=0,
    )
    if queue is not None and queue.agents.exists():
        users = users.filter(queues=queue)
    return users.select_related("chat_presence").annotate(
        active_chats=Count(
            "chat_conversations",
            filter=Q(chat_conversations__state=Conversation.State.ACTIVE),
        )
    )


def agents_online(queue: Queue | None) -> bool:
    return available_agents(queue).exists()


def chat_frame(conversation: Conversation, *, agent) -> dict:
    """The "chat" frame: a conversation ``agent`` holds, with the customer panel (only
    masked contact details; links into the admin for the customer, wallets and tickets)
    and the macros that fit its ticket, rendered for its customer (tickets.macros).

    The panel is the ticket's customer's: a guest who typed a known contact is on a
    placeholder until verified, so of the customer they claim to be the frame carries
    only the name and the masked contact (``claim``), never a wallet or a ticket."""
    ticket = conversation.ticket
    customer = ticket.customer
    panel = customer_panel(customer, exclude_ticket=ticket)
    queue = conversation.queue
    return {
        "type": "chat",
        "conversation": conversation.pk,
        "reference": ticket.reference,
        "ticket_url": reverse("admin:tickets_ticket_change", args=[ticket.pk]),
        "state": conversation.state,
        "queue": {"slug": queue.slug, "name": queue.name} if queue else None,
        "verified_by_app": conversation.verified_by_app,
        "claim": claim_of(ticket),
        "macros": [
            {"title": macro.title, "text": macro.text}
            for macro in rendered_macros(ticket, agent=agent)
        ],
        "customer": {
            "name": customer.name,
            "url": reverse("admin:accounts_customer_change", args=[customer.pk]),
            # What the customer typed, masked like every other contact detail.
            "contact": _masked_contact(conversation.contact),
            "identities": [
                {
                    "kind": identity.kind,
                    "kind_display": str(identity.get_kind_display()),
                    "value": identity.masked_value,
                }
                for identity in panel.identities
                if identity.kind != "web"
            ],
            "wallets": [_wallet_panel(wallet) for wallet in panel.wallets],
            "earlier_tickets": [
                {
                    "reference": earlier.reference,
                    "subject": mask_text(earlier.subject),
                    "url": reverse("admin:tickets_ticket_change", args=[earlier.pk]),
                }
                for earlier in panel.earlier_tickets
            ],
        },
    }


def claim_of(ticket) -> dict | None:
    """Who a guest says they are, for the agent to verify: the claimed customer's name and
    the contact typed, masked; nothing else of theirs."""
    claimed = ticket.claimed_identity
    if claimed is None:
        return None
    return {"name": claimed.customer.name, "contact": claimed.masked_value}


def _wallet_panel(wallet) -> dict:
    return {
        "number": wallet.number,
        "url": reverse("admin:accounts_walletaccount_change", args=[wallet.pk]),
        "status": wallet.status,
        "status_label": str(wallet.get_status_display()),
        "lock_reason": wallet.lock_reason,
        "lock_reason_label": str(wallet.get_lock_reason_display()) if wallet.lock_reason else "",
        "balance": str(wallet.balance),
        "currency": wallet.currency,
        "recent_failed": [
            {
                "reference": txn.reference,
                "amount": str(txn.amount),
                "currency": txn.currency,
                "merchant": txn.merchant,
                "failure_reason": txn.failure_reason,
                "failure_label": str(txn.get_failure_reason_display()),
                "occurred_at": txn.occurred_at.isoformat(),
            }
            for txn in wallet.recent_transactions
            if txn.status == "failed"
        ],
    }


def held_conversations(user) -> list[Conversation]:
    return list(
        Conversation.objects.filter(agent=user, state=Conversation.State.ACTIVE)
        .select_related("ticket__customer", "ticket__claimed_identity__customer", "agent", "queue")
        .order_by("accepted_at", "pk")
    )


def hello_frame(user) -> dict:
    presence = AgentPresence.objects.filter(user=user).first()
    agents = (
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .select_related("chat_presence")
        .order_by("username")
    )
    return {
        "type": "hello",
        "agent": {
            "id": user.pk,
            "name": agent_name(user),
            "presence": presence.status if presence else AgentPresence.Status.OFFLINE,
            "max_chats": presence.limit if presence else settings.CHAT_MAX_CHATS,
        },
        "queues": [{"slug": queue.slug, "name": queue.name} for queue in Queue.objects.all()],
        "agents": [
            {
                "id": agent.pk,
                "name": agent_name(agent),
                "presence": _presence_of(agent),
            }
            for agent in agents
        ],
    }


def _presence_of(user) -> str:
    try:
        return user.chat_presence.status
    except AgentPresence.DoesNotExist:
        return AgentPresence.Status.OFFLINE


def _masked_contact(contact: str) -> str:
    if not contact:
        return ""
    return mask_identity("email" if "@" in contact else "phone", contact)


def ended_for_rating(conversation_id: int) -> Conversation | None:
    """The session's chat if it ended within RATING_WINDOW: its socket may still rate it."""
    return (
        Conversation.objects.select_related("ticket__customer", "agent", "queue")
        .filter(
            pk=conversation_id,
            state=Conversation.State.ENDED,
            ended_at__gte=timezone.now() - RATING_WINDOW,
        )
        .first()
    )


def ticket_and_last_message(conversation_id: int) -> tuple[int, int]:
    """The conversation's ticket id and its last message id (what a console has read)."""
    ticket_id = Conversation.objects.values_list("ticket_id", flat=True).get(pk=conversation_id)
    last = Message.objects.filter(ticket_id=ticket_id).order_by("-pk").values_list("pk").first()
    return ticket_id, last[0] if last else 0
