"""The chat sockets: /ws/chat/ (customers) and /ws/agent/ (agents). Frames: chat/protocol.py.

Thin: each frame is checked (chat.protocol; its size, rate and shape already in
chat.sockets.ChatSocket) and handed to chat.actions, through the batched writer
(chat.writer) for messages and `database_sync_to_async` for the rest; then frames are sent.
Delivery rests on storage: a frame the layer loses is found again by ``resume``.
"""

import asyncio
import logging
import time

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.utils import translation

from tickets import actions as ticket_actions
from tickets.diagnosis import mentions_failed_payment

from . import access, actions, live, selectors
from .messages import Pending, Stored
from .protocol import CLOSE_FORBIDDEN, CLOSE_SIGNED_OUT, message_fields, resume_after
from .protocol import MAX_CLIENT_ID as MAX_CLIENT_ID  # chat.api reads it from here
from .recovery import watch
from .sockets import ChatSocket
from .writer import writer

logger = logging.getLogger(__name__)

SESSION_KEY = "chat_conversation"  # the session's conversation id (set by /chat/start/)


class ChatConsumer(ChatSocket):
    """What both consumers answer alike: the writer's callback (ack, then broadcast) and
    the typing hint."""

    async def stored(self, result: Stored) -> None:
        """The writer's callback: ack the sender (or tell it why not), then broadcast."""
        conversation = result.pending.conversation_id
        if result.frame is None:
            with translation.override(self.language):
                detail = str(result.detail)
            frame = {"type": "error", "code": result.code, "detail": detail}
            frame["client_id"] = result.pending.client_id
            await self.send_json(self.for_me(frame, conversation))
            return
        ack = {"type": "ack", "client_id": result.pending.client_id, "id": result.message_id}
        self.remember(result.message_id)
        await self.send_json(self.for_me(ack, conversation))
        if result.duplicate:
            return  # announced when it was first stored; resume covers a lost announcement
        try:
            await self.channel_layer.group_send(
                live.ticket_group(result.ticket_id),
                {
                    "type": "chat.message",
                    "conversation": conversation,
                    "frame": result.frame,
                    "internal": result.internal,
                    "exclude": self.channel_name,
                },
            )
        except Exception:
            watch().failed()
            logger.warning("chat broadcast failed; receivers catch up from storage", exc_info=True)

    def for_me(self, frame: dict, conversation: int) -> dict:
        """A frame about ``conversation`` as this socket's side expects it."""
        return frame

    async def relay_typing(self, ticket_id: int, conversation: int, *, author: str) -> None:
        """Tell the other side someone is typing: not stored, so a layer failure only
        loses the hint (the socket stays open and catches up when the layer is back)."""
        try:
            await self.channel_layer.group_send(
                live.ticket_group(ticket_id),
                {
                    "type": "chat.typing",
                    "conversation": conversation,
                    "author": author,
                    "exclude": self.channel_name,
                },
            )
        except Exception:
            watch().failed()
            logger.info("typing relay failed", exc_info=True)


