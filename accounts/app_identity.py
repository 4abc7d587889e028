"""Who the MY Wallet app says the customer is: short-lived identity tokens.

The wallet backend, where the customer is signed in, signs a JWT (HS256) for them and the
app opens the chat or the self-service pages with it, as Intercom's and Zendesk's
messaging identity verification do. A token is accepted when:

- its header names (``kid``) one of ``settings.APP_IDENTITY_KEYS`` and its signature
  matches that key (a retired key is one removed from the setting: refused from then on);
- it is for the audience asked for (``aud``: the chat or the self-service pages), so a
  token minted for one cannot open the other;
- it is current (``iat``, ``exp``, within the leeway) and short-lived (``exp - iat`` at
  most ``APP_IDENTITY_MAX_LIFETIME_SECONDS``);
- its id (``jti``) has never been used: the first use records it (``AppTokenUse``), so a
  token copied from a log or a browser history cannot be replayed;
- its subject (``sub``) is a wallet account number we know.

A token is never logged; a refusal is, with its reason and key id.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import AppTokenUse, WalletAccount

logger = logging.getLogger(__name__)

AUDIENCE_CHAT = "mywallet-support:chat"
AUDIENCE_ACCOUNT = "mywallet-support:account"
# The REST API's customer endpoints: the app sends the token on each request while it is
# current (a header, never a URL), so its id is not spent on first use.
AUDIENCE_API = "mywallet-support:api"
ALGORITHM = "HS256"
# A token is a few hundred bytes; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 4096


class AppTokenRefused(Exception):
    """The token proves nothing. ``reason`` is a short code for logs and tests; the message
    is for the person (it never says which check failed beyond expired or used)."""

    def __init__(self, reason: str):
        self.reason = reason
        if reason == "expired":
            message = _("This link from the app has expired. Open it again from the app.")
        elif reason == "replayed":
            message = _("This link from the app has already been used. Open it again from the app.")
        else:
            message = _("The app could not confirm who you are. Open this page again from the app.")
        super().__init__(message)


@dataclass(frozen=True)
class AppIdentity:
    """A customer proven by the app: their wallet, and until when the token was valid."""

    account: WalletAccount
    jti: str
    key_id: str
    expires_at: datetime

    @property
    def customer(self):
        return self.account.customer


def sign(
    account: WalletAccount,
    *,
    audience: str,
    lifetime: int | None = None,
    key_id: str | None = None,
    issued_at: datetime | None = None,
    jti: str | None = None,
) -> str:
    """A token for ``account``, as the wallet backend signs it: what the demo's "play the
    app" page and the tests use. Signed with ``key_id``'s secret (default: the first key)."""
    keys = settings.APP_IDENTITY_KEYS
    if not keys:
        raise AppTokenRefused("not_configured")
    key_id = key_id or next(iter(keys))
    issued_at = issued_at or timezone.now()
    lifetime = settings.APP_IDENTITY_MAX_LIFETIME_SECONDS if lifetime is None else lifetime
    claims = {
        "sub": account.number,
        "aud": audience,
        "iat": int(issued_at.timestamp()),
        "exp": int((issued_at + timedelta(seconds=lifetime)).timestamp()),
        "jti": jti or secrets.token_urlsafe(18),
    }
    return jwt.encode(claims, keys[key_id][0], algorithm=ALGORITHM, headers={"kid": key_id})


def verify(token: str, *, audience: str) -> AppIdentity:
    """The customer the token proves, for ``audience``; its id is spent (except for
    AUDIENCE_API, whose tokens are reused until they expire). Raises AppTokenRefused with
    the reason otherwise (and spends nothing)."""
    try:
        return _verify(token, audience)
    except AppTokenRefused as refused:
        logger.info("app identity token refused (%s) for %s", refused.reason, audience)
        raise


def _verify(token: str, audience: str) -> AppIdentity:
    keys = settings.APP_IDENTITY_KEYS
    if not keys:
        raise AppTokenRefused("not_configured")
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise AppTokenRefused("malformed")
    try:
        key_id = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        raise AppTokenRefused("malformed") from None
    if not isinstance(key_id, str) or key_id.lower() not in keys:
        raise AppTokenRefused("unknown_key")
    key_id = key_id.lower()
    leeway = settings.APP_IDENTITY_LEEWAY_SECONDS
    try:
        claims = jwt.decode(
            token,
            keys[key_id][0],
            algorithms=[ALGORITHM],
            audience=audience,
            leeway=leeway,
            options={"require": ["sub", "aud", "iat", "exp", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise AppTokenRefused("expired") from None
    except jwt.InvalidAudienceError:
        raise AppTokenRefused("wrong_audience") from None
    except jwt.ImmatureSignatureError:
        raise AppTokenRefused("not_yet_valid") from None
    except jwt.InvalidSignatureError:
        raise AppTokenRefused("bad_signature") from None
    except jwt.InvalidTokenError:
        raise AppTokenRefused("malformed") from None
    issued_at, expires_at = claims["iat"], claims["exp"]
    if not isinstance(issued_at, int | float) or not isinstance(expires_at, int | float):
        raise AppTokenRefused("malformed")
    if issued_at > timezone.now().timestamp() + leeway:
        raise AppTokenRefused("not_yet_valid")
    if expires_at - issued_at > settings.APP_IDENTITY_MAX_LIFETIME_SECONDS:
        raise AppTokenRefused("too_long")
    jti, number = claims["jti"], claims["sub"]
    if not isinstance(jti, str) or not 16 <= len(jti) <= 64 or not isinstance(number, str):
        raise AppTokenRefused("malformed")
    account = WalletAccount.objects.select_related("customer").filter(number=number).first()
    if account is None:
        raise AppTokenRefused("unknown_wallet")
    expires = datetime.fromtimestamp(expires_at, tz=UTC)
    if audience == AUDIENCE_API:
        return AppIdentity(account=account, jti=jti, key_id=key_id, expires_at=expires)
    _spend(jti, audience=audience, account=account, key_id=key_id, expires_at=expires)
    return AppIdentity(account=account, jti=jti, key_id=key_id, expires_at=expires)


def _spend(jti: str, *, audience: str, account: WalletAccount, key_id: str, expires_at) -> None:
    """Record the token's id, once: a second use of the same id is a replay."""
    now = timezone.now()
    # Ids of expired tokens need not be kept: the expiry alone refuses those tokens.
    AppTokenUse.objects.filter(
        expires_at__lt=now - timedelta(seconds=settings.APP_IDENTITY_LEEWAY_SECONDS)
    ).delete()
    try:
        with transaction.atomic():
            AppTokenUse.objects.create(
                jti=jti, audience=audience, account=account, key_id=key_id, expires_at=expires_at
            )
    except IntegrityError:
        raise AppTokenRefused("replayed") from None
