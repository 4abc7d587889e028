"""The chat sockets' transport: what both consumers (chat.consumers) share below the protocol.

- ``DirectConsumer``: channels' JSON websocket consumer with the two of its internals that
  the chat bypasses for speed, each with its measurement (bench/chat_load.py). Look here
  first when upgrading channels.
- ``ChatSocket``: the frame limits (size, rate per socket and shared by a session's and a
  chat's sockets, shape; chat.protocol, chat.throttle), the error frames,
  the message memory (nothing sent twice), the catch-up bookkeeping (where storage was
  read up to) and group membership that survives a channel-layer outage.
"""

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.sessions import InstanceSessionWrapper
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from .protocol import CLOSE_RATE_LIMITED, CLOSE_TOO_BIG, ERRORS, parse_frame, too_big
from .recovery import watch
from .throttle import session_key_part, shared_allowed_async, socket_bucket

logger = logging.getLogger(__name__)

SHOWN_MEMORY = 2000  # message ids a socket remembers having sent, so none goes twice


class DirectConsumer(AsyncJsonWebsocketConsumer):
    """channels' AsyncJsonWebsocketConsumer with two shortcuts through its internals.

    Both were measured with bench/chat_load.py (real daphne, chat against a bare relay):

    - ``dispatch``: no hop to channels' one shared sync thread per frame and event. With it,
      every socket of the process waited behind a batch of messages being stored there.
      Dropping it, together with the agent's lookup-free message to a held chat
      (AgentConsumer.receive_json), took C=50 M=40 on the in-memory layer from 257 to 903
      messages a second (commit 83d2ff1).
    - ``send_json`` through ``_server_send``: frames go to the server's own send, past
      channels' session wrapper (some 3% of daphne's time per chat message).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.send_frame = None  # the server's send (_server_send), found on the first frame

    async def dispatch(self, message: dict) -> None:
        """Each frame and event straight to its handler. Channels would first hop to the
        one shared sync thread to close stale database connections, per frame: behind a
        batch being stored there, every socket of the process waited (bench/chat_load.py;
        figures in the class docstring). The chat's handlers touch the database only
        through database_sync_to_async, which closes stale connections itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    def _server_send(self) -> Callable[[dict], Awaitable[None]]:
        """The server's own send. channels' session middleware wraps it to save a changed
        session on HTTP responses; on a socket it only costs each frame a look at the
        session (some 3% of daphne's time per chat message, bench/chat_load.py)."""
        wrapper = getattr(self.base_send, "__self__", None)
        if isinstance(wrapper, InstanceSessionWrapper):
            return wrapper.real_send
        return self.base_send

    async def send_json(self, content, close: bool = False) -> None:
        """A frame, encoded as channels would, sent without its layers of coroutines."""
        try:
            if self.send_frame is None:
                self.send_frame = self._server_send()
            await self.send_frame({"type": "websocket.send", "text": json.dumps(content)})
            if close:
                await self.close()
        except Exception:  # the socket went away meanwhile
            logger.debug("send on a closed chat socket dropped", exc_info=True)


def _language(scope) -> str:
    """The socket's language: the language cookie, else Accept-Language, else the default."""
    from django.utils.translation.trans_real import (
        get_supported_language_variant,
        parse_accept_lang_header,
    )

    candidates = [scope.get("cookies", {}).get(settings.LANGUAGE_COOKIE_NAME, "")]
    for name, value in scope.get("headers", ()):
        if name == b"accept-language":
            candidates += [code for code, _q in parse_accept_lang_header(value.decode("latin-1"))]
    for code in candidates:
        if code and code != "*":
            try:
                return get_supported_language_variant(code)
            except LookupError:
                continue
    return settings.LANGUAGE_CODE


