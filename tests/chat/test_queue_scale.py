"""The queue at scale (issue 12): agent consoles get the oldest waiting chats and a count,
then small changes, never the whole queue; a start costs the same queries and bytes
whatever the queue's length; customers get a position frame only when theirs moved.

Before: every change sent every console the whole waiting list (20 consoles and 800
starts pushed 962 MB), and every waiting customer of the queue a position frame.
"""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import AGENTS
from chat import actions, live, selectors
from chat.models import AgentPresence, Conversation
from tests.conftest import make_staff
from tickets.models import Queue

from .conftest import (
    agent_client,
    connect_agent,
    drain,
    receive,
    receive_until,
    socket,
    start_chat,
)
from .queue_fill import fill_queue
from .test_consumers import customer_socket, send_message

pytestmark = pytest.mark.django_db(transaction=True)

LISTED = 50
DELTA_BYTES = 2_000  # one change, whatever the queue's length (an entry is some 250 bytes)


def size(frame: dict) -> int:
    return len(json.dumps(frame, ensure_ascii=False).encode())


def merged(listed: list[dict], change: dict) -> list[dict]:
    """What a console lists after a change (the rule of chat/protocol.py and console.js)."""
    gone = set(change["taken"]) | set(change["left"])
    by_id = {c["conversation"]: c for c in listed if c["conversation"] not in gone}
    by_id.update({c["conversation"]: c for c in change["added"] + change["fill"]})
    ordered = sorted(by_id.values(), key=lambda c: (c["waiting_since"], c["conversation"]))
    return ordered[:LISTED]


@pytest.fixture(autouse=True)
def _listed(settings):
    settings.CHAT_WAITING_LISTED = LISTED


async def open_console(client, *, online: bool = True):
    """A console socket and the "waiting" frame it got on connect (after "hello")."""
    console = socket("/ws/agent/", client)
    connected, _ = await console.connect()
    assert connected
    assert (await receive(console))["type"] == "hello"
    waiting = await receive(console)
    assert waiting["type"] == "waiting", waiting
    if online:
        await console.send_json_to({"type": "presence", "status": "online"})
        await asyncio.sleep(0.05)
    return console, waiting


def test_a_console_connecting_with_1000_waiting_gets_the_oldest_listed_and_the_count(agent):
    oldest_first = fill_queue(1000)
    client = agent_client(agent)

    async def scenario():
        console, waiting = await open_console(client, online=False)
        await console.disconnect()
        return waiting

    waiting = async_to_sync(scenario)()
    assert waiting["count"] == 1000
    assert [c["conversation"] for c in waiting["chats"]] == oldest_first[:LISTED]
    assert size(waiting) < LISTED * 400


def test_add_take_and_leave_reach_the_console_as_small_deltas(agent, other_agent):
    oldest_first = fill_queue(300)
    client = agent_client(agent)

    async def scenario():
        console, snapshot = await open_console(client)
        listed = snapshot["chats"]
        frames = []

        # A customer starts a chat: it joins behind the listed window, so only counted.
        _, started = await sync_to_async(start_chat)()
        frames.append(await receive_until(console, lambda f: f["type"] == "waiting_change"))
        assert frames[-1]["added"] == [] and frames[-1]["count"] == 301

        # Another agent takes the oldest: the console drops it and fills its last place.
        oldest = await sync_to_async(Conversation.objects.get)(pk=oldest_first[0])
        await sync_to_async(actions.accept)(oldest, acting_user=other_agent)
        frames.append(await receive_until(console, lambda f: f["type"] == "waiting_change"))
        assert frames[-1]["taken"] == [oldest_first[0]] and frames[-1]["count"] == 300
        assert [c["conversation"] for c in frames[-1]["fill"]] == [oldest_first[LISTED]]

        # A listed customer leaves (closes the chat while waiting).
        leaving = await sync_to_async(Conversation.objects.get)(pk=oldest_first[5])
        await sync_to_async(actions.close)(leaving)
        frames.append(await receive_until(console, lambda f: f["type"] == "waiting_change"))
        assert frames[-1]["left"] == [oldest_first[5]] and frames[-1]["count"] == 299

        # The console asks for a fresh page: the deltas it merged gave the same list.
        await console.send_json_to({"type": "waiting_page"})
        page = await receive_until(console, lambda f: f["type"] == "waiting")
        await console.disconnect()
        return listed, frames, page, started

    listed, frames, page, started = async_to_sync(scenario)()
    for change in frames:
        assert size(change) < DELTA_BYTES
        listed = merged(listed, change)
    assert listed == page["chats"] and page["count"] == 299
    assert [c["conversation"] for c in listed] == [
        pk for pk in oldest_first[1 : LISTED + 2] if pk != oldest_first[5]
    ]
    assert started["conversation"] not in {c["conversation"] for c in listed}


def test_a_new_chat_within_the_window_is_added_with_its_entry(agent):
    fill_queue(3)
    client = agent_client(agent)

    async def scenario():
        console = await connect_agent(client)
        _, started = await sync_to_async(start_chat)()
        change = await receive_until(console, lambda f: f["type"] == "waiting_change")
        await console.disconnect()
        return started, change

    started, change = async_to_sync(scenario)()
    [entry] = change["added"]
    assert entry["conversation"] == started["conversation"] and entry["reference"].startswith("MW")
    assert change["count"] == 4 and change["taken"] == change["left"] == change["fill"] == []


