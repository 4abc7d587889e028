"""An agent's socket ends with their access (chat.access, chat.revocation): logging out,
deactivation, a password change and the loss of the agent role close it at once (4401:
signed out; 4403: no longer an agent), and a frame after a change that sent no signal is
refused. Through the project's whole ASGI stack (WebsocketCommunicator) and the real
in-memory layer; the same findings over real daphne are in tests/e2e/test_chat_revocation.py.
"""

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session

from accounts import agent_sign_in
from accounts.permissions import WORK_TICKETS
from accounts.roles import AGENTS
from chat import access
from chat.protocol import CLOSE_FORBIDDEN, CLOSE_SIGNED_OUT
from tests.chat.conftest import (
    agent_client,
    closed_with,
    connect_agent,
    drain,
    receive_until,
    socket,
    start_chat,
)
from tickets.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def run(coroutine_function):
    return async_to_sync(coroutine_function)()


def session_key(client) -> str:
    return client.cookies["sessionid"].value


def work_tickets() -> Permission:
    app_label, codename = WORK_TICKETS.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


# --- each change closes the open socket at once ----------------------------------------------


def _logout(agent, client):
    response = client.post("/admin/logout/")
    assert response.status_code in (200, 302)


def _deactivate(agent, client):
    agent.is_active = False
    agent.save()


def _change_password(agent, client):
    agent.set_password("a brand new passphrase for the agent")
    agent.save()


def _leave_the_agents_group(agent, client):
    agent.groups.remove(Group.objects.get(name=AGENTS))


def _removed_from_the_group_by_its_side(agent, client):
    Group.objects.get(name=AGENTS).user_set.remove(agent)


def _the_group_loses_the_permission(agent, client):
    Group.objects.get(name=AGENTS).permissions.remove(work_tickets())


def _the_group_is_deleted(agent, client):
    Group.objects.get(name=AGENTS).delete()


def _no_longer_staff(agent, client):
    agent.is_staff = False
    agent.save()


def _device_deleted(agent, client):
    agent.totpdevice_set.all().delete()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (_logout, CLOSE_SIGNED_OUT),
        (_deactivate, CLOSE_SIGNED_OUT),
        (_change_password, CLOSE_SIGNED_OUT),
        (_leave_the_agents_group, CLOSE_FORBIDDEN),
        (_removed_from_the_group_by_its_side, CLOSE_FORBIDDEN),
        (_the_group_loses_the_permission, CLOSE_FORBIDDEN),
        (_the_group_is_deleted, CLOSE_FORBIDDEN),
        (_no_longer_staff, CLOSE_FORBIDDEN),
        (_device_deleted, CLOSE_FORBIDDEN),
    ],
)
def test_a_change_that_ends_access_closes_the_open_agent_socket(agent, settings, change, code):
    # No frame is sent after the change: the revocation event alone closes the socket.
    settings.CHAT_AGENT_RECHECK_SECONDS = 3600
    client = agent_client(agent)

    async def scenario():
        console = await connect_agent(client)
        await drain(console, 0.05)
        await sync_to_async(change)(agent, client)
        assert await closed_with(console) == code

    run(scenario)


def test_logging_out_closes_that_sessions_socket_only(agent, settings):
    settings.CHAT_AGENT_RECHECK_SECONDS = 0
    leaving, staying = agent_client(agent), agent_client(agent)

    async def scenario():
        first = await connect_agent(leaving)
        second = await connect_agent(staying)
        await drain(second, 0.05)
        await sync_to_async(_logout)(agent, leaving)
        assert await closed_with(first) == CLOSE_SIGNED_OUT
        # The other browser is still signed in: its console goes on answering.
        await second.send_json_to({"type": "presence", "status": "away"})
        frame = await receive_until(second, lambda f: f["type"] == "presence")
        assert frame["agent"]["presence"] == "away"
        await second.disconnect()

    run(scenario)


