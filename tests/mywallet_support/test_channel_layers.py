"""The Redis channel layer as configured: shared between processes, and alive when idle.

Needs Redis (REDIS_URL, or 127.0.0.1:6379): skipped locally without it, failed under CI.
"""

import asyncio
import os
import subprocess
import sys

import pytest
from channels_redis.pubsub import RedisPubSubChannelLayer
from redis import Redis
from redis.exceptions import RedisError

from mywallet_support.layers import redis_layer_config
from tests.conftest import need_server

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_url():
    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except RedisError as exc:
        need_server(f"Redis is not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


def layer(url):
    return RedisPubSubChannelLayer(**redis_layer_config(url, max_connections=50))


def test_redis_url_switches_the_settings_to_the_pubsub_layer():
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:6379/3", "DJANGO_DEBUG": "true"}
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.CHANNEL_LAYERS['default']))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "mywallet_support.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert '"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer"' in out
    assert '"socket_timeout": null' in out


def test_two_processes_layers_share_a_group_and_survive_idle_time(redis_url):
    """Two layer instances stand for two daphne processes; the subscriber then sits idle
    for longer than redis-py 8's default 5-second socket timeout and still receives."""

    async def scenario():
        one, two = layer(redis_url), layer(redis_url)
        try:
            channel = await one.new_channel()
            await one.group_add("ticket_1", channel)
            await two.group_send("ticket_1", {"type": "ticket.message", "message": 1})
            first = await asyncio.wait_for(one.receive(channel), timeout=5)
            await asyncio.sleep(6)  # longer than redis-py's default socket timeout
            await two.group_send("ticket_1", {"type": "ticket.message", "message": 2})
            second = await asyncio.wait_for(one.receive(channel), timeout=5)
            await one.group_discard("ticket_1", channel)
            return first, second
        finally:
            await one.flush()
            await two.flush()

    first, second = asyncio.run(scenario())
    assert first["message"] == 1
    assert second["message"] == 2
