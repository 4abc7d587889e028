"""The live chat scaled out: PostgreSQL, the Redis pub/sub layer, two daphne processes.

Runs in the PostgreSQL pass (DATABASE_URL=postgres://..., see .ci/run), like
tests/tickets/test_concurrency.py; each module makes a database of its own on that server
(others run tests there at the same time) and a private redis-server on a free port, so
the shared Redis is never restarted. Without redis-server the tests skip locally and fail
under CI=true.
"""

import asyncio
import os
import shutil

import pytest

from tests.conftest import need_server

from .servers import (
    Peer,
    create_staff,
    migrated_postgres,
    running_daphne,
    running_redis,
    start_customer_chat,
)
from .test_chat_conversation import (
    CHAT_ENV,
    STAFF,
    converse,
    heard,
    next_agent,
    open_console,
    rating_of,
    run,
    say,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
CATCH_UP_SECONDS = 20  # the layer is probed every second, then sockets catch up


@pytest.fixture(scope="module")
def cluster():
    if not DATABASE_URL.startswith(("postgres://", "postgresql://")):
        pytest.skip("runs in the PostgreSQL pass (DATABASE_URL=postgres://...)")
    if not shutil.which("redis-server"):
        need_server("redis-server is not installed")
    with (
        running_redis() as redis,
        migrated_postgres(DATABASE_URL, REDIS_URL=redis.url, **CHAT_ENV) as env,
    ):
        create_staff(env, *STAFF)
        with running_daphne(env=env) as one, running_daphne(env=env) as two:
            yield redis, one, two


def test_a_conversation_on_postgresql_and_redis(cluster):
    _redis, one, _two = cluster
    result = run(converse(one, one, next_agent()))

    score, _comment, stored = rating_of(one.env, result["conversation"])
    assert score == 5 and stored == len(result["ids"])


def test_the_customer_on_one_process_and_the_agent_on_another(cluster):
    _redis, one, two = cluster
    result = run(converse(one, two, next_agent()))

    score, _comment, stored = rating_of(two.env, result["conversation"])
    assert score == 5 and stored == len(result["ids"])


def test_after_a_redis_restart_messages_flow_again_and_nothing_is_lost_or_doubled(cluster):
    redis, one, two = cluster

    async def scenario():
        console = await open_console(two, next_agent())
        browser, started = start_customer_chat(one, name="Wang Fang")
        conversation = started["conversation"]
        customer = await Peer.open(one, "/ws/chat/", browser)
        await customer.expect(lambda f: f["type"] == "status")
        await customer.send({"type": "resume", "after": 0})
        await console.send({"type": "accept", "conversation": conversation})
        await console.expect(lambda f: f["type"] == "chat")
        await customer.expect(lambda f: f["type"] == "status" and f["state"] == "active")

        ids = [await say(customer, "Hello before")]
        await heard(console, ids[-1])
        ids.append(await say(console, "Hi before", conversation=conversation))
        await heard(customer, ids[-1])

        # Redis goes away: both sides write; each message is stored and acknowledged,
        # its broadcast fails.
        await asyncio.to_thread(redis.stop)
        during = [
            await say(console, "Agent during the outage", conversation=conversation),
            await say(customer, "Customer during the outage"),
        ]
        ids += during
        await asyncio.sleep(0.5)
        await asyncio.to_thread(redis.start)

        # Without any reconnect, each open socket gets what it missed, from storage.
        await heard(customer, during[0], timeout=CATCH_UP_SECONDS)
        await heard(console, during[1], timeout=CATCH_UP_SECONDS)

        # Live frames flow again through the restarted Redis, both ways.
        async def flows(sender, receiver, text, **kwargs):
            for _attempt in range(CATCH_UP_SECONDS):
                message_id = await say(sender, text, **kwargs)
                ids.append(message_id)
                try:
                    await heard(receiver, message_id, timeout=1)
                    return
                except AssertionError:
                    continue  # not live yet: caught up later, and counted below
            raise AssertionError(f"{text!r} never went through Redis again")

        await flows(console, customer, "Agent after", conversation=conversation)
        await flows(customer, console, "Customer after")
        await customer.quiet(1.5)
        await console.quiet(0.5)

        customer_sees = [f["id"] for f in customer.messages()]
        agent_sees = [f["id"] for f in console.messages() if f["conversation"] == conversation]
        assert sorted(customer_sees) == sorted(set(customer_sees)), customer.messages()
        assert sorted(agent_sees) == sorted(set(agent_sees)), console.messages()
        # Each side has seen every message of the other (its own come back as acks).
        assert set(customer_sees) >= {i for i in ids if i not in own_ids(customer)}
        assert set(agent_sees) >= {i for i in ids if i not in own_ids(console)}

        # A fresh socket on the other process reads everything exactly once, in order.
        reader = await Peer.open(two, "/ws/chat/", browser)
        await reader.expect(lambda f: f["type"] == "status")
        await reader.send({"type": "resume", "after": 0})
        await reader.quiet(1.0)
        assert [f["id"] for f in reader.messages()] == sorted(ids)
        for peer in (reader, customer, console):
            await peer.close()

    try:
        run(scenario(), timeout=120)
    except BaseException:
        print(
            "--- daphne one ---", one.output()[-6000:], "--- daphne two ---", two.output()[-6000:]
        )
        raise


def own_ids(peer: Peer) -> set[int]:
    """The ids a socket sent itself (acknowledged to it, not echoed)."""
    return {frame["id"] for frame in peer.frames if frame["type"] == "ack"}
