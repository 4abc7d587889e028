"""POST /api/wallet-events/: events from the wallet core, server to server.

Authenticated by a shared secret, not a session (hence no CSRF token):
``X-Wallet-Timestamp`` is the sending time in Unix seconds, ``X-Wallet-Signature`` the hex
HMAC-SHA256 of ``"<timestamp>." + body`` keyed with settings.WALLET_EVENTS_SECRET. A
timestamp further than WALLET_EVENTS_WINDOW_SECONDS from now is refused, so a captured
request cannot be replayed later; within the window the event id makes a replay a no-op.

This module is the transport only: size, signature, time. A request refused here (too
large, signature missing or wrong, stale timestamp) is anyone's: it is kept as a bounded
sample (`accounts.actions.wallet_events.sample_refused`: digest, size, first bytes, reason,
address), and an address's WALLET_EVENTS_REFUSED_PER_ADDRESS_HOUR refusals an hour are all
it gets: the next ones are answered 429 and leave nothing. A signed body is stored whole
(accounts.models.WalletEvent), refused ones too, as evidence; its content is checked and
acted on by tickets.actions.wallet_events (the payload contract is in
accounts.actions.wallet_events). A signed event is never answered 429: a flood of forged
requests from its address cannot stop the wallet core's.
"""

import hashlib
import hmac
import logging
import time

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.actions import wallet_events as events
from mywallet_support.http import client_address

from .actions.wallet_events import receive_wallet_event

logger = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Wallet-Timestamp"
SIGNATURE_HEADER = "X-Wallet-Signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature the wallet core sends (also used by tests and tools)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"status": "rejected", "error": code, "detail": detail}, status=status)


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


def _refused(request, received: bytes, *, size: int, status: int, code: str, detail: str):
    """A request refused before its signature was proven: a sample kept, or a 429 and
    nothing kept once its address has had its refusals for the hour."""
    client_ip = client_address(request)
    if events.refusals_spent(client_ip):
        response = _error(429, "too_many_refused", "Too many refused requests; try again later.")
        response["Retry-After"] = "3600"
        return response
    events.count_refusal(client_ip)
    events.sample_refused(received, size=size, code=code, detail=detail, client_ip=client_ip)
    return _error(status, code, detail)


@csrf_exempt
@require_POST
def wallet_events(request):
    if not settings.WALLET_EVENTS_SECRET:
        logger.error("POST /api/wallet-events/ refused: WALLET_EVENTS_SECRET is not set")
        return _error(503, "not_configured", "The endpoint is not configured.")
    limit = settings.WALLET_EVENTS_MAX_BYTES
    too_large = f"The body is larger than {limit} bytes."
    declared = request.headers.get("Content-Length", "")
    if _digits(declared) and int(declared) > limit:
        # Only the sample is read: the rest is never buffered.
        sample = request.read(events.SAMPLE_BYTES)
        return _refused(
            request, sample, size=int(declared), status=413, code="too_large", detail=too_large
        )
    body = request.read(limit + 1)
    if len(body) > limit:
        return _refused(
            request, body, size=len(body), status=413, code="too_large", detail=too_large
        )
    problem = _signature_problem(request, body)
    if problem:
        logger.warning("wallet event refused: %s", problem)
        return _refused(
            request, body, size=len(body), status=401, code="bad_signature", detail=problem
        )
    outcome = receive_wallet_event(body)
    return JsonResponse(outcome.as_json(), status=outcome.http_status)
