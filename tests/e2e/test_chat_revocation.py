"""Revocation and the shared rate limit over real sockets: daphne, the `websockets`
package, a private redis-server (the channel layer and the cache, so a change made by
another process, here `manage.py shell`, reaches daphne's sockets) and SQLite, or
PostgreSQL in the PostgreSQL pass (DATABASE_URL=postgres://...).

Found on main: an agent's open /ws/agent/ socket kept reading transcripts and storing notes
after the agent logged out, was deactivated or lost their groups; 40 sockets on one
session stored 1,795 messages in 8 s. Every wait is bounded; without redis-server the
tests skip locally and fail under CI=true.
"""

import asyncio
import contextlib
import json
import os
import shutil
import uuid

import pytest

from tests.conftest import need_server

from .servers import (
    Peer,
    create_staff,
    manage,
    migrated_database,
    migrated_postgres,
    running_daphne,
    running_redis,
    start_customer_chat,
)
from .test_chat_conversation import CHAT_ENV, open_console, run

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

SHARED_FRAMES = 50
STAFF = [f"revoked{i}" for i in range(1, 8)]
SERVER_ENV = {
    **CHAT_ENV,
    "CHAT_SHARED_FRAMES": str(SHARED_FRAMES),
    "CHAT_SHARED_WINDOW_SECONDS": "3600",  # one window for the whole module
    "CHAT_AGENT_RECHECK_SECONDS": "0",  # a frame right after a silent change is checked
}
CLOSE_WAIT = 10  # seconds: the close is expected at once; this only bounds the wait


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not shutil.which("redis-server"):
        need_server("redis-server is not installed")
    database_url = os.environ.get("DATABASE_URL", "")
    with contextlib.ExitStack() as stack:
        redis = stack.enter_context(running_redis())
        if database_url.startswith(("postgres://", "postgresql://")):
            database = migrated_postgres(database_url, REDIS_URL=redis.url, **SERVER_ENV)
        else:
            directory = tmp_path_factory.mktemp("revocation-e2e")
            database = migrated_database(directory, REDIS_URL=redis.url, **SERVER_ENV)
        env = stack.enter_context(database)
        create_staff(env, *STAFF)
        yield stack.enter_context(running_daphne(env=env))


def shell(server, code: str) -> str:
    return manage("shell", "-c", code, env=server.env).stdout.strip()


def change_user(server, username: str, statements: str) -> None:
    """Run ``statements`` with ``user`` bound to that staff member, in another process."""
    shell(
        server,
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.models import Group\n"
        f"user = get_user_model().objects.get(username={username!r})\n" + statements,
    )


async def console_closed_by(server, username: str, change) -> int:
    console = await open_console(server, username)
    await console.quiet(0.2)
    await asyncio.to_thread(change, console)
    try:
        return await console.closed_code(CLOSE_WAIT)
    finally:
        await console.close()


def test_logging_out_closes_the_console_with_4401(server):
    def logout(console):
        status, _headers, _body = console.session.post("/admin/logout/", {})
        assert status in (200, 302)

    assert run(console_closed_by(server, "revoked1", logout)) == 4401


@pytest.mark.parametrize(
    ("username", "statements", "code"),
    [
        ("revoked2", "user.is_active = False\nuser.save()", 4401),
        ("revoked3", "user.set_password('another-long-passphrase-1')\nuser.save()", 4401),
        ("revoked4", "user.groups.clear()", 4403),
    ],
    ids=["deactivated", "password-changed", "groups-removed"],
)
def test_a_change_made_elsewhere_closes_the_console(server, username, statements, code):
    def change(_console):
        change_user(server, username, statements)

    assert run(console_closed_by(server, username, change)) == code


def test_a_frame_after_a_silent_permission_loss_is_refused(server):
    """A queryset update sends no signal: the frame's own check refuses it, and no
    transcript is read."""
    customer, chat = start_customer_chat(server, name="Mei")

    async def scenario():
        peer = await Peer.open(server, "/ws/chat/", customer)
        await peer.expect(lambda f: f["type"] == "status")
        await peer.send({"type": "message", "text": "my card", "client_id": str(uuid.uuid4())})
        await peer.expect(lambda f: f["type"] == "ack")
        await peer.close()
        console = await open_console(server, "revoked5")
        await console.quiet(0.2)
        await asyncio.to_thread(
            change_user,
            server,
            "revoked5",
            "get_user_model().objects.filter(pk=user.pk).update(is_staff=False)",
        )
        seen = len(console.frames)
        await console.send({"type": "resume", "conversation": chat["conversation"], "after": 0})
        code = await console.closed_code(CLOSE_WAIT)
        await console.close()
        return code, console.frames[seen:]

    code, after = run(scenario())
    assert code == 4403
    assert after == []


def stored_texts(server, conversation: int) -> int:
    code = (
        "import json\n"
        "from tickets.models import Message\n"
        "print(json.dumps(Message.objects.filter("
        f"ticket__conversation__pk={conversation}, text__startswith='flood').count()))"
    )
    return json.loads(shell(server, code).splitlines()[-1])


def test_forty_sockets_on_one_session_store_no_more_than_its_share(server):
    customer, chat = start_customer_chat(server, name="Flood")
    sockets, per_socket = 40, 10

    async def flood(index: int) -> tuple[int, int | None]:
        peer = await Peer.open(server, "/ws/chat/", customer)
        try:
            await peer.expect(lambda f: f["type"] == "status")
            for n in range(per_socket):
                text = f"flood {index}-{n}"
                await peer.send({"type": "message", "text": text, "client_id": str(uuid.uuid4())})
            acks = 0
            try:
                while acks < per_socket:
                    frame = await peer.receive()
                    acks += frame["type"] == "ack"
            except Exception:  # closed by the server (4429)
                return acks, await peer.closed_code(CLOSE_WAIT)
            return acks, None
        finally:
            await peer.close()

    async def scenario():
        return await asyncio.gather(*(flood(i) for i in range(sockets)))

    outcomes = run(scenario())
    closed = [code for _acks, code in outcomes if code is not None]
    assert closed and set(closed) == {4429}
    stored = stored_texts(server, chat["conversation"])
    # 400 sent, each socket within its own bucket: the session's share is all that is kept.
    assert 0 < stored <= SHARED_FRAMES
