"""The chat's rate limit is shared: a session's sockets together, and each side of a chat,
get CHAT_SHARED_FRAMES frames a window (chat.throttle.shared_allowed), on top of each
socket's own bucket. Found: 40 sockets on one session stored 1,795 messages in 8 s.

Consumer level here (WebsocketCommunicator, locmem cache); over real daphne and sockets in
tests/e2e/test_chat_revocation.py. The counters on Redis at the end (REDIS_URL, or
127.0.0.1:6379: skipped locally without it, failed under CI).
"""

import json
import os
import uuid

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import cache
from django.test import Client

from chat.protocol import CLOSE_RATE_LIMITED
from chat.throttle import counter_keys, shared_allowed, shared_allowed_async
from chat.writer import writer
from tests.chat.conftest import agent_client, connect_agent, receive, socket, start_chat
from tests.conftest import need_server
from tickets.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 30


@pytest.fixture
def shared_limit(settings):
    settings.CHAT_SHARED_FRAMES = LIMIT
    settings.CHAT_SHARED_WINDOW_SECONDS = 3600  # one window for the whole test


def new_chat(client=None) -> tuple[Client, dict]:
    """A chat whose counters start at 0: ids come again (SQLite after a flush, a new
    PostgreSQL database) while the cache keeps counting (not cache.clear(): CI's cache is
    a shared Redis)."""
    client, data = start_chat(client)
    sides = [f"conversation:{data['conversation']}:{side}" for side in ("customer", "agent")]
    cache.delete_many(counter_keys(sides))
    return client, data


def run(coroutine_function):
    return async_to_sync(coroutine_function)()


async def send_messages(communicator, count: int) -> tuple[int, int | None]:
    """Send ``count`` messages; (acks received, close code or None) once every message is
    answered or the socket is closed."""
    for _ in range(count):
        await communicator.send_json_to(
            {"type": "message", "text": "flood", "client_id": str(uuid.uuid4())}
        )
    acks = 0
    while acks < count:
        output = await communicator.receive_output(3)
        if output["type"] == "websocket.close":
            return acks, output.get("code")
        frame = json.loads(output["text"])
        if frame["type"] == "ack":
            acks += 1
    return acks, None


async def customer_socket(client):
    communicator = socket("/ws/chat/", client)
    connected, _ = await communicator.connect()
    assert connected
    assert (await receive(communicator))["type"] == "status"
    return communicator


def test_forty_sockets_on_one_session_store_no_more_than_the_sessions_share(shared_limit):
    client, _data = new_chat()

    async def scenario():
        closed = 0
        for _ in range(40):
            communicator = await customer_socket(client)
            _acks, code = await send_messages(communicator, 5)
            if code is None:
                await communicator.disconnect()
            else:
                assert code == CLOSE_RATE_LIMITED
                closed += 1
        await writer().drain()  # what was let through is stored even after the close
        return closed

    closed = run(scenario)
    stored = Message.objects.filter(text="flood").count()
    assert stored == LIMIT  # 200 sent, each socket within its own bucket
    assert closed == 40 - LIMIT // 5


def test_two_sessions_in_one_chat_share_the_chats_budget(shared_limit):
    first, data = new_chat()
    second = Client()
    session = second.session
    session["chat_conversation"] = data["conversation"]
    session.save()

    async def scenario():
        one = await customer_socket(first)
        assert await send_messages(one, 20) == (20, None)
        two = await customer_socket(second)
        _acks, code = await send_messages(two, 20)  # acks may be cut off by the close
        assert code == CLOSE_RATE_LIMITED
        await writer().drain()
        await one.disconnect()

    run(scenario)
    assert Message.objects.filter(text="flood").count() == LIMIT


def test_an_agents_consoles_on_one_session_share_its_budget(agent, shared_limit):
    client = agent_client(agent)

    async def scenario():
        consoles = [await connect_agent(client, online=False) for _ in range(3)]
        sent = 0
        for console in consoles:
            for status in ("online", "away") * 6:
                await console.send_json_to({"type": "presence", "status": status})
                sent += 1
        codes = []
        for console in consoles:
            for _ in range(200):
                output = await console.receive_output(3)
                if output["type"] == "websocket.close":
                    codes.append(output.get("code"))
                    break
        return sent, codes

    sent, codes = run(scenario)
    assert sent == 36 > LIMIT
    # Once the session is past its share, each of its consoles is closed on its next frame.
    assert codes == [CLOSE_RATE_LIMITED] * 3


# --- the counters ---------------------------------------------------------------------------


def counters_behave(names_prefix: str) -> None:
    session, chat = f"{names_prefix}:session", f"{names_prefix}:chat"
    now = 7200.0
    assert all(shared_allowed([session, chat], now=now) for _ in range(LIMIT))
    assert not shared_allowed([session], now=now)
    # The chat's counter went past its share too: the refused frame was counted on both.
    assert not shared_allowed([chat], now=now)
    assert shared_allowed([f"{names_prefix}:other"], now=now)  # others are not touched
    assert shared_allowed([session, chat], now=now + 3600)  # the next window


def test_counters_count_each_name_in_fixed_windows(shared_limit):
    counters_behave(f"test-{uuid.uuid4()}")


def test_counters_on_redis_take_one_round_trip_and_read_back_as_integers(settings, shared_limit):
    from redis import Redis

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:
        need_server(f"Redis is not reachable at {url}: {exc}")
    prefix = f"test-{uuid.uuid4()}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    counters_behave("redis")
    # Django's cache reads what the pipeline wrote (its own key, prefix included).
    [key] = counter_keys(["redis:session"], now=7200.0)
    assert cache.get(key) == LIMIT + 1
    # The sockets' way: redis-py's asyncio client, the same counters.
    names = [f"redis-async:{uuid.uuid4()}"]
    assert async_to_sync(async_count_until_refused)(names) == LIMIT
    assert cache.get(counter_keys(names)[0]) == LIMIT + 1


async def async_count_until_refused(names) -> int:
    allowed = 0
    while await shared_allowed_async(names):
        allowed += 1
    return allowed


def test_with_the_counters_unreachable_the_chat_goes_on(settings, shared_limit, caplog):
    """Redis away (a restart): frames are held to each socket's own bucket, not refused."""
    from tests.e2e.servers import free_port

    client, _data = new_chat()  # (the HTTP endpoints' own limit needs the cache too)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        }
    }

    async def scenario():
        communicator = await customer_socket(client)
        result = await send_messages(communicator, 3)
        await communicator.disconnect()
        return result

    assert run(scenario) == (3, None)
    assert Message.objects.filter(text="flood").count() == 3
    assert "shared chat rate counters unavailable" in caplog.text
