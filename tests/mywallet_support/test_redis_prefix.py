"""REDIS_KEY_PREFIX: two instances sharing one Redis database keep apart.

The channel layer and the cache are built from the settings each instance loads (a
subprocess per prefix, as a second deployment would load them), on one real Redis database.
Needs Redis (REDIS_URL, or 127.0.0.1:6379/11): skipped locally without it, failed under CI.
"""

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import uuid

import pytest
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.core.cache.backends.redis import RedisCache
from redis import Redis
from redis.exceptions import RedisError

from tests.conftest import need_server
from tests.e2e.servers import ROOT, server_env

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/11")

pytestmark = pytest.mark.redis

SHOW_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings; "
    "print(json.dumps({'layer': settings.CHANNEL_LAYERS['default'], "
    "'cache': settings.CACHES['default']}))"
)


@pytest.fixture(scope="module")
def redis_url():
    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except RedisError as exc:
        need_server(f"Redis is not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


def load_settings(redis_url: str, prefix: str | None) -> subprocess.CompletedProcess:
    """Load the settings as one instance would, with this prefix (None: the default)."""
    env = {**server_env(REDIS_URL=redis_url), "DJANGO_SETTINGS_MODULE": "mywallet_support.settings"}
    env.pop("REDIS_KEY_PREFIX", None)
    if prefix is not None:
        env["REDIS_KEY_PREFIX"] = prefix
    return subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def instance_settings(redis_url: str, prefix: str | None) -> dict:
    """The channel layer and cache settings one instance loads with this prefix."""
    loaded = load_settings(redis_url, prefix)
    assert loaded.returncode == 0, loaded.stderr
    return json.loads(loaded.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def blue(redis_url):
    return instance_settings(redis_url, "blue")


@pytest.fixture(scope="module")
def green(redis_url):
    return instance_settings(redis_url, "green")


def cache_of(config: dict) -> RedisCache:
    return RedisCache(config["LOCATION"], config)


async def heard(listener: dict, speaker: dict, group: str) -> list:
    """What a socket of ``listener`` in ``group`` receives when ``speaker`` sends there."""
    one = RedisPubSubChannelLayer(**listener["CONFIG"])
    two = RedisPubSubChannelLayer(**speaker["CONFIG"])
    try:
        channel = await one.new_channel()
        await one.group_add(group, channel)
        await asyncio.sleep(0.2)  # the subscription is in place before anyone speaks
        await two.group_send(group, {"type": "ticket.message", "message": "hello"})
        received = []
        with contextlib.suppress(TimeoutError):
            received.append(await asyncio.wait_for(one.receive(channel), timeout=1.5))
        await one.group_discard(group, channel)
        return received
    finally:
        await one.flush()
        await two.flush()


def test_the_default_prefix_is_mywallet(redis_url):
    settings = instance_settings(redis_url, None)

    assert settings["cache"]["KEY_PREFIX"] == "mywallet"
    assert settings["layer"]["CONFIG"]["prefix"] == "mywallet."


def test_a_bad_prefix_stops_the_start(redis_url):
    loaded = load_settings(redis_url, "my wallet:")

    assert loaded.returncode != 0
    assert "REDIS_KEY_PREFIX must be" in loaded.stderr


def test_instances_with_different_prefixes_do_not_hear_each_others_groups(blue, green):
    group = f"ticket_{uuid.uuid4().hex[:8]}"

    assert asyncio.run(heard(blue["layer"], green["layer"], group)) == []
    # The same two settings with one prefix do hear each other: the silence above is the prefix.
    same = asyncio.run(heard(blue["layer"], blue["layer"], group))
    assert [message["message"] for message in same] == ["hello"]


def test_instances_with_different_prefixes_do_not_share_cache_keys(blue, green):
    key = f"code-limit:{uuid.uuid4().hex[:8]}"
    blue_cache, green_cache = cache_of(blue["cache"]), cache_of(green["cache"])
    try:
        blue_cache.set(key, 5, 60)
        assert green_cache.get(key) is None
        assert green_cache.add(key, 1, 60)  # not taken: green's key is its own
        assert blue_cache.get(key) == 5
        assert green_cache.get(key) == 1
        assert cache_of(blue["cache"]).get(key) == 5  # a second blue process sees blue's
    finally:
        blue_cache.delete(key)
        green_cache.delete(key)