class CustomerConsumer(ChatConsumer):
    conversation_id = None
    ticket_id = None
    rating_only = False  # joined a chat that has ended: it may rate it and read it, no more
    explaining: asyncio.Task | None = None  # the payment explanation under way

    async def connect(self):
        await self.accept()
        session = self.scope.get("session")
        conversation_id = session.get(SESSION_KEY) if session is not None else None
        conversation = None
        if isinstance(conversation_id, int):
            conversation = await database_sync_to_async(actions.customer_connected)(conversation_id)
            if conversation is None:
                ended = database_sync_to_async(selectors.ended_for_rating)
                conversation = await ended(conversation_id)
                self.rating_only = conversation is not None
        if conversation is None:
            if isinstance(conversation_id, int):  # counted by customer_connected
                await database_sync_to_async(actions.customer_disconnected)(conversation_id)
            self.closing = True
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.conversation = conversation
        self.conversation_id = conversation.pk
        self.ticket_id = conversation.ticket_id
        self.customer_name = conversation.ticket.customer.name
        if self.rating_only:
            await self.send_json({"type": "status", "state": "closed"})
            return
        await self.group_add(live.ticket_group(self.ticket_id))
        status = await database_sync_to_async(selectors.customer_status)(conversation)
        await self.send_json(status)
        watch().register(self)

    async def catch_up(self):
        """After a layer outage: the status now, and every message not sent yet."""
        if self.conversation_id is None or self.closing:
            return

        def load():
            conversation = actions.session_conversation(self.conversation_id)
            after = self.read_from(self.conversation_id)
            frames = selectors.transcript(self.conversation, after=after, internal=False)
            status = selectors.customer_status(conversation) if conversation else None
            return status or {"type": "status", "state": "closed"}, frames

        status, frames = await database_sync_to_async(load)()
        await self.send_json(status)
        for frame in frames:
            await self.send_message(self.conversation_id, frame)
        self.read_up_to(self.conversation_id, frames)

    def rate_names(self, content: dict) -> list[str]:
        names = super().rate_names(content)
        if self.conversation_id is not None:
            names.append(f"conversation:{self.conversation_id}:customer")
        return names

    async def stored(self, result: Stored) -> None:
        """The writer's callback; then, for a new line that speaks of a failed payment,
        the explanation, beside the writer (it arrives as a message, chat.actions
        .explain_failed_payment)."""
        await super().stored(result)
        if (
            result.frame is not None
            and not result.duplicate
            and mentions_failed_payment(result.pending.text)
        ):
            self.explaining = asyncio.get_running_loop().create_task(self.explain())

    async def explain(self) -> None:
        try:
            await database_sync_to_async(actions.explain_failed_payment)(
                self.conversation_id, language=self.language
            )
        except Exception:
            logger.warning("the payment explanation was not posted", exc_info=True)

    async def disconnect(self, code):
        if self.conversation_id is not None:
            if not self.rating_only:
                await self.group_discard(live.ticket_group(self.ticket_id))
            await database_sync_to_async(actions.customer_disconnected)(self.conversation_id)

    async def receive_json(self, content, **kwargs):
        kind = content["type"]
        if self.rating_only and kind not in ("rating", "resume"):
            client_id = content.get("client_id") if kind == "message" else None
            extra = {"client_id": client_id} if isinstance(client_id, str) else {}
            await self.error("closed", **extra)
            return
        if kind == "message":
            text, client_id = message_fields(content, max_chars=self.max_message_chars)
            pending = Pending(
                conversation_id=self.conversation_id,
                client_id=client_id,
                text=text,
                kind="customer",
                name=self.customer_name,
            )
            writer().submit(pending, self.stored)
        elif kind == "typing":
            await self.relay_typing(self.ticket_id, self.conversation_id, author="customer")
        elif kind == "resume":
            await self.resume(content.get("after"))
        elif kind == "close":
            await database_sync_to_async(actions.close)(self.conversation)
        elif kind == "rating":
            await database_sync_to_async(actions.rate)(
                self.conversation,
                score=content.get("score"),
                comment=str(content.get("comment") or ""),
            )
        else:
            await self.error("bad_frame")

    async def resume(self, after):
        after = resume_after(after)
        self.mark_read(self.conversation_id, after)

        def load():
            frames = selectors.transcript(self.conversation, after=after, internal=False)
            ticket_actions.mark_shown(f["id"] for f in frames if f["author"] == "agent")
            return frames

        frames = await database_sync_to_async(load)()
        for frame in frames:
            await self.send_message(self.conversation_id, frame)
        self.read_up_to(self.conversation_id, frames)

    # --- group events ---

    async def chat_message(self, event):
        if event.get("exclude") == self.channel_name or event.get("internal"):
            return
        await self.send_message(self.conversation_id, event["frame"])

    async def ticket_message(self, event):
        """A message stored elsewhere (an upload, a reply from the ticket page)."""
        if event.get("direction") == "note" or event["message"] in self.shown:
            return
        found = await database_sync_to_async(selectors.stored_frame)(event["message"])
        if found is not None and not found[1]:
            await self.send_message(self.conversation_id, found[0])

    async def chat_typing(self, event):
        if event.get("exclude") != self.channel_name and event.get("author") != "customer":
            await self.send_json({"type": "typing", "author": event["author"]})

    async def chat_status(self, event):
        await self.send_json(event["frame"])


