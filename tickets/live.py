"""Live fan-out to websocket viewers, after the data is committed.

Storage, not the layer, guarantees delivery: a viewer that misses an event catches up with
`resume`. So a failed broadcast is logged and dropped, never raised into the caller.
"""

import logging
import threading
from contextlib import contextmanager

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

_collector = threading.local()


def ticket_group(ticket_id: int) -> str:
    return f"ticket_{ticket_id}"


def broadcast_on_commit(message) -> None:
    """Announce ``message`` once the current transaction commits (never if it rolls back)."""
    event = _event(message)
    transaction.on_commit(lambda: _publish(event), robust=True)


@contextmanager
def collected():
    """Hold the announcements committed inside the block and send them together at its end:
    a batch of imported mail takes one trip through the layer, not one per message."""
    previous = getattr(_collector, "events", None)
    events = _collector.events = []
    try:
        yield
    finally:
        _collector.events = previous
        _send(events)


def _publish(event: dict) -> None:
    events = getattr(_collector, "events", None)
    if events is not None:
        events.append(event)
    else:
        _send([event])


def broadcast_message(message) -> None:
    """Announce ``message`` now (outside a transaction, e.g. a delivery status change)."""
    _send([_event(message)])


def _event(message) -> dict:
    return {
        "type": "ticket.message",
        "ticket": message.ticket_id,
        "message": message.pk,
        "direction": message.direction,
    }


def _send(events: list[dict]) -> None:
    layer = get_channel_layer()
    if layer is None or not events:
        return

    async def send_all():
        for event in events:
            await layer.group_send(ticket_group(event["ticket"]), event)

    try:
        async_to_sync(send_all)()
    except Exception:
        logger.warning("live broadcast of %s events failed", len(events), exc_info=True)
