"""The wallet core's way in to POST /api/wallet-events/: a signed body, not a key.

``X-Wallet-Timestamp`` is the sending time in Unix seconds, ``X-Wallet-Signature`` the hex
HMAC-SHA256 of ``"<timestamp>." + body`` keyed with settings.WALLET_EVENTS_SECRET. A
timestamp further than WALLET_EVENTS_WINDOW_SECONDS from now is refused, so a captured
request cannot be replayed later; within the window the event id makes a replay a no-op.

This is the transport only: size, signature, time, checked before anything parses the
body. A request refused here (too large, signature missing or wrong, stale timestamp) is
anyone's: it is kept as a bounded sample (`accounts.actions.wallet_events.sample_refused`:
digest, size, first bytes, reason, address), and an address's
WALLET_EVENTS_REFUSED_PER_ADDRESS_HOUR refusals an hour are all it gets: the next ones are
answered 429 and leave nothing. A signed body is never limited: a flood of forged requests
from its address cannot stop the wallet core's.
"""

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions, status

from accounts.actions import wallet_events as events
from mywallet_support.http import client_address

logger = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Wallet-Timestamp"
SIGNATURE_HEADER = "X-Wallet-Signature"
REFUSALS_RESET_SECONDS = 3600


@dataclass(frozen=True)
class SignedBody:
    """``request.auth`` once the signature is proven: the body exactly as signed."""

    raw: bytes


class Refused(exceptions.APIException):
    """A refusal with its own status and code (the error shape carries the code)."""

    def __init__(self, status_code: int, code: str, detail: str):
        self.status_code = status_code
        super().__init__(detail, code)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature the wallet core sends (also used by tests and tools)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _digits(value: str) -> bool:
    """ASCII digits only: str.isdigit() also takes "²" and other digits int() refuses."""
    return value.isascii() and value.isdigit()


def _signature_problem(request, body: bytes) -> str:
    """Why the request is not authentic, or "" when it is."""
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not timestamp or not signature:
        return f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required."
    if not _digits(timestamp) or len(timestamp) > 12:
        return f"{TIMESTAMP_HEADER} must be Unix seconds."
    expected = sign(settings.WALLET_EVENTS_SECRET, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        return "The signature does not match the body."
    # Checked after the signature, so an attacker cannot learn our clock from the answers.
    if abs(time.time() - int(timestamp)) > settings.WALLET_EVENTS_WINDOW_SECONDS:
        return "The timestamp is outside the accepted window (replayed or clock skew)."
    return ""


def _refused(request, received: bytes, *, size: int, refusal: Refused):
    """A request refused before its signature was proven: a sample kept and ``refusal``
    raised, or a 429 and nothing kept once its address has had its refusals for the hour."""
    client_ip = client_address(request)
    if events.refusals_spent(client_ip):
        raise exceptions.Throttled(
            wait=REFUSALS_RESET_SECONDS,
            detail=_("Too many refused requests; try again later."),
            code="too_many_refused",
        )
    events.count_refusal(client_ip)
    events.sample_refused(
        received,
        size=size,
        code=refusal.get_codes(),
        detail=str(refusal.detail),
        client_ip=client_ip,
    )
    raise refusal


class WalletSignatureAuthentication(authentication.BaseAuthentication):
    """Proves the body before anything parses it; reads at most WALLET_EVENTS_MAX_BYTES + 1
    bytes of it (a body declared larger: only the sample)."""

    def authenticate(self, request):
        if not settings.WALLET_EVENTS_SECRET:
            logger.error("POST /api/wallet-events/ refused: WALLET_EVENTS_SECRET is not set")
            raise Refused(503, "not_configured", _("The endpoint is not configured."))
        limit = settings.WALLET_EVENTS_MAX_BYTES
        too_large = Refused(413, "too_large", f"The body is larger than {limit} bytes.")
        stream = request._request  # the raw body, unparsed: DRF's parsers never see it
        declared = request.headers.get("Content-Length", "")
        if _digits(declared) and int(declared) > limit:
            # Only the sample is read: the rest is never buffered.
            sample = stream.read(events.SAMPLE_BYTES)
            _refused(request, sample, size=int(declared), refusal=too_large)
        body = stream.read(limit + 1)
        if len(body) > limit:
            _refused(request, body, size=len(body), refusal=too_large)
        problem = _signature_problem(request, body)
        if problem:
            logger.warning("wallet event refused: %s", problem)
            refusal = Refused(status.HTTP_401_UNAUTHORIZED, "bad_signature", problem)
            _refused(request, body, size=len(body), refusal=refusal)
        return AnonymousUser(), SignedBody(body)

    def authenticate_header(self, request):
        return SIGNATURE_HEADER