def test_a_change_that_keeps_access_leaves_the_socket_open(agent, settings):
    settings.CHAT_AGENT_RECHECK_SECONDS = 3600
    client = agent_client(agent)

    async def scenario():
        console = await connect_agent(client)
        await drain(console, 0.05)

        def rename():
            agent.first_name = "Renamed"
            agent.save()
            agent.groups.add(Group.objects.create(name="Extra"))

        await sync_to_async(rename)()
        await console.send_json_to({"type": "presence", "status": "away"})
        frame = await receive_until(console, lambda f: f["type"] == "presence")
        assert frame["agent"]["presence"] == "away"
        await console.disconnect()

    run(scenario)


# --- frames re-check: changes that send no signal -------------------------------------------


def test_a_note_after_a_silent_permission_loss_is_refused_and_not_stored(agent, settings):
    """A queryset update sends no signal: the next frame's check finds the loss."""
    settings.CHAT_AGENT_RECHECK_SECONDS = 0
    _customer, data = start_chat()
    conversation = data["conversation"]
    client = agent_client(agent)

    async def scenario():
        console = await connect_agent(client)
        await console.send_json_to({"type": "accept", "conversation": conversation})
        await receive_until(console, lambda f: f["type"] == "chat")
        await sync_to_async(
            lambda: type(agent).objects.filter(pk=agent.pk).update(is_staff=False)
        )()
        await console.send_json_to(
            {"type": "note", "conversation": conversation, "text": "secret", "client_id": "n1"}
        )
        assert await closed_with(console) == CLOSE_FORBIDDEN

    run(scenario)
    assert not Message.objects.filter(text__contains="secret").exists()


def test_a_transcript_is_not_read_after_a_silent_deactivation(agent, settings):
    settings.CHAT_AGENT_RECHECK_SECONDS = 0
    _customer, data = start_chat()
    client = agent_client(agent)

    async def scenario():
        console = await connect_agent(client)
        await drain(console, 0.05)
        await sync_to_async(
            lambda: type(agent).objects.filter(pk=agent.pk).update(is_active=False)
        )()
        await console.send_json_to(
            {"type": "resume", "conversation": data["conversation"], "after": 0}
        )
        output = await console.receive_output(3)
        assert output["type"] == "websocket.close"  # no transcript frame before it
        assert output["code"] == CLOSE_SIGNED_OUT

    run(scenario)


def test_a_session_deleted_in_the_store_ends_the_socket_on_its_next_frame(agent, settings):
    settings.CHAT_AGENT_RECHECK_SECONDS = 0
    client = agent_client(agent)
    key = session_key(client)

    async def scenario():
        console = await connect_agent(client)
        await sync_to_async(lambda: Session.objects.filter(session_key=key).delete())()
        await console.send_json_to({"type": "presence", "status": "away"})
        assert await closed_with(console) == CLOSE_SIGNED_OUT

    run(scenario)


# --- what the checks cost -------------------------------------------------------------------


def test_the_access_check_costs_five_queries(agent, django_assert_num_queries):
    client = agent_client(agent)
    with django_assert_num_queries(5):  # session, user, user perms, group perms, device
        user, code = access.current_agent(session_key(client), agent.pk)
    assert user == agent and code is None


def test_the_access_check_refuses_with_the_reason(agent, other_agent):
    client = agent_client(agent)
    assert access.current_agent(None, agent.pk) == (None, CLOSE_SIGNED_OUT)
    assert access.current_agent("no-such-session", agent.pk) == (None, CLOSE_SIGNED_OUT)
    # A session of one agent never stands for another.
    assert access.current_agent(session_key(client), other_agent.pk) == (None, CLOSE_SIGNED_OUT)
    agent.groups.clear()
    assert access.current_agent(session_key(client), agent.pk) == (None, CLOSE_FORBIDDEN)


@pytest.mark.parametrize(("interval", "checks"), [(3600, 0), (0, 6)])
def test_frames_check_access_at_most_once_an_interval(
    agent, settings, monkeypatch, interval, checks
):
    settings.CHAT_AGENT_RECHECK_SECONDS = interval
    calls = []
    real = access.current_agent

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(access, "current_agent", counted)
    client = agent_client(agent)

    async def scenario():
        console = await connect_agent(client, online=False)
        for status in ("online", "away") * 3:
            await console.send_json_to({"type": "presence", "status": status})
            await receive_until(console, lambda f: f["type"] == "presence")
        await console.disconnect()

    run(scenario)
    assert len(calls) == checks


