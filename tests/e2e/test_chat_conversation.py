"""A live chat over real sockets: daphne on a free port, SQLite and the in-memory layer.

The customer loads /chat/ and starts a chat over HTTP (session and CSRF cookies), the agent
signs in to the two-factor admin with password and TOTP code, and both talk through
/ws/chat/ and /ws/agent/ with the `websockets` package, as a browser would. Every wait is
bounded. The scenario functions are shared with the PostgreSQL + Redis tests
(test_chat_scaleout.py).
"""

import asyncio
import contextlib
import itertools
import json
import uuid

import pytest
import websockets

from .servers import (
    Peer,
    Server,
    agent_login,
    create_staff,
    manage,
    migrated_database,
    running_daphne,
    start_customer_chat,
)

pytestmark = pytest.mark.e2e

SCENARIO_TIMEOUT = 60
# Explicit accepts (no auto-assign), and room for many /chat/start/ POSTs from 127.0.0.1.
CHAT_ENV = {"CHAT_AUTO_ASSIGN": "false", "CHAT_HTTP_PER_MINUTE": "1000"}
STAFF = [f"agent{i}" for i in range(1, 9)]
_staff = itertools.count()


def run(coroutine, timeout: float = SCENARIO_TIMEOUT):
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def next_agent() -> str:
    """A different agent each time: a TOTP code is accepted once per device."""
    return STAFF[next(_staff) % len(STAFF)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with migrated_database(tmp_path_factory.mktemp("chat-e2e"), **CHAT_ENV) as env:
        create_staff(env, *STAFF)
        with running_daphne(env=env) as server:
            yield server


def shell(env: dict, code: str) -> str:
    return manage("shell", "-c", code, env=env).stdout.strip()


def client_id() -> str:
    return str(uuid.uuid4())


# --- the shared scenario --------------------------------------------------------------------


async def open_console(server: Server, username: str) -> Peer:
    session = agent_login(server, username)
    console = await Peer.open(server, "/ws/agent/", session)
    hello = await console.expect(lambda f: f["type"] == "hello")
    assert hello["agent"]["name"]
    await console.expect(lambda f: f["type"] == "waiting")
    await console.send({"type": "presence", "status": "online"})
    console.session = session
    return console


async def say(peer: Peer, text: str, *, conversation: int | None = None, cid: str = "") -> int:
    """Send a message and wait for its ack; the stored message's id."""
    cid = cid or client_id()
    frame = {"type": "message", "text": text, "client_id": cid}
    if conversation is not None:
        frame["conversation"] = conversation
    await peer.send(frame)
    ack = await peer.expect(lambda f: f["type"] == "ack" and f["client_id"] == cid)
    return ack["id"]


async def heard(peer: Peer, message_id: int, *, timeout: float = 10) -> dict:
    return await peer.expect(
        lambda f: f["type"] == "message" and f["id"] == message_id, timeout=timeout
    )


async def converse(customer_server: Server, agent_server: Server, username: str) -> dict:
    """Accept, messages both ways, typing, a reconnect with resume, a re-sent client_id,
    close and rating: the customer on ``customer_server``, the agent on ``agent_server``."""
    console = await open_console(agent_server, username)
    browser, started = start_customer_chat(customer_server, name="Li Wei", contact="")
    conversation = started["conversation"]
    assert started["state"] == "waiting" and started["agents_online"] is True

    customer = await Peer.open(customer_server, "/ws/chat/", browser)
    status = await customer.expect(lambda f: f["type"] == "status")
    assert status["state"] == "waiting" and status["position"] >= 1
    await customer.send({"type": "resume", "after": 0})
    await console.expect(
        lambda f: (
            f["type"] == "waiting_change"
            and any(c["conversation"] == conversation for c in f["added"])
        )
    )

    await console.send({"type": "accept", "conversation": conversation})
    chat = await console.expect(lambda f: f["type"] == "chat")
    assert chat["conversation"] == conversation
    joined = await customer.expect(lambda f: f["type"] == "status" and f["state"] == "active")
    assert joined["agent"]

    ids = []
    first_cid = client_id()
    ids.append(await say(customer, "My payment failed.", cid=first_cid))
    frame = await heard(console, ids[-1])
    assert frame["author"] == "customer" and frame["conversation"] == conversation
    # A failed payment is explained to the customer at once, by the system (a guest here:
    # the common causes, no wallet's payments).
    explained = await customer.expect(lambda f: f["type"] == "message" and f["author"] == "system")
    ids.append(explained["id"])
    ids.append(await say(console, "Let me look at it.", conversation=conversation))
    assert (await heard(customer, ids[-1]))["author"] == "agent"

    await customer.send({"type": "typing"})
    typing = await console.expect(lambda f: f["type"] == "typing")
    assert typing == {"type": "typing", "conversation": conversation, "author": "customer"}
    await console.send({"type": "typing", "conversation": conversation})
    assert await customer.expect(lambda f: f["type"] == "typing") == {
        "type": "typing",
        "author": "agent",
    }

    # The customer's connection drops; the agent writes meanwhile; resume shows each once.
    last_seen = ids[-1]
    await customer.close()
    missed = [
        await say(console, f"While you were away {n}.", conversation=conversation) for n in range(3)
    ]
    ids += missed
    customer = await Peer.open(customer_server, "/ws/chat/", browser)
    await customer.expect(lambda f: f["type"] == "status" and f["state"] == "active")
    await customer.send({"type": "resume", "after": last_seen})
    for message_id in missed:
        await heard(customer, message_id)
    await customer.quiet(0.5)
    assert [f["id"] for f in customer.messages()] == missed

    # The first message sent again with its client_id (a lost ack): stored once.
    assert await say(customer, "My payment failed.", cid=first_cid) == ids[0]
    ids.append(await say(customer, "Thanks!"))
    await heard(console, ids[-1])
    await console.quiet(0.3)
    console_ids = [f["id"] for f in console.messages()]
    assert sorted(console_ids) == sorted(set(console_ids))  # nothing twice
    assert ids[0] in console_ids and ids[-1] in console_ids

    await console.send({"type": "close", "conversation": conversation})
    await customer.expect(lambda f: f["type"] == "status" and f["state"] == "closed")
    await console.expect(lambda f: f["type"] == "status" and f["state"] == "closed")
    await customer.send({"type": "rating", "score": 5, "comment": "Quick and kind."})
    await customer.quiet(0.3)
    assert not [f for f in customer.frames if f["type"] == "error"], customer.frames

    # A fresh socket reading everything: each stored message exactly once, in order.
    await customer.close()
    reader = await Peer.open(customer_server, "/ws/chat/", browser)
    await reader.expect(lambda f: f["type"] == "status" and f["state"] == "closed")
    await reader.send({"type": "resume", "after": 0})
    await reader.quiet(0.7)
    assert [f["id"] for f in reader.messages()] == ids
    await reader.close()
    await console.close()
    return {"conversation": conversation, "ids": ids}


def rating_of(env: dict, conversation: int) -> list:
    code = (
        "from chat.models import Conversation; import json; "
        f"t = Conversation.objects.get(pk={conversation}).ticket; "
        "print(json.dumps([t.satisfaction_score, t.satisfaction_comment, "
        "t.messages.filter(channel='chat').count()]))"
    )
    return json.loads(shell(env, code).splitlines()[-1])


# --- SQLite and the in-memory layer ---------------------------------------------------------


def test_a_customer_and_an_agent_hold_a_whole_conversation(server):
    result = run(converse(server, server, next_agent()))

    score, comment, stored = rating_of(server.env, result["conversation"])
    assert (score, comment) == (5, "Quick and kind.")
    assert stored == len(result["ids"])  # the re-sent client_id was stored once


def test_after_a_drop_between_closed_and_rating_the_rating_still_arrives(server):
    """Left over from the customer page: an ended chat's socket was refused with 4403, so a
    customer whose connection dropped after the "closed" status could not rate."""

    async def scenario():
        browser, started = start_customer_chat(server)
        conversation = started["conversation"]
        customer = await Peer.open(server, "/ws/chat/", browser)
        await customer.expect(lambda f: f["type"] == "status")
        await customer.send({"type": "message", "text": "Never mind.", "client_id": "c1"})
        await customer.expect(lambda f: f["type"] == "ack")
        await customer.send({"type": "close"})
        await customer.expect(lambda f: f["type"] == "status" and f["state"] == "closed")
        await customer.close()  # the connection drops before the rating is sent

        again = await Peer.open(server, "/ws/chat/", browser)
        assert (await again.receive()) == {"type": "status", "state": "closed"}
        await again.send({"type": "message", "text": "one more thing", "client_id": "c2"})
        refused = await again.expect(lambda f: f["type"] == "error")
        assert refused["code"] == "closed" and refused["client_id"] == "c2"
        await again.send({"type": "resume", "after": 0})
        assert [f["text"] for f in [await again.expect(lambda f: f["type"] == "message")]] == [
            "Never mind."
        ]
        await again.send({"type": "rating", "score": 4, "comment": "Fine"})
        assert await again.quiet(0.5) == []  # no error: the rating was taken
        await again.close()
        return conversation

    conversation = run(scenario())
    assert rating_of(server.env, conversation) == [4, "Fine", 1]


def test_an_ended_chat_cannot_be_joined_after_the_rating_window(server):
    async def scenario():
        browser, started = start_customer_chat(server)
        customer = await Peer.open(server, "/ws/chat/", browser)
        await customer.expect(lambda f: f["type"] == "status")
        await customer.send({"type": "close"})
        await customer.expect(lambda f: f["type"] == "status" and f["state"] == "closed")
        await customer.close()
        shell(
            server.env,
            "from chat.models import Conversation; from datetime import timedelta; "
            "from django.utils import timezone; "
            f"Conversation.objects.filter(pk={started['conversation']}).update("
            "ended_at=timezone.now() - timedelta(minutes=31))",
        )
        late = await Peer.open(server, "/ws/chat/", browser)
        assert await late.closed_code() == 4403

    run(scenario())


# --- security over a real socket ------------------------------------------------------------


def test_a_socket_from_another_origin_is_refused(server):
    from websockets.exceptions import InvalidStatus

    async def scenario():
        browser, _started = start_customer_chat(server)
        with pytest.raises(InvalidStatus) as refused:
            await Peer.open(server, "/ws/chat/", browser, origin="https://evil.example")
        assert refused.value.response.status_code == 403
        customer = await Peer.open(server, "/ws/chat/", browser)  # the right origin works
        assert (await customer.receive())["type"] == "status"
        await customer.close()

    run(scenario())


def test_a_frame_over_16_kb_closes_the_socket_with_1009(server):
    async def scenario():
        browser, _started = start_customer_chat(server)
        customer = await Peer.open(server, "/ws/chat/", browser)
        await customer.expect(lambda f: f["type"] == "status")
        text = "x" * (16 * 1024 + 1)
        await customer.send({"type": "message", "text": text, "client_id": "big"})
        assert await customer.closed_code() == 1009
        assert not [f for f in customer.frames if f["type"] == "ack"]

    run(scenario())


def test_a_flood_is_told_then_closed_while_another_client_goes_on(server):
    async def scenario():
        flooder_browser, _ = start_customer_chat(server)
        calm_browser, _ = start_customer_chat(server)
        flooder = await Peer.open(server, "/ws/chat/", flooder_browser)
        calm = await Peer.open(server, "/ws/chat/", calm_browser)
        await flooder.expect(lambda f: f["type"] == "status")
        await calm.expect(lambda f: f["type"] == "status")

        with contextlib.suppress(websockets.ConnectionClosed):  # it may close mid-flood
            for _ in range(60):
                await flooder.send({"type": "typing"})
        assert await flooder.closed_code() == 4429
        assert [f["code"] for f in flooder.frames if f["type"] == "error"] == ["rate_limited"]

        for n in range(3):
            await say(calm, f"still here {n}")
        await calm.close()

    run(scenario())
