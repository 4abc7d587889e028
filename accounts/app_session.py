"""The customer's session on the self-service pages, started by the MY Wallet app.

A customer never signs in with a password of ours: the app opens /account/sign-in/ with an
identity token (accounts.app_identity), and the page starts this session for that wallet.
It is kept apart from Django's login, which only agents use:

- it lives under its own session key, never in ``request.user``;
- starting it ends any login in the same browser (an agent's admin session never becomes a
  customer's), and a session that has a login is never a customer's (an agent signing in
  after a customer does not inherit the wallet);
- it ends after ACCOUNT_SESSION_IDLE_MINUTES without a request and
  ACCOUNT_SESSION_MAX_MINUTES after it started, whatever the customer does.
"""

import time

from django.conf import settings
from django.contrib.auth import logout

from mywallet_support.http import session_expired

from .models import WalletAccount

SESSION_KEY = "account_app_session"


def start(request, wallet: WalletAccount) -> None:
    """Sign the browser in as ``wallet``'s customer, under a new session key (the old one
    may have been seen by someone else: session fixation)."""
    if request.user.is_authenticated:
        logout(request)  # flushes the session, with a new key
    else:
        request.session.cycle_key()
    now = time.time()
    request.session[SESSION_KEY] = {"wallet": wallet.pk, "signed_in_at": now, "seen_at": now}


def end(request) -> None:
    """Sign the customer out: the whole session goes, with every flow in it."""
    request.session.flush()


def signed_in_wallet(request) -> WalletAccount | None:
    """The wallet of the customer signed in on this browser, or None (never signed in,
    timed out, the wallet closed since, or the session is an agent's). Each call counts as
    activity for the idle timeout."""
    state = request.session.get(SESSION_KEY)
    if not state:
        return None
    if request.user.is_authenticated or _expired(state):
        request.session.pop(SESSION_KEY, None)
        return None
    wallet = (
        WalletAccount.objects.select_related("customer")
        .exclude(status=WalletAccount.Status.CLOSED)
        .filter(pk=state["wallet"])
        .first()
    )
    if wallet is None:
        request.session.pop(SESSION_KEY, None)
        return None
    state["seen_at"] = time.time()
    request.session.modified = True
    return wallet


def _expired(state: dict) -> bool:
    return session_expired(
        state,
        idle_seconds=settings.ACCOUNT_SESSION_IDLE_MINUTES * 60,
        max_seconds=settings.ACCOUNT_SESSION_MAX_MINUTES * 60,
    )
