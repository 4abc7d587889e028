"""The API's three ways in (see api.callers for what each may do).

- ``Authorization: Bearer mws_...``: an integration's key (`ApiKeyAuthentication`).
- ``X-Customer-Token: <JWT>``: the MY Wallet app's signed token for its signed-in customer,
  audience ``mywallet-support:api`` (`CustomerTokenAuthentication`).
- The admin's session cookie, with the CSRF token on writes (`AgentSessionAuthentication`);
  only an agent who signed in with two factors counts.

Two server-to-server endpoints keep the credentials their senders already have:
POST /api/calls/ also takes the telephony system's shared token
(`TelephonyTokenAuthentication`), and POST /api/wallet-events/ is proven by its signature
(api.wallet_signature).

A credential that is present but wrong is refused (401) rather than ignored, so a client
with a revoked key learns it at once instead of being served as anonymous.
"""

import hmac
import logging

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from accounts.app_identity import AUDIENCE_API, AppTokenRefused, verify
from mywallet_support.http import client_address

from .actions import record_use
from .keys import secret_matches, split_key
from .models import ApiKey

logger = logging.getLogger(__name__)

CUSTOMER_TOKEN_HEADER = "X-Customer-Token"  # noqa: S105 (a header's name)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        scheme, _space, text = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        parts = split_key(text.strip())
        if parts is None:
            raise exceptions.AuthenticationFailed(_("The API key is malformed."))
        prefix, secret = parts
        key = ApiKey.objects.select_related("user").filter(prefix=prefix).first()
        if key is None or not secret_matches(secret, key.secret_hash):
            logger.info("API key refused: unknown or wrong (prefix %s)", prefix)
            raise exceptions.AuthenticationFailed(_("The API key is not valid."))
        if not key.active or not key.user.is_active:
            logger.info("API key refused: revoked or expired (prefix %s)", prefix)
            raise exceptions.AuthenticationFailed(_("The API key has been revoked or has expired."))
        record_use(key, address=client_address(request))
        return key.user, key

    def authenticate_header(self, request):
        return self.keyword


class CustomerTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        token = request.headers.get(CUSTOMER_TOKEN_HEADER)
        if token is None:
            return None
        try:
            identity = verify(token.strip(), audience=AUDIENCE_API)
        except AppTokenRefused as refused:
            raise exceptions.AuthenticationFailed(str(refused)) from None
        return AnonymousUser(), identity

    def authenticate_header(self, request):
        return CUSTOMER_TOKEN_HEADER


class AgentSessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication (CSRF enforced on unsafe methods); whether the user is
    an agent with a verified second factor is api.callers' question."""


class TelephonyToken:
    """``request.auth`` for the telephony system: it proved the shared token, nothing more."""


class TelephonyTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <TELEPHONY_API_TOKEN>``, compared in constant time; unset,
    it opens nothing. Any other bearer is left to the API key's check (so a wrong token is
    refused there, 401), which must come after this class."""

    def authenticate(self, request):
        scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
        expected = settings.TELEPHONY_API_TOKEN
        if scheme.lower() != "bearer" or not expected:
            return None
        if not hmac.compare_digest(token.strip().encode(), expected.encode()):
            return None
        return AnonymousUser(), TelephonyToken()

    def authenticate_header(self, request):
        return "Bearer"
