"""Who may hold an agent socket (/ws/agent/), at connect and for as long as it stays open.

An HTTP request is checked by Django's middleware each time; a socket is checked once, at
connect, unless someone checks it again. This module is that check, read afresh from
storage: the session in its store (a logout flushes it, a password change cycles its key
or voids its hash), the user (deactivated, deleted), their permissions (a group or a
permission removed) and the two-factor device the session was verified with.

The consumer (chat.consumers.AgentConsumer) asks ``current_agent`` when a frame arrives
and its last check is older than CHAT_AGENT_RECHECK_SECONDS, and whenever
chat.revocation tells it that the user's account or roles changed; a refusal closes the
socket with the code that says why (chat.protocol: CLOSE_SIGNED_OUT, CLOSE_FORBIDDEN).
"""

from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import get_user
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from accounts.permissions import is_agent

from .protocol import CLOSE_FORBIDDEN, CLOSE_SIGNED_OUT


def agent_allowed(user, session) -> bool:
    """An agent (accounts.permissions.is_agent) with a session verified by a confirmed
    device of theirs, as the admin demands (django_otp's OTPMiddleware does the same check
    for HTTP requests; a socket has no middleware to do it)."""
    if not is_agent(user):
        return False
    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk and device.confirmed


def current_agent(session_key: str | None, user_id: int):
    """``(user, None)`` when the session ``session_key`` still signs in ``user_id`` as an
    agent verified with two factors; else ``(None, close code)``: CLOSE_SIGNED_OUT when the
    session no longer signs them in (logged out, expired, password changed, deactivated,
    deleted), CLOSE_FORBIDDEN when it does but they are no longer a verified agent.

    Five queries (session, user, the user's and their groups' permissions, device); the
    user comes back fresh, so the actions the socket calls next check today's permissions.
    Django's own ``get_user`` decides, as it would for the session's next request.
    """
    if not session_key:
        return None, CLOSE_SIGNED_OUT
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(SimpleNamespace(session=store))
    if not user.is_authenticated or user.pk != user_id or not user.is_active:
        return None, CLOSE_SIGNED_OUT
    if not agent_allowed(user, store):
        return None, CLOSE_FORBIDDEN
    return user, None
