"""Live announcements of the chat, sent through the channel layer after commit.

Group names say what they hold: ``ticket_<id>`` (tickets.live) carries one conversation's
frames to its customer and agent sockets, ``chat_agents`` every agent console (the waiting
list), ``chat_agent_<user id>`` one agent's consoles (chats handed to or taken from them).

Storage, not the layer, guarantees delivery (a socket that misses a frame catches up with
``resume``), so a failed send is logged, never raised into the action that committed.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from tickets.live import ticket_group

logger = logging.getLogger(__name__)

AGENTS_GROUP = "chat_agents"

__all__ = ["AGENTS_GROUP", "agent_group", "announce_on_commit", "send_now", "ticket_group"]


def agent_group(user_id: int) -> str:
    return f"chat_agent_{user_id}"


def announce_on_commit(events: list[tuple[str, dict]]) -> None:
    """Send ``(group, event)`` pairs once the current transaction commits."""
    if events:
        pending = list(events)
        transaction.on_commit(lambda: send_now(pending), robust=True)


def send_now(events: list[tuple[str, dict]]) -> None:
    """Send from synchronous code (an action's on_commit, a view)."""
    layer = get_channel_layer()
    if layer is None or not events:
        return
    try:
        async_to_sync(send_all)(layer, events)
    except Exception:
        logger.warning("chat announcement of %s events failed", len(events), exc_info=True)


async def send_all(layer, events: list[tuple[str, dict]]) -> None:
    """Send each event; one failing (Redis away) does not stop the others."""
    failed = 0
    for group, event in events:
        try:
            await layer.group_send(group, event)
        except Exception:
            failed += 1
            if failed == 1:
                logger.warning("chat announcement to %s failed", group, exc_info=True)
    if failed > 1:
        logger.warning("%s chat announcements failed", failed)
