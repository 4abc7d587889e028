"""Weibo's request signature: ``sha1("".join(sorted([app_secret, timestamp, nonce])))`` in
hex, sent as the ``signature`` query parameter with ``timestamp`` and ``nonce`` on the URL
check and on every pushed message. Compared in constant time; a timestamp outside the
tolerance, or a nonce seen within it, is refused, so a captured request cannot be played
again."""

import hashlib
import hmac
import time

from django.core.cache import cache

NONCE_KEY = "weibo:nonce:"


def sign(secret: str, timestamp: str, nonce: str) -> str:
    """The signature Weibo computes for these values."""
    return hashlib.sha1("".join(sorted([secret, timestamp, nonce])).encode()).hexdigest()  # noqa: S324 - the platform's algorithm


def refusal(
    params, *, secret: str, tolerance: int, now: float | None = None, spend_nonce: bool = True
) -> str:
    """Why a request's ``signature``, ``timestamp`` and ``nonce`` are not acceptable, or ""
    when they are. The nonce is spent only once the signature is proven, so a forger cannot
    use up a real sender's nonces."""
    if not secret:
        return "not configured"
    signature = params.get("signature", "")
    timestamp = params.get("timestamp", "")
    nonce = params.get("nonce", "")
    if not (signature and timestamp and nonce) or len(nonce) > 64 or len(timestamp) > 20:
        return "unsigned"
    expected = sign(secret, timestamp, nonce)
    if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
        return "bad signature"
    try:
        sent = int(timestamp)
    except ValueError:
        return "bad timestamp"
    if sent > 10**11:  # milliseconds
        sent //= 1000
    if abs((now if now is not None else time.time()) - sent) > tolerance:
        return "stale timestamp"
    if spend_nonce and not cache.add(NONCE_KEY + nonce, 1, timeout=2 * tolerance + 1):
        return "replayed nonce"
    return ""
