"""The batched write path of chat messages, one per process (per event loop).

Every socket hands its messages to the writer, which waits a few milliseconds for more,
then stores all of them with one transaction on the database thread (one thread hop per
batch, not per message, see `chat.messages.store_messages`). Only then is each sender
acknowledged and each message broadcast, so nothing is acknowledged or shown before it is
committed. A batch that fails tells each sender so (error "not_stored", with its
client_id), and the client sends it again.

Messages are stored in the order they were handed over, and a conversation's messages are
announced in that order; different conversations are announced concurrently.
"""

import asyncio
import logging
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils.translation import gettext_lazy as _

from . import messages
from .messages import Pending, Stored

logger = logging.getLogger(__name__)

OnStored = Callable[[Stored], Awaitable[None]]

NOT_STORED = _("The message was not stored; it is sent again.")


class Writer:
    def __init__(self):
        self._queue: list[tuple[Pending, OnStored]] = []
        self._task: asyncio.Task | None = None
        self.batches = 0  # for tests and the benchmark
        self.stored = 0

    def submit(self, pending: Pending, on_stored: OnStored) -> None:
        """Queue ``pending``; ``on_stored`` is awaited with its outcome after commit."""
        self._queue.append((pending, on_stored))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def drain(self) -> None:
        """Wait until everything submitted so far is stored and announced (tests)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        while self._queue:
            window = settings.CHAT_BATCH_WINDOW_MS
            if window > 0:
                await asyncio.sleep(window / 1000)
            size = max(1, settings.CHAT_BATCH_MAX)
            batch, self._queue[:size] = self._queue[:size], []
            pendings = [pending for pending, _callback in batch]
            try:
                results = await sync_to_async(_store)(pendings)
            except Exception:
                logger.exception("storing a batch of %s chat messages failed", len(batch))
                results = [
                    Stored(pending=pending, code="not_stored", detail=NOT_STORED)
                    for pending in pendings
                ]
            self.batches += 1
            self.stored += sum(1 for result in results if result.frame and not result.duplicate)
            await _announce(batch, results)


def _store(pendings: list[Pending]) -> list[Stored]:
    """`messages.store_messages` on the shared sync thread, keeping its database connection.

    channels' database_sync_to_async closes and reopens the connection around every call
    when CONN_MAX_AGE is 0 (the default): under load that was a reconnect per batch, some
    6% of daphne's time. A connection that broke is closed here, so the next batch opens a
    new one (what close_old_connections would have done).
    """
    try:
        return messages.store_messages(pendings)
    except (InterfaceError, OperationalError):
        connection.close()
        raise


async def _announce(batch, results: list[Stored]) -> None:
    by_conversation = defaultdict(list)
    for (pending, callback), result in zip(batch, results, strict=True):
        by_conversation[pending.conversation_id].append((callback, result))

    async def in_order(items):
        for callback, result in items:
            try:
                await callback(result)
            except Exception:
                logger.warning("announcing a stored chat message failed", exc_info=True)

    await asyncio.gather(*(in_order(items) for items in by_conversation.values()))


_writers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Writer]" = (
    weakref.WeakKeyDictionary()
)


def writer() -> Writer:
    """The running event loop's writer (daphne runs one loop per process)."""
    loop = asyncio.get_running_loop()
    current = _writers.get(loop)
    if current is None:
        current = _writers[loop] = Writer()
    return current
