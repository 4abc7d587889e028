"""How the channel layer talks to Redis, in one place for the settings and the tests."""

PUBSUB_LAYER = "channels_redis.pubsub.RedisPubSubChannelLayer"


def redis_layer_config(url: str, *, max_connections: int) -> dict:
    """The pub/sub layer's CONFIG for ``url``.

    Measured with channels-redis 4.3 and redis-py 8: the default 5 s socket timeout closes
    idle subscribers (channels_redis#422) and the default pool raises instead of waiting
    when it runs out, so: no socket timeout, and a pool sized for the expected sockets.
    The pub/sub layer, unlike the core layer, drops nothing at a per-process capacity.
    """
    return {"hosts": [{"address": url, "socket_timeout": None, "max_connections": max_connections}]}
