"""Live fan-out to websocket viewers, after the data is committed.

Storage, not the layer, guarantees delivery: a viewer that misses an event catches up with
`resume`. So a failed broadcast is logged and dropped, never raised into the caller.

Two kinds of announcement: a ticket's new message, to that ticket's group (its viewers),
and "tickets changed" (created, updated, a message), to the inbox group that the agents'
inbox pages hold (workspace.consumers): one announcement per commit, naming each ticket
once, whatever the number of changes in the transaction.
"""

import logging
import threading
from contextlib import contextmanager

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

_collector = threading.local()


INBOX_GROUP = "inbox"
INBOX_CHANGED = "inbox.changed"

_changed = threading.local()


def ticket_group(ticket_id: int) -> str:
    return f"ticket_{ticket_id}"


def tickets_changed(ticket_ids) -> None:
    """Tell the inbox that these tickets changed, once the current transaction commits.
    Every change of the transaction adds its ids to one pending set; the first commit
    callback sends the set and empties it, the others find it empty."""
    pending = getattr(_changed, "ids", None)
    if pending is None:
        pending = _changed.ids = set()
    pending.update(ticket_ids)
    transaction.on_commit(_announce_changed, robust=True)


def _announce_changed() -> None:
    ids, _changed.ids = getattr(_changed, "ids", None), set()
    if ids:
        _publish({"type": INBOX_CHANGED, "tickets": sorted(ids)})


def broadcast_on_commit(messages: list[tuple[int, int, str]]) -> None:
    """Announce new messages, (ticket id, message id, direction) each, once the current
    transaction commits (never if it rolls back)."""
    events = [
        _event(ticket_id, message_id, direction) for ticket_id, message_id, direction in messages
    ]
    transaction.on_commit(lambda: [_publish(event) for event in events], robust=True)
    tickets_changed({ticket_id for ticket_id, _message, _direction in messages})


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
    _send([_event(message.ticket_id, message.pk, message.direction)])


def _event(ticket_id: int, message_id: int, direction: str) -> dict:
    return {
        "type": "ticket.message",
        "ticket": ticket_id,
        "message": message_id,
        "direction": direction,
    }


def _group(event: dict) -> str:
    return INBOX_GROUP if event["type"] == INBOX_CHANGED else ticket_group(event["ticket"])


def _send(events: list[dict]) -> None:
    layer = get_channel_layer()
    if layer is None or not events:
        return

    async def send_all():
        for event in events:
            await layer.group_send(_group(event), event)

    try:
        async_to_sync(send_all)()
    except Exception:
        logger.warning("live broadcast of %s events failed", len(events), exc_info=True)
