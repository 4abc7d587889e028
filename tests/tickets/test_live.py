import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from tickets import actions, live

from . import factories

pytestmark = pytest.mark.django_db(transaction=True)


def listen_while(work, *, tickets, expect: int) -> list[dict]:
    """Run ``work`` (sync) while a channel listens on the tickets' groups (what the chat
    sockets of those tickets hear); collect events."""
    layer = get_channel_layer()
    groups = [live.ticket_group(ticket.pk) for ticket in tickets]

    async def scenario():
        channel = await layer.new_channel()
        for group in groups:
            await layer.group_add(group, channel)
        await sync_to_async(work)()
        events = []
        try:
            for _ in range(expect + 1):
                events.append(await asyncio.wait_for(layer.receive(channel), timeout=1))
        except TimeoutError:
            pass
        for group in groups:
            await layer.group_discard(group, channel)
        return events

    return async_to_sync(scenario)()


def open_tickets(*senders):
    return [actions.receive(factories.chat(sender)).ticket for sender in senders]


def test_a_batch_is_announced_together_after_its_commit():
    tickets = open_tickets("web-one", "web-two")

    def import_batch():
        with live.collected(), transaction.atomic():
            actions.receive(factories.chat("web-one", text="again"))
            actions.receive(factories.chat("web-two", text="again"))

    events = listen_while(import_batch, tickets=tickets, expect=2)
    assert [e["type"] for e in events] == ["ticket.message", "ticket.message"]
    assert [e["ticket"] for e in events] == [ticket.pk for ticket in tickets]


def test_nothing_is_announced_for_a_rolled_back_batch():
    tickets = open_tickets("web-one")

    def failing_batch():
        with live.collected():
            try:
                with transaction.atomic():
                    actions.receive(factories.chat("web-one", text="again"))
                    raise RuntimeError("crash mid-batch")
            except RuntimeError:
                pass

    assert listen_while(failing_batch, tickets=tickets, expect=0) == []
