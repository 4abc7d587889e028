"""The in-memory channel layer we run in one process: cheaper per message, same behaviour."""

import asyncio
import logging
import time

import pytest
from django.conf import settings

from mywallet_support.layers import InMemoryChannelLayer


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, timeout=5))


def test_the_settings_use_it_without_redis():
    if settings.CHANNEL_LAYERS["default"]["BACKEND"].endswith("RedisPubSubChannelLayer"):
        pytest.skip("this run uses Redis (REDIS_URL)")
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == (
        "mywallet_support.layers.InMemoryChannelLayer"
    )


def test_a_group_send_reaches_every_member_once():
    async def scenario():
        layer = InMemoryChannelLayer()
        first, second = await layer.new_channel(), await layer.new_channel()
        for channel in (first, second):
            await layer.group_add("chat", channel)
        await layer.group_send("chat", {"type": "chat.message", "n": 1})
        return [await layer.receive(first), await layer.receive(second)]

    assert run(scenario()) == [{"type": "chat.message", "n": 1}] * 2


def test_the_channel_a_group_message_excludes_does_not_get_it():
    async def scenario():
        layer = InMemoryChannelLayer()
        sender, other = await layer.new_channel(), await layer.new_channel()
        for channel in (sender, other):
            await layer.group_add("chat", channel)
        await layer.group_send("chat", {"type": "chat.message", "n": 1, "exclude": sender})
        await layer.send(sender, {"type": "next"})
        return await layer.receive(other), await layer.receive(sender)

    message, next_for_sender = run(scenario())
    assert message["n"] == 1
    assert next_for_sender == {"type": "next"}  # the group message never reached it


def test_a_full_member_is_skipped_with_a_warning_and_the_others_still_get_it(caplog):
    async def scenario():
        layer = InMemoryChannelLayer(capacity=1)
        full, other = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("chat", full)
        await layer.group_add("chat", other)
        await layer.send(full, {"type": "x", "n": 0})
        await layer.group_send("chat", {"type": "x", "n": 1})
        return await layer.receive(full), await layer.receive(other)

    with caplog.at_level(logging.WARNING, logger="mywallet_support.layers"):
        assert run(scenario()) == ({"type": "x", "n": 0}, {"type": "x", "n": 1})
    assert "is full" in caplog.text


def test_expired_messages_are_still_cleaned_up_just_not_on_every_call(monkeypatch):
    async def scenario():
        layer = InMemoryChannelLayer(expiry=60)
        channel = await layer.new_channel()
        await layer.group_add("chat", channel)
        await layer.send(channel, {"type": "old"})
        calls = []
        original = InMemoryChannelLayer.__mro__[1]._clean_expired
        monkeypatch.setattr(
            InMemoryChannelLayer.__mro__[1],
            "_clean_expired",
            lambda self: (calls.append(1), original(self)),
        )
        layer._cleaned_at = float("-inf")
        for _ in range(50):
            layer._clean_expired()
        assert len(calls) == 1  # once per clean_seconds, however often it is asked
        # A minute later the message has expired and the next cleanup drops it and the
        # dead channel's group membership.
        later = time.time() + 120
        monkeypatch.setattr("time.time", lambda: later)
        layer._cleaned_at = float("-inf")
        layer._clean_expired()
        return channel in layer.channels, channel in layer.groups.get("chat", {})

    assert run(scenario()) == (False, False)
