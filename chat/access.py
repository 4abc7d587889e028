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

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.core.exceptions import ValidationError
from django.utils.crypto import constant_time_compare
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from accounts import agent_sign_in
from accounts.permissions import is_agent

from .protocol import CLOSE_FORBIDDEN, CLOSE_SIGNED_OUT


def agent_allowed(user, session) -> bool:
    """An agent (accounts.permissions.is_agent) with a session verified by a confirmed
    device of theirs, as the admin demands (django_otp's OTPMiddleware does the same check
    for HTTP requests; a socket has no middleware to do it), and not past its idle or
    absolute lifetime (accounts.agent_sign_in, as workspace.middleware for HTTP)."""
    if not is_agent(user) or agent_sign_in.expired(session):
        return False
    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk and device.confirmed


def session_user(store):
    """The user ``store`` signs in, by the rules of Django's ``get_user`` (the session's
    backend, the user it finds, the session hash under the current secret or a fallback),
    or None. Unlike ``get_user`` it only reads: flushing the session or cycling its key is
    the next HTTP request's business, and a new key would orphan the browser's cookie."""
    try:
        user_id = get_user_model()._meta.pk.to_python(store[SESSION_KEY])
        backend_path = store[BACKEND_SESSION_KEY]
    except (KeyError, ValidationError):
        return None
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    user = load_backend(backend_path).get_user(user_id)
    session_hash = store.get(HASH_SESSION_KEY)
    if user is None or not session_hash:
        return None
    if constant_time_compare(session_hash, user.get_session_auth_hash()) or any(
        constant_time_compare(session_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    ):
        return user
    return None


def current_agent(session_key: str | None, user_id: int, *, active: bool = False):
    """``(user, None)`` when the session ``session_key`` still signs in ``user_id`` as an
    agent verified with two factors; else ``(None, close code)``: CLOSE_SIGNED_OUT when the
    session no longer signs them in (logged out, past its idle or absolute lifetime,
    password changed, deactivated, deleted), CLOSE_FORBIDDEN when it does but they are no
    longer a verified agent.

    ``active``: the agent sent frames since the last check. Working in the console is
    working: it restarts the login's idle time as a page does (accounts.agent_sign_in.touch,
    a session write at most once a minute), so an agent who only chats is not signed out.

    Five queries (session, user, the user's and their groups' permissions, device); the
    user comes back fresh, so the actions the socket calls next check today's permissions.
    """
    if not session_key:
        return None, CLOSE_SIGNED_OUT
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = session_user(store)
    if user is None or user.pk != user_id or not user.is_active:
        return None, CLOSE_SIGNED_OUT
    if agent_sign_in.expired(store):
        return None, CLOSE_SIGNED_OUT
    if active:
        agent_sign_in.touch(store)
        if store.modified:
            store.save()
    if not agent_allowed(user, store):
        return None, CLOSE_FORBIDDEN
    return user, None
