"""The workspace socket (/ws/workspace/) over a real daphne and the `websockets` client:
the inbox hears of a new ticket and of a message, another agent's typing is shown on the
ticket (never echoed to the typist); the socket refuses a stranger, a non-agent and
another origin, and closes when its agent signs out. Each change here is made over HTTP
in the same daphne (its in-memory layer carries the announcements)."""

import uuid

import pytest
import websockets

from .servers import (
    HttpSession,
    Peer,
    agent_login,
    create_staff,
    manage,
    migrated_database,
    running_daphne,
    start_customer_chat,
)
from .test_chat_conversation import CHAT_ENV, run

pytestmark = pytest.mark.e2e

STAFF = ["wang.fang", "li.na", "zhao.lei", "chen.jing"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with migrated_database(tmp_path_factory.mktemp("workspace-e2e"), **CHAT_ENV) as env:
        create_staff(env, *STAFF)
        manage(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model\n"
            "get_user_model().objects.filter(username='wang.fang').update(first_name='Wang Fang')",
            env=env,
        )
        with running_daphne(env=env) as server:
            yield server


async def workspace(server, session) -> Peer:
    peer = await Peer.open(server, "/ws/workspace/", session)
    await peer.expect(lambda f: f["type"] == "hello")
    return peer


def test_the_inbox_hears_of_a_new_ticket_and_agents_see_each_other_replying(server):
    wang, li = agent_login(server, "wang.fang"), agent_login(server, "li.na")

    async def scenario():
        first, second = await workspace(server, wang), await workspace(server, li)
        start_customer_chat(server, name="Mei", contact="")
        changed = await first.expect(lambda f: f["type"] == "changed")
        [ticket] = changed["tickets"]
        await second.expect(lambda f: f["type"] == "changed" and ticket in f["tickets"])

        for peer in (first, second):
            await peer.send({"type": "watch", "ticket": ticket})
        await first.quiet(0.3)
        await first.send({"type": "typing"})
        replying = await second.expect(lambda f: f["type"] == "replying")
        assert replying == {"type": "replying", "ticket": ticket, "name": "Wang Fang"}
        assert not [f for f in await first.quiet(0.5) if f["type"] == "replying"]

        # Li answers over HTTP: Wang's page hears of the message (and warns before sending).
        url = f"/admin/tickets/ticket/{ticket}/reply/"
        form = {
            "csrfmiddlewaretoken": li.cookies["csrftoken"],
            "kind": "note",
            "body": f"Checking the card {uuid.uuid4()}",
        }
        status, _headers, _body = li.post(url, form)
        assert status == 302
        message = await first.expect(lambda f: f["type"] == "message")
        assert message["ticket"] == ticket and message["direction"] == "note"
        assert ticket in (await first.expect(lambda f: f["type"] == "changed"))["tickets"]
        for peer in (first, second):
            await peer.close()

    run(scenario())


def test_signing_out_closes_the_workspace_socket_at_once(server):
    """chat.revocation's event reaches this socket too: the session that signed out loses
    its live inbox at once (4401), idle as it is."""
    session = agent_login(server, "chen.jing")

    async def scenario():
        peer = await workspace(server, session)
        status, _headers, _body = session.post("/admin/logout/", {})
        assert status in (200, 302)
        assert await peer.closed_code() == 4401

    run(scenario())


def test_a_stranger_and_a_customer_are_refused(server):
    async def scenario():
        stranger = await Peer.open(server, "/ws/workspace/", HttpSession(server))
        assert await stranger.closed_code() == 4403
        customer, _chat = start_customer_chat(server, name="Ana", contact="")
        peer = await Peer.open(server, "/ws/workspace/", customer)
        assert await peer.closed_code() == 4403

    run(scenario())


def test_another_origin_is_refused(server):
    session = agent_login(server, "zhao.lei")

    async def scenario():
        with pytest.raises(websockets.InvalidStatus):
            await Peer.open(server, "/ws/workspace/", session, origin="http://evil.example")

    run(scenario())