def test_revocation_events_reach_every_console_of_the_user_and_no_one_else(
    agent, other_agent, settings
):
    settings.CHAT_AGENT_RECHECK_SECONDS = 3600
    mine = [agent_client(agent) for _ in range(3)]
    theirs = agent_client(other_agent)

    async def scenario():
        consoles = [await connect_agent(client) for client in mine]
        other = await connect_agent(theirs)
        await drain(other, 0.05)
        await sync_to_async(_deactivate)(agent, None)
        codes = await asyncio.gather(*(closed_with(console) for console in consoles))
        assert codes == [CLOSE_SIGNED_OUT] * 3
        await other.send_json_to({"type": "presence", "status": "away"})
        assert (await receive_until(other, lambda f: f["type"] == "presence"))["agent"]
        await other.disconnect()

    run(scenario)


def test_an_agent_socket_refused_at_connect_is_not_checked_again(db):
    async def scenario():
        communicator = socket("/ws/agent/", None)
        await communicator.connect()
        assert await closed_with(communicator) == CLOSE_FORBIDDEN

    run(scenario)


def test_a_session_signed_under_a_fallback_secret_stays_valid_and_untouched(agent, settings):
    """The check only reads: Django's get_user would cycle such a session's key, leaving
    the browser's cookie pointing at nothing."""
    client = agent_client(agent)
    key = session_key(client)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    user, code = access.current_agent(key, agent.pk)
    assert (user, code) == (agent, None)
    assert Session.objects.filter(session_key=key).exists()


def test_a_due_check_runs_beside_the_frame_and_closes_the_socket(agent, settings):
    """With an interval, the frame that finds the verdict old is served on it while the
    check runs; the check's refusal then closes the socket."""
    settings.CHAT_AGENT_RECHECK_SECONDS = 0.000001  # every frame finds the verdict old
    client = agent_client(agent)

    async def scenario():
        console = await connect_agent(client)
        await drain(console, 0.05)
        await sync_to_async(
            lambda: type(agent).objects.filter(pk=agent.pk).update(is_staff=False)
        )()
        await console.send_json_to({"type": "presence", "status": "away"})
        assert await closed_with(console) == CLOSE_FORBIDDEN

    run(scenario)


# --- the login's idle clock on a socket -------------------------------------------------------


def _age_the_login(client, *, idle_seconds: float) -> None:
    """Move the login's clock back, as if its last activity was ``idle_seconds`` ago."""
    store = client.session
    state = dict(store[agent_sign_in.SESSION_KEY])
    state["seen_at"] = time.time() - idle_seconds
    store[agent_sign_in.SESSION_KEY] = state
    store.save()


def test_a_login_idle_past_its_limit_ends_the_socket_on_its_next_frame(agent, settings):
    settings.CHAT_AGENT_RECHECK_SECONDS = 0
    settings.AGENT_SESSION_IDLE_MINUTES = 30
    client = agent_client(agent)

    async def scenario():
        console = await connect_agent(client)
        await drain(console, 0.05)
        await sync_to_async(_age_the_login)(client, idle_seconds=31 * 60)
        await console.send_json_to({"type": "presence", "status": "away"})
        assert await closed_with(console) == CLOSE_SIGNED_OUT

    run(scenario)


def test_working_in_the_console_keeps_the_login_alive(agent, settings):
    """An agent who only chats is working: their frames restart the idle time, as a page
    request does, so the console does not sign them out after AGENT_SESSION_IDLE_MINUTES."""
    settings.CHAT_AGENT_RECHECK_SECONDS = 0
    settings.AGENT_SESSION_IDLE_MINUTES = 30
    client = agent_client(agent)

    async def scenario():
        console = await connect_agent(client)
        await drain(console, 0.05)
        await sync_to_async(_age_the_login)(client, idle_seconds=29 * 60)
        await console.send_json_to({"type": "presence", "status": "away"})
        frame = await receive_until(console, lambda f: f["type"] == "presence")
        assert frame["agent"]["presence"] == "away"
        await console.disconnect()

    run(scenario)
    seen_at = client.session[agent_sign_in.SESSION_KEY]["seen_at"]
    assert time.time() - seen_at < 60