def test_a_rush_of_starts_sends_no_position_frames_to_those_already_waiting(agent, other_agent):
    client = agent_client(agent)

    async def scenario():
        console = await connect_agent(client)
        _, first = await sync_to_async(start_chat)()
        second_browser, _ = await sync_to_async(start_chat)()
        second, status = await customer_socket(second_browser)
        assert status == {"type": "status", "state": "waiting", "position": 2}
        for _ in range(5):
            await sync_to_async(start_chat)()
        await asyncio.sleep(0.2)
        during_rush = [f for f in await drain(second) if f.get("type") == "status"]

        taken = await sync_to_async(Conversation.objects.get)(pk=first["conversation"])
        await sync_to_async(actions.accept)(taken, acting_user=other_agent)
        moved = await receive_until(second, lambda f: f["type"] == "status")
        await second.disconnect()
        await console.disconnect()
        return during_rush, moved

    during_rush, moved = async_to_sync(scenario)()
    assert during_rush == []
    assert moved == {"type": "status", "state": "waiting", "position": 1}


async def _received(layer, channel: str) -> list[dict]:
    """The two events a console gets for a start: "chat.new" and "chat.waiting" (received
    without a timeout that cancels: the Redis layer drops a channel whose receive was
    cancelled)."""
    return [await asyncio.wait_for(layer.receive(channel), 10) for _ in range(2)]


def test_a_start_with_20_consoles_costs_the_same_queries_and_bytes_whatever_the_queue(
    django_user_model, django_capture_on_commit_callbacks
):
    agents = [make_staff(django_user_model, f"rush-agent-{n}", AGENTS) for n in range(20)]
    AgentPresence.objects.bulk_create(
        AgentPresence(user=user, status=AgentPresence.Status.ONLINE, sockets=1) for user in agents
    )

    def start() -> int:
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            actions.start_conversation(session_key="rush")
        return len(queries)

    async def scenario():
        # The consoles' channels in the agents' group, all in this event loop (the Redis
        # layer keeps its channels per loop); the start's announcement is sent from it too.
        layer = get_channel_layer()
        consoles = [await layer.new_channel() for _ in agents]
        for channel in consoles:
            await layer.group_add(live.AGENTS_GROUP, channel)
        measured = []
        try:
            for waiting in (10, 490):
                await sync_to_async(fill_queue)(waiting)
                queries = await sync_to_async(start)()
                received = [await _received(layer, channel) for channel in consoles]
                for events in received:
                    assert sorted(e["type"] for e in events) == ["chat.new", "chat.waiting"]
                measured.append((queries, [sum(size(e) for e in events) for events in received]))
        finally:
            for channel in consoles:
                await layer.group_discard(live.AGENTS_GROUP, channel)
        return measured

    (short_queries, short_bytes), (long_queries, long_bytes) = async_to_sync(scenario)()
    assert long_queries == short_queries
    assert all(0 < received < DELTA_BYTES for received in short_bytes + long_bytes)
    assert selectors.waiting_snapshot()["count"] == 502


def test_with_auto_assign_and_every_agent_busy_a_start_does_not_query_per_waiting_chat(
    agent, settings, django_capture_on_commit_callbacks
):
    settings.CHAT_AUTO_ASSIGN = True
    AgentPresence.objects.create(
        user=agent, status=AgentPresence.Status.ONLINE, sockets=1, max_chats=0
    )

    def start() -> int:
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            conversation = actions.start_conversation(session_key="busy")
        assert conversation.state == Conversation.State.WAITING
        return len(queries)

    fill_queue(5)
    short = start()
    fill_queue(200)
    assert start() == short


def test_a_listed_customer_writing_while_waiting_updates_the_preview_only(agent):
    fill_queue(3)
    client = agent_client(agent)

    async def scenario():
        console = await connect_agent(client)
        browser, started = await sync_to_async(start_chat)()
        await receive_until(console, lambda f: f["type"] == "waiting_change")
        customer, _status = await customer_socket(browser)
        await send_message(customer, "my payment failed twice", "p1")
        change = await receive_until(console, lambda f: f["type"] == "waiting_change")
        await customer.disconnect()
        await console.disconnect()
        return started, change

    started, change = async_to_sync(scenario)()
    [entry] = change["added"]
    assert entry["conversation"] == started["conversation"]
    assert entry["preview"] == "my payment failed twice"
    assert change["count"] == 4 and change["taken"] == change["left"] == []


def test_a_waiting_chat_moved_to_another_queue_leaves_and_joins_again(agent):
    Queue.objects.create(name="Security", slug="security")
    oldest_first = fill_queue(3)
    client = agent_client(agent)

    async def scenario():
        console, snapshot = await open_console(client)
        moving = await sync_to_async(Conversation.objects.get)(pk=oldest_first[1])
        await sync_to_async(actions.transfer_to)(moving, acting_user=agent, queue_slug="security")
        left = await receive_until(console, lambda f: f["type"] == "waiting_change")
        joined = await receive_until(console, lambda f: f["type"] == "waiting_change")
        await console.send_json_to({"type": "waiting_page"})
        page = await receive_until(console, lambda f: f["type"] == "waiting")
        await console.disconnect()
        return snapshot["chats"], left, joined, page

    listed, left, joined, page = async_to_sync(scenario)()
    assert left["left"] == [oldest_first[1]]
    assert [(c["conversation"], c["queue"]) for c in joined["added"]] == [
        (oldest_first[1], "security")
    ]
    for change in (left, joined):
        listed = merged(listed, change)
    assert listed == page["chats"] and [c["conversation"] for c in listed] == oldest_first
