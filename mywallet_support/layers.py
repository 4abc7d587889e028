"""The channel layers: how the Redis layer is configured, and the in-memory layer we use.

In one place for the settings and the tests.
"""

import logging
import time

import channels.exceptions
import channels.layers

logger = logging.getLogger(__name__)

PUBSUB_LAYER = "channels_redis.pubsub.RedisPubSubChannelLayer"


def redis_layer_config(url: str, *, max_connections: int, key_prefix: str = "asgi") -> dict:
    """The pub/sub layer's CONFIG for ``url``.

    Measured with channels-redis 4.3 and redis-py 8: the default 5 s socket timeout closes
    idle subscribers (channels_redis#422) and the default pool raises instead of waiting
    when it runs out, so: no socket timeout, and a pool sized for the expected sockets.
    The pub/sub layer, unlike the core layer, drops nothing at a per-process capacity.

    ``key_prefix`` (REDIS_KEY_PREFIX) starts every channel and group name the layer
    publishes on, so two instances sharing one Redis database never hear each other's
    groups. channels_redis glues it to the name without a separator; we add a dot.
    """
    return {
        "hosts": [{"address": url, "socket_timeout": None, "max_connections": max_connections}],
        "prefix": f"{key_prefix}.",
    }


class InMemoryChannelLayer(channels.layers.InMemoryChannelLayer):
    """channels' in-memory layer (one process), made cheaper per message.

    - Its cleanup walks every channel and every group membership, and it ran on every
      send, receive and group_send: with the chat's sockets, each in a few groups, that
      was a sixth of daphne's time under bench/chat_load.py. Messages expire after a
      minute and group memberships after a day, so cleaning at most every
      ``clean_seconds`` changes nothing.
    - Its group_send started a task per member; sending to each in turn does the same
      (a full channel is skipped, as there) without a task and a wait per member.
    - A group message may name, under ``exclude``, the one channel it is not for (the
      socket that sent a chat message): it is not delivered there at all. The consumers
      check ``exclude`` themselves too, for the other layers; here it saves the echo of
      every chat message to its sender (a quarter of daphne's time per message under
      bench/chat_load.py).
    """

    clean_seconds = 1.0
    _cleaned_at = float("-inf")

    def _clean_expired(self):
        now = time.monotonic()
        if now - self._cleaned_at < self.clean_seconds:
            return
        self._cleaned_at = now
        super()._clean_expired()

    async def group_send(self, group, message):
        self.require_valid_group_name(group)
        self._clean_expired()
        exclude = message.get("exclude")
        for channel in list(self.groups.get(group, ())):
            if channel == exclude:
                continue
            try:
                await self.send(channel, message)
            except channels.exceptions.ChannelFull:
                logger.warning("channel layer: %s is full, a message was dropped", channel)