class ChatSocket(DirectConsumer):
    """What both sockets share: the limits, the error frames and the message memory.

    A subclass answers frames in ``receive_json`` (a JSON object with a string "type",
    already checked); a ValidationError or PermissionDenied there becomes an error frame.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.bucket = socket_bucket()
        self.closing = False
        self.shown: OrderedDict[int, None] = OrderedDict()
        # conversation -> the message id up to which this socket read storage (resume, the
        # chat frame, a catch-up). Not raised by live frames or acks: ids are global and
        # commit order is not id order, so a frame with a higher id may go before a lower
        # one that the layer lost (found by the end-to-end Redis restart test).
        self.high: dict[int, int] = {}
        self.forgotten = 0  # the highest id dropped from ``shown``: never re-read below it
        self.language = settings.LANGUAGE_CODE
        self.max_frame_bytes = settings.CHAT_MAX_FRAME_BYTES  # per socket, read once
        self.max_message_chars = settings.CHAT_MAX_MESSAGE_CHARS

    async def websocket_connect(self, message: dict) -> None:
        self.language = _language(self.scope)
        await super().websocket_connect(message)

    async def websocket_receive(self, message: dict) -> None:
        if self.closing:
            return
        text = message.get("text")
        if text is None:
            await self.error("binary")
            return
        if too_big(text, self.max_frame_bytes):
            self.closing = True
            await self.close(code=CLOSE_TOO_BIG)
            return
        if not self.bucket.take():
            await self.rate_limited()
            return
        content = parse_frame(text)
        if content is None:
            await self.error("bad_frame")
            return
        if not await shared_allowed_async(self.rate_names(content)):
            await self.rate_limited(content)
            return
        try:
            await self.receive_json(content)
        except ValidationError as exc:
            await self.error("invalid", " ".join(str(m) for m in exc.messages), content=content)
        except PermissionDenied as exc:
            await self.error("forbidden", str(exc), content=content)

    def rate_names(self, content: dict) -> list[str]:
        """The shared counters (chat.throttle.shared_allowed) a frame counts against: its
        session's here; the consumers add their chat's."""
        session = self.scope.get("session")
        key = session.session_key if session is not None else None
        return [f"session:{session_key_part(key)}"] if key else []

    async def rate_limited(self, content: dict | None = None) -> None:
        """Too many frames from this socket, its session or its chat: told, then closed
        (4429); the frame is not handled, so nothing of it is stored."""
        self.closing = True
        client_id = content.get("client_id") if isinstance(content, dict) else None
        extra = {"client_id": client_id} if isinstance(client_id, str) else {}
        await self.error("rate_limited", content=content, **extra)
        await self.close(code=CLOSE_RATE_LIMITED)

    async def error(self, code: str, detail: str = "", *, content=None, **extra) -> None:
        """An error frame in the socket's language; about the frame's chat if it named one."""
        with translation.override(self.language):
            frame = {"type": "error", "code": code, "detail": str(detail or ERRORS.get(code, ""))}
        if isinstance(content, dict) and isinstance(content.get("conversation"), int):
            frame["conversation"] = content["conversation"]
        frame.update(extra)
        await self.send_json(frame)

    # --- the message memory: nothing sent twice ---

    async def send_message(self, conversation: int, frame: dict) -> None:
        """Send a message frame unless this socket sent that message already."""
        if self.remember(frame["id"]):
            await self.send_json(frame)

    def remember(self, message_id: int) -> bool:
        """True the first time this socket sends message ``message_id``."""
        if message_id in self.shown:
            return False
        self.shown[message_id] = None
        if len(self.shown) > SHOWN_MEMORY:
            forgotten, _none = self.shown.popitem(last=False)
            self.forgotten = max(self.forgotten, forgotten)
        return True

    # --- catch-up bookkeeping: where storage was read up to ---

    def read_from(self, conversation: int) -> int:
        """Where a catch-up reads storage from: what was read before, or what ``shown``
        can no longer vouch for."""
        return max(self.high.get(conversation, 0), self.forgotten)

    def read_up_to(self, conversation: int, frames: list[dict]) -> None:
        """Storage of ``conversation`` was read up to the highest of ``frames``."""
        if frames:
            self.mark_read(conversation, max(frame["id"] for frame in frames))

    def mark_read(self, conversation: int, up_to: int) -> None:
        """Storage of ``conversation`` counts as read up to message id ``up_to`` (a resume
        asked for what follows it; a held chat's frame was built with it)."""
        self.high[conversation] = max(self.high.get(conversation, 0), up_to)

    # --- groups: a layer outage delays joining, it does not end the socket ---

    async def group_add(self, group: str) -> None:
        try:
            await self.channel_layer.group_add(group, self.channel_name)
        except Exception:
            watch().failed()
            logger.warning("joining %s failed; caught up once the layer is back", group)
            asyncio.get_running_loop().create_task(self._join_later(group))

    async def _join_later(self, group: str) -> None:
        for _attempt in range(60):
            await asyncio.sleep(1)
            if self.closing:
                return
            try:
                await self.channel_layer.group_add(group, self.channel_name)
                return
            except Exception:
                logger.debug("joining %s failed again", group)

    async def group_discard(self, group: str) -> None:
        try:
            await self.channel_layer.group_discard(group, self.channel_name)
        except Exception:
            logger.info("leaving %s failed", group, exc_info=True)
