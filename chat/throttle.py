"""Rate limits: a token bucket per socket, counters shared by a session's sockets and by
a chat's, and a per-address limit on the HTTP endpoints."""

import asyncio
import hashlib
import logging
import time
import weakref

import redis
import redis.asyncio
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from mywallet_support.http import client_address

logger = logging.getLogger(__name__)


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; each frame takes one."""

    def __init__(self, *, rate: float, burst: int, clock=time.monotonic):
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.clock = clock
        self.stamp = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def socket_bucket() -> TokenBucket:
    return TokenBucket(rate=settings.CHAT_RATE_PER_SECOND, burst=settings.CHAT_RATE_BURST)


def session_key_part(session_key: str) -> str:
    """A session's part of a cache key: a digest, so the cache never holds a usable key."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:32]


def shared_allowed(names: list[str], *, now: float | None = None) -> bool:
    """Whether one more frame fits every counter in ``names`` (a session's, a chat side's):
    at most CHAT_SHARED_FRAMES per window of CHAT_SHARED_WINDOW_SECONDS, counted in the
    cache for all the sockets of every process. Every counter named is counted, even when
    an earlier one is already full, so a refused frame still costs its session.

    Fixed windows: a client can at most send two windows' worth across a window's edge.
    Synchronous (a cache round trip); the sockets call ``shared_allowed_async``.
    """
    if not names:
        return True
    keys = counter_keys(names, now=now)
    limit = settings.CHAT_SHARED_FRAMES
    timeout = settings.CHAT_SHARED_WINDOW_SECONDS * 2
    return all(count <= limit for count in _count(keys, timeout=timeout))


async def shared_allowed_async(names: list[str]) -> bool:
    """``shared_allowed`` for the sockets, without blocking their event loop: on Redis
    through redis-py's asyncio client (one pipelined round trip, no thread hop: the chat
    avoids a hop per frame, see chat.sockets), elsewhere (locmem) in line, as its
    counters are in this process's memory."""
    if not names:
        return True
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return shared_allowed(names)
    keys = [backend.make_and_validate_key(key) for key in counter_keys(names)]
    timeout = settings.CHAT_SHARED_WINDOW_SECONDS * 2
    try:
        pipe = _async_client(backend._servers[0]).pipeline(transaction=False)
        for key in keys:
            pipe.set(key, 0, ex=timeout, nx=True)
            pipe.incr(key)
        counts = (await pipe.execute())[1::2]
    except redis.RedisError:
        # Redis away (a restart): the chat goes on, stored and caught up as ever, held to
        # each socket's own bucket until the counters are back.
        _warn_unshared()
        return True
    return all(int(count) <= settings.CHAT_SHARED_FRAMES for count in counts)


_last_warning = float("-inf")


def _warn_unshared() -> None:
    """At most one warning a minute, not one per frame."""
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= 60:
        _last_warning = now
        logger.warning("shared chat rate counters unavailable; per-socket limits only")


_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = weakref.WeakKeyDictionary()


def _async_client(url: str):
    """One asyncio Redis client per event loop and server (a client is bound to the loop
    it first ran in; daphne has one, tests start several)."""
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    if url not in per_loop:
        # Bounded waits: a frame waits at most a second for the counters (then goes on).
        per_loop[url] = redis.asyncio.Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=1
        )
    return per_loop[url]


def counter_keys(names: list[str], *, now: float | None = None) -> list[str]:
    """The cache keys of these counters in the window of ``now`` (default: now)."""
    window = settings.CHAT_SHARED_WINDOW_SECONDS
    stamp = int((time.time() if now is None else now) // window)
    return [f"chat-rate:{name}:{stamp}" for name in names]


def _count(keys: list[str], *, timeout: int) -> list[int]:
    """Add one to each counter (created with ``timeout``); their new values.

    On Redis, one round trip for them all (SET NX EX then INCR, pipelined; Django stores
    integers unpickled, so its own ``get`` reads them too); elsewhere (locmem, in dev and
    tests) Django's ``add`` and ``incr``.
    """
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        full = [backend.make_and_validate_key(key) for key in keys]
        pipe = backend._cache.get_client(full[0], write=True).pipeline(transaction=False)
        for key in full:
            pipe.set(key, 0, ex=timeout, nx=True)
            pipe.incr(key)
        return [int(value) for value in pipe.execute()[1::2]]
    counts = []
    for key in keys:
        if cache.add(key, 1, timeout=timeout):
            counts.append(1)
            continue
        try:
            counts.append(cache.incr(key))
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=timeout)
            counts.append(1)
    return counts


def http_allowed(request, scope: str) -> bool:
    """At most CHAT_HTTP_PER_MINUTE POSTs a minute per client address and endpoint (shared
    by every process when the cache is Redis)."""
    address = client_address(request) or "unknown"
    key = f"chat-throttle:{scope}:{address}:{int(time.time() // 60)}"
    if cache.add(key, 1, timeout=90):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=90)
        return True
    return count <= settings.CHAT_HTTP_PER_MINUTE
