"""The benchmark's bare relay socket (chat/relay.py) exists only with CHAT_BENCH_RELAY on."""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from chat import routing

from .servers import migrated_database, running_daphne

pytestmark = pytest.mark.e2e


def routes(patterns) -> list[str]:
    return [str(pattern.pattern) for pattern in patterns]


def test_the_relay_route_is_off_by_default():
    assert not any("bench-relay" in route for route in routes(routing.websocket_urlpatterns))
    assert any("bench-relay" in route for route in routes(routing.patterns(bench_relay=True)))


async def relay_once(server) -> str:
    async def side(name):
        url = f"{server.ws_base_url}/ws/bench-relay/7/{name}/"
        return await connect(url, origin=server.base_url, open_timeout=10, proxy=None)

    customer, agent = await side("customer"), await side("agent")
    try:
        await customer.send(json.dumps({"n": 1}))
        return await asyncio.wait_for(agent.recv(), 10)
    finally:
        await customer.close()
        await agent.close()


def test_a_server_started_with_the_setting_relays_and_one_without_refuses(tmp_path):
    with migrated_database(tmp_path) as env:
        with running_daphne(env={**env, "CHAT_BENCH_RELAY": "true"}) as server:
            assert asyncio.run(asyncio.wait_for(relay_once(server), 30)) == '{"n": 1}'
        with running_daphne(env=env) as server, pytest.raises((InvalidStatus, OSError)):
            asyncio.run(asyncio.wait_for(relay_once(server), 30))
