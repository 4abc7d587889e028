"""Agents' presence reaches every console as it changes ("presence" frame), not only in
"hello": set in a console, or when an agent's last console closes."""

import pytest
from asgiref.sync import async_to_sync

from tests.chat.conftest import agent_client, connect_agent, drain, receive_until

pytestmark = pytest.mark.django_db(transaction=True)


def is_presence_of(user, status):
    return lambda f: (
        f["type"] == "presence"
        and f["agent"]["id"] == user.pk
        and (f["agent"]["presence"] == status)
    )


def test_an_agents_presence_changes_reach_the_other_consoles(agent, other_agent):
    agent.first_name = "Wang"
    agent.save()
    mine, theirs = agent_client(agent), agent_client(other_agent)

    async def scenario():
        watcher = await connect_agent(theirs, online=False)
        console = await connect_agent(mine, online=False)
        await drain(watcher)
        await console.send_json_to({"type": "presence", "status": "online"})
        frame = await receive_until(watcher, is_presence_of(agent, "online"))
        assert frame == {
            "type": "presence",
            "agent": {"id": agent.pk, "name": "Wang", "presence": "online"},
        }
        await console.send_json_to({"type": "presence", "status": "away"})
        await receive_until(watcher, is_presence_of(agent, "away"))
        await console.send_json_to({"type": "presence", "status": "away"})  # no change
        await console.disconnect()  # the last console closing: offline
        frames = await drain(watcher, 0.5)
        await watcher.disconnect()
        return [f["agent"]["presence"] for f in frames if f["type"] == "presence"]

    assert async_to_sync(scenario)() == ["offline"]
