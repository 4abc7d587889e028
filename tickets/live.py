"""Live fan-out to websocket viewers. Called from `transaction.on_commit` only."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def ticket_group(ticket_id: int) -> str:
    return f"ticket_{ticket_id}"


AGENTS_GROUP = "agents"


def broadcast_message(message) -> None:
    """Tell everyone watching the ticket, and the agents' lists, that a message was stored."""
    layer = get_channel_layer()
    if layer is None:
        return
    event = {
        "type": "ticket.message",
        "ticket": message.ticket_id,
        "message": message.pk,
        "direction": message.direction,
    }

    async def send_both():
        await layer.group_send(ticket_group(message.ticket_id), event)
        await layer.group_send(AGENTS_GROUP, {**event, "type": "ticket.updated"})

    try:
        async_to_sync(send_both)()
    except Exception:
        # Storage, not the layer, guarantees delivery: viewers catch up with `resume`.
        logger.warning("live broadcast of message %s failed", message.pk, exc_info=True)
