import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from tickets import actions, live

from . import factories

pytestmark = pytest.mark.django_db(transaction=True)


def listen_while(work, *, expect: int) -> list[dict]:
    """Run ``work`` (sync) while a channel listens on the agents' group; collect events."""
    layer = get_channel_layer()

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add(live.AGENTS_GROUP, channel)
        await sync_to_async(work)()
        events = []
        try:
            for _ in range(expect + 1):
                events.append(await asyncio.wait_for(layer.receive(channel), timeout=1))
        except TimeoutError:
            pass
        await layer.group_discard(live.AGENTS_GROUP, channel)
        return events

    return async_to_sync(scenario)()


def test_a_batch_is_announced_together_after_its_commit():
    def import_batch():
        with live.collected(), transaction.atomic():
            actions.receive(factories.email("one@example.com"))
            actions.receive(factories.email("two@example.com"))

    events = listen_while(import_batch, expect=2)
    assert [e["type"] for e in events] == ["ticket.updated", "ticket.updated"]


def test_nothing_is_announced_for_a_rolled_back_batch():
    def failing_batch():
        with live.collected():
            try:
                with transaction.atomic():
                    actions.receive(factories.email("one@example.com"))
                    raise RuntimeError("crash mid-batch")
            except RuntimeError:
                pass

    assert listen_while(failing_batch, expect=0) == []
