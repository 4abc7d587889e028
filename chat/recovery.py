"""Catching up after the channel layer lost frames (a Redis restart), from storage.

Measured with channels-redis 4.3 and redis-py 8: across a Redis restart the pub/sub layer
comes back by itself (its receive task logs, waits a second, reconnects, and redis-py
subscribes again to every channel and group), but everything published while Redis was
away is gone, and group_send raises meanwhile. Sockets stay open, so their clients would
never know to ``resume``. So each process watches the layer: a failed send, a probe that
fails, or the pub/sub receiver's error marks trouble; once a probe goes through again,
every open chat socket of the process re-reads its conversations from storage and sends
what it has not sent yet (each socket remembers the ids it sent: nothing goes twice).
"""

import asyncio
import logging
import weakref

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

PROBE_SECONDS = 1.0
SETTLE_SECONDS = 1.5  # the pub/sub receiver retries a second after an error
PROBE_GROUP = "chat_probe"


class LayerWatch(logging.Filter):
    def __init__(self):
        super().__init__()
        self.sockets: weakref.WeakSet = weakref.WeakSet()
        self.trouble = False
        self.task: asyncio.Task | None = None

    def register(self, socket) -> None:
        self.sockets.add(socket)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._watch())

    def failed(self) -> None:
        self.trouble = True

    def filter(self, record: logging.LogRecord) -> bool:
        # channels_redis.pubsub logs this when its subscriber connection breaks.
        if "receive task" in str(record.msg):
            self.trouble = True
        return True

    async def _watch(self) -> None:
        layer = get_channel_layer()
        while self.sockets:
            await asyncio.sleep(PROBE_SECONDS)
            try:
                await layer.group_send(PROBE_GROUP, {"type": "chat.probe"})
            except Exception:
                self.trouble = True
                continue
            if self.trouble:
                self.trouble = False
                logger.warning("channel layer is back; chat sockets catch up from storage")
                await asyncio.sleep(SETTLE_SECONDS)
                await self.catch_up()

    async def catch_up(self) -> None:
        for socket in list(self.sockets):
            try:
                await socket.catch_up()
            except Exception:
                logger.warning("a chat socket could not catch up", exc_info=True)


_watches: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LayerWatch]" = (
    weakref.WeakKeyDictionary()
)


def watch() -> LayerWatch:
    loop = asyncio.get_running_loop()
    current = _watches.get(loop)
    if current is None:
        current = _watches[loop] = LayerWatch()
        logging.getLogger("channels_redis.pubsub").addFilter(current)
    return current
