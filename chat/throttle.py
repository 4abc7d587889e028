"""Rate limits: a token bucket per socket, and a per-address limit on the HTTP endpoints."""

import time

from django.conf import settings
from django.core.cache import cache

from mywallet_support.http import client_address


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
