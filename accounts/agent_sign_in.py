"""Agents' sign-in around django-axes, and the clock of an agent's login.

django-axes counts failed sign-ins per username and per client address and refuses
authentication while either is over the limit (settings: SIGNIN_FAILURE_LIMIT,
SIGNIN_COOLOFF_MINUTES). It hears of a failure through Django's ``user_login_failed``
signal, which ``authenticate`` sends for a wrong password, an unknown account and a
refused (locked) one; a right password with a wrong second factor or no enrolment grant
is a failure too, sent here by ``record_failure``.

An agent's login has the same kind of clock as the customer's app session
(mywallet_support.http.session_expired): started at sign-in, ended after
AGENT_SESSION_IDLE_MINUTES without a request or AGENT_SESSION_MAX_HOURS after signing in.
A login without a clock (one from before this rule) counts as ended.
"""

import logging
import time

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed

from mywallet_support.http import session_expired
from mywallet_support.masking import mask_text

log = logging.getLogger(__name__)

SESSION_KEY = "agent_session_clock"
TOUCH_EVERY_SECONDS = 60


def record_failure(request, username: str) -> None:
    """Count a sign-in that passed the password but failed after it (the code, the
    enrolment grant) as a failure, exactly as a wrong password counts."""
    user_login_failed.send(
        sender=__name__,
        credentials={"username": username, "password": "********"},
        request=request,
    )


def masked_client_str(username, ip_address, user_agent, path_info, request) -> str:
    """How django-axes names a client in the log (AXES_CLIENT_STR_CALLABLE): the username
    masked (someone may type their password, a phone number or an email into it)."""
    masked = mask_text(username or "")
    return f'{{username: "{masked}", ip_address: "{ip_address}", path_info: "{path_info}"}}'


def log_refused_while_paused(sender, request, username, ip_address, **kwargs) -> None:
    """user_locked_out receiver (the pause starting, and each try during it): a try
    during the pause is stored nowhere, so a flood fills no table, but the log has it,
    masked."""
    log.warning("Sign-in paused: username %s from %s", mask_text(username or ""), ip_address)


def start_clock(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver: the login's clock starts now."""
    if request is None or not hasattr(request, "session"):
        return
    start(request.session)


def start(session) -> None:
    """Start the clock of the login kept in ``session`` (a sign-in; the benches' logins)."""
    now = time.time()
    session[SESSION_KEY] = {"signed_in_at": now, "seen_at": now}


def expired(session) -> bool:
    """Whether the agent's login in ``session`` has ended (idle, too old, or no clock)."""
    state = session.get(SESSION_KEY) if session is not None else None
    if not state:
        return True
    return session_expired(
        state,
        idle_seconds=settings.AGENT_SESSION_IDLE_MINUTES * 60,
        max_seconds=settings.AGENT_SESSION_MAX_HOURS * 3600,
    )


def touch(session) -> None:
    """A request of the agent's: the idle time starts again. Written at most once a
    minute, so that an agent's requests do not each rewrite their session."""
    state = session.get(SESSION_KEY)
    now = time.time()
    if state and now - state.get("seen_at", 0) >= TOUCH_EVERY_SECONDS:
        state["seen_at"] = now
        session[SESSION_KEY] = state


def connect_signals() -> None:
    user_logged_in.connect(start_clock, dispatch_uid="accounts.agent_sign_in.start_clock")
    user_locked_out.connect(
        log_refused_while_paused, dispatch_uid="accounts.agent_sign_in.log_refused_while_paused"
    )