class AgentConsumer(ChatConsumer):
    """An agent's console. Open while its session signs in a verified agent: checked at
    connect, again beside a frame when the last check is older than
    CHAT_AGENT_RECHECK_SECONDS (``still_agent``; a refusal closes the socket, 4401 or
    4403), and at once when chat.revocation says the account or roles changed
    (``agent_revoke``). Relayed frames of held chats (``chat_message``, ``chat_typing``)
    cost no check: the revocation event closes the socket when access ends, and the
    events that read storage ask ``still_agent`` too."""

    user = None
    session_key = None
    checked_at = float("-inf")  # time.monotonic() of the last check of access
    checking: asyncio.Task | None = None  # a check of access under way beside the frames
    framed_at = float("-inf")  # time.monotonic() of the agent's last frame

    async def connect(self):
        await self.accept()
        user = self.scope.get("user")
        session = self.scope.get("session")
        allowed = user is not None and await database_sync_to_async(access.agent_allowed)(
            user, session
        )
        if not allowed:
            self.closing = True
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.user = user
        self.user_id = user.pk  # read once: scope["user"] is a lazy object
        self.session_key = session.session_key
        self.checked_at = time.monotonic()
        self.name = selectors.agent_name(user)
        self.tickets: dict[int, int] = {}  # ticket id -> conversation id, of chats held
        await database_sync_to_async(actions.agent_connected)(user)
        await self.group_add(live.AGENTS_GROUP)
        await self.group_add(live.agent_group(user.pk))
        hello, waiting, held = await database_sync_to_async(self.opening)()
        await self.send_json(hello)
        await self.send_json(waiting)
        for frame in held:
            await self.hold(frame)
        watch().register(self)

    async def catch_up(self):
        """After a layer outage: the waiting list, and every message of the held chats not
        sent yet (notes included)."""
        if self.user is None or self.closing:
            return

        def load():
            frames = []
            for conversation in selectors.held_conversations(self.user):
                after = self.read_from(conversation.pk)
                for frame in selectors.transcript(conversation, after=after, internal=True):
                    frames.append({**frame, "conversation": conversation.pk})
            return selectors.waiting_snapshot(), frames

        waiting, frames = await database_sync_to_async(load)()
        await self.send_json(waiting)
        for frame in frames:
            await self.send_message(frame["conversation"], frame)
        for conversation in {frame["conversation"] for frame in frames}:
            self.read_up_to(conversation, [f for f in frames if f["conversation"] == conversation])

    def opening(self):
        with translation.override(self.language):
            held = [
                selectors.chat_frame(conversation, agent=self.user)
                for conversation in selectors.held_conversations(self.user)
            ]
            return selectors.hello_frame(self.user), selectors.waiting_snapshot(), held

    async def hold(self, frame: dict) -> None:
        conversation = frame["conversation"]
        ticket_id, last_id = await database_sync_to_async(selectors.ticket_and_last_message)(
            conversation
        )
        self.tickets[ticket_id] = conversation
        self.mark_read(conversation, last_id)
        await self.group_add(live.ticket_group(ticket_id))
        await self.send_json(frame)

    async def disconnect(self, code):
        self.closing = True  # a check of access still under way closes nothing now
        if self.user is None:
            return
        for ticket_id in list(self.tickets):
            await self.group_discard(live.ticket_group(ticket_id))
        await self.group_discard(live.AGENTS_GROUP)
        await self.group_discard(live.agent_group(self.user.pk))
        await database_sync_to_async(actions.agent_disconnected)(self.user)

    def for_me(self, frame: dict, conversation: int) -> dict:
        return {**frame, "conversation": conversation}

    async def still_agent(self, *, now: bool = False) -> bool:
        """Whether this socket may go on serving its agent (chat.access): False once a
        check found their access ended (the socket is then closed with the code that says
        why).

        A verdict is good for CHAT_AGENT_RECHECK_SECONDS. When it is older, a check starts
        beside the frame, not in front of it: frames never queue behind a check (a check
        in front of each agent's frame once a second cut bench/chat_load.py's C=50 rate
        from 0.33x to 0.09x of the relay); the frame is served on the last verdict, at
        most one interval and one check old. With 0, and with ``now`` (a revocation
        event), the check comes first. The user is re-read by each check, so the actions
        called next check today's permissions."""
        if self.closing:
            return False
        interval = settings.CHAT_AGENT_RECHECK_SECONDS
        if now or interval <= 0:
            return await self.check_access()
        if time.monotonic() - self.checked_at >= interval and self.checking is None:
            self.checking = asyncio.get_running_loop().create_task(self.check_access())
        return True

    async def check_access(self) -> bool:
        started = time.monotonic()
        try:
            # On the shared sync thread, like every other read: off it (thread_sensitive
            # False) each check left a database connection open behind it.
            check = database_sync_to_async(access.current_agent)
            active = self.framed_at >= self.checked_at
            user, code = await check(self.session_key, self.user_id, active=active)
        finally:
            self.checking = None
        if self.closing:
            return False
        if user is None:
            logger.info("agent socket of user %s closed: access ended (%s)", self.user_id, code)
            self.closing = True
            await self.close(code=code)
            return False
        self.user = user
        self.checked_at = started
        return True

    def rate_names(self, content: dict) -> list[str]:
        names = super().rate_names(content)
        conversation = content.get("conversation")
        if isinstance(conversation, int) and not isinstance(conversation, bool):
            names.append(f"conversation:{conversation}:agent")
        return names

    async def receive_json(self, content, **kwargs):
        self.framed_at = time.monotonic()
        if not await self.still_agent():
            return
        kind = content["type"]
        db = database_sync_to_async
        if kind == "presence":
            await db(actions.set_presence)(self.user, status=str(content.get("status")))
            return
        if kind == "waiting_page":
            await self.send_json(await db(selectors.waiting_snapshot)())
            return
        if kind not in ("accept", "message", "note", "typing", "resume", "transfer", "close"):
            await self.error("bad_frame")
            return
        if kind in ("message", "note") and self.holds(content.get("conversation")):
            # A chat this console holds: no lookup (a query and a thread hop per message,
            # measured by bench/chat_load.py); the writer checks in the same transaction
            # that the chat is still this agent's and not ended.
            self.submit(kind, content, content["conversation"])
            return
        conversation = await db(actions.conversation_for_agent)(
            content.get("conversation"), user=self.user
        )
        if kind in ("message", "note"):
            self.submit(kind, content, conversation.pk)
        elif kind == "accept":
            await db(actions.accept)(conversation, acting_user=self.user)
        elif kind == "typing":
            if conversation.ticket_id in self.tickets:
                await self.relay_typing(conversation.ticket_id, conversation.pk, author="agent")
        elif kind == "resume":
            await self.resume(conversation, content.get("after"))
        elif kind == "transfer":
            await db(actions.transfer_to)(
                conversation,
                acting_user=self.user,
                agent_id=content.get("agent"),
                queue_slug=content.get("queue"),
            )
        elif kind == "close":
            await db(actions.close)(conversation, acting_user=self.user)

    def holds(self, conversation_id) -> bool:
        return (
            isinstance(conversation_id, int)
            and not isinstance(conversation_id, bool)
            and conversation_id in self.tickets.values()
        )

    def submit(self, kind: str, content: dict, conversation_id: int) -> None:
        text, client_id = message_fields(content, max_chars=self.max_message_chars)
        pending = Pending(
            conversation_id=conversation_id,
            client_id=client_id,
            text=text,
            kind="agent" if kind == "message" else "note",
            agent=self.user,
            name=self.name,
        )
        writer().submit(pending, self.stored)

    async def resume(self, conversation, after):
        after = resume_after(after)
        frames = await database_sync_to_async(selectors.transcript)(
            conversation, after=after, internal=True
        )
        self.mark_read(conversation.pk, after)
        for frame in frames:
            await self.send_json({**frame, "conversation": conversation.pk})
            self.remember(frame["id"])
        self.read_up_to(conversation.pk, frames)

    # --- group events ---

    async def agent_revoke(self, event):
        """chat.revocation: this session signed out (close), or the user's account or
        roles changed (check again now)."""
        session = event.get("session")
        if session is None:
            await self.still_agent(now=True)
        elif session == self.session_key and not self.closing:
            self.closing = True
            await self.close(code=CLOSE_SIGNED_OUT)

    async def chat_message(self, event):
        if event.get("exclude") == self.channel_name:
            return
        frame = {**event["frame"], "conversation": event["conversation"]}
        await self.send_message(event["conversation"], frame)

    async def ticket_message(self, event):
        conversation = self.tickets.get(event["ticket"])
        if conversation is None or not await self.still_agent():
            return
        found = await database_sync_to_async(selectors.stored_frame)(event["message"])
        if found is not None:
            await self.send_message(conversation, {**found[0], "conversation": conversation})

    async def chat_typing(self, event):
        if event.get("exclude") != self.channel_name and event.get("author") == "customer":
            await self.send_json(
                {"type": "typing", "conversation": event["conversation"], "author": "customer"}
            )

    async def chat_status(self, event):
        if not event.get("ended"):
            return  # the customer's own status frames (queue position, agent joined)
        await self.send_json(
            {"type": "status", "conversation": event["conversation"], "state": "closed"}
        )
        for ticket_id, conversation in list(self.tickets.items()):
            if conversation == event["conversation"]:
                del self.tickets[ticket_id]
                await self.group_discard(live.ticket_group(ticket_id))

    async def chat_presence(self, event):
        """Another agent's presence changed (chat.actions announces it to every console)."""
        await self.send_json(event["frame"])

    async def chat_waiting(self, event):
        """A change of the waiting list, built once by chat.actions for every console."""
        await self.send_json(event["frame"])

    async def chat_new(self, event):
        await self.send_json(
            {
                "type": "new_chat",
                "conversation": event["conversation"],
                "reference": event.get("reference", ""),
            }
        )

    async def chat_assigned(self, event):
        if not await self.still_agent():
            return
        try:
            conversation = await database_sync_to_async(actions.conversation_for_agent)(
                event["conversation"], user=self.user
            )
        except (ValidationError, PermissionDenied, ObjectDoesNotExist):
            # Gone, or no longer this agent's to hold (permission removed meanwhile).
            logger.info("assigned chat %s not held", event["conversation"], exc_info=True)
            return

        def build():
            with translation.override(self.language):
                return selectors.chat_frame(conversation, agent=self.user)

        await self.hold(await database_sync_to_async(build)())

    async def chat_released(self, event):
        for ticket_id, conversation in list(self.tickets.items()):
            if conversation == event["conversation"]:
                del self.tickets[ticket_id]
                await self.group_discard(live.ticket_group(ticket_id))
        await self.send_json(
            {"type": "status", "conversation": event["conversation"], "state": event["state"]}
        )
