"""Request helpers shared by every edge: the body-size check the small customer forms make,
the client's address, and the idle/absolute clock of a signed-in session."""

import ipaddress
import time

from django.conf import settings


def declared_too_large(request, limit: int) -> bool:
    """Whether a request with a body declares more than ``limit`` bytes, or declares no
    usable length: answered before the body is read into memory."""
    if request.method in ("GET", "HEAD"):
        return False
    declared = request.headers.get("Content-Length", "")
    return not declared.isdigit() or int(declared) > limit


def client_address(request) -> str | None:
    """The address of the client behind ``request``: the one every per-address limit counts
    (sign-in lock-out, chat and self-service throttles, confirmation look-ups).

    Behind a reverse proxy, REMOTE_ADDR is the proxy's. With TRUSTED_PROXY_HEADER set (a
    request.META name such as HTTP_X_FORWARDED_FOR), the address is the TRUSTED_PROXY_COUNT-th
    entry from the right of that comma-separated header: each trusted proxy appends the
    address it was reached from, so entries further left were written by the client and
    are never believed. A header with fewer entries, or an entry that is not an IP address,
    means the request did not come through the proxies: REMOTE_ADDR then.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    header = settings.TRUSTED_PROXY_HEADER
    if not header:
        return remote
    entries = [entry.strip() for entry in request.META.get(header, "").split(",")]
    entries = [entry for entry in entries if entry]
    count = settings.TRUSTED_PROXY_COUNT
    if count < 1 or len(entries) < count:
        return remote
    candidate = entries[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def session_expired(state: dict, *, idle_seconds: float, max_seconds: float) -> bool:
    """Whether a signed-in session whose clock is ``state`` ({"signed_in_at", "seen_at"},
    epoch seconds) has been idle longer than ``idle_seconds`` or lived longer than
    ``max_seconds``. Shared by the customer's app session and the agents' login, so both
    end the same way; a state without its stamps counts as expired."""
    now = time.time()
    idle = now - state.get("seen_at", 0) > idle_seconds
    too_old = now - state.get("signed_in_at", 0) > max_seconds
    return idle or too_old
