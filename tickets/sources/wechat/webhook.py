"""/webhooks/wechat/: WeChat's server-to-server calls, the transport only.

GET is WeChat's URL check: ``signature`` over (token, timestamp, nonce) proven, the
``echostr`` echoed. POST carries a message, in plaintext mode or safe mode (``encrypt_type=
aes`` and ``msg_signature`` over the ``<Encrypt>`` too). Checked in this order, each
refusal a 4xx that stores nothing:

1. size: a body declaring more than WECHAT_MAX_BODY_BYTES (or no length) is 413 before
   it is read;
2. ``signature`` (and, for an encrypted body, ``msg_signature``) compared in constant time;
3. the timestamp within WECHAT_TIMESTAMP_WINDOW_SECONDS of now (after the signature, so
   the answers tell nobody our clock);
4. the (timestamp, nonce) pair not seen with another body: plaintext mode's signature does
   not cover the body, so a captured query string must not carry a different message.
   The same pair with the same body is WeChat retrying: answered "success", nothing stored;
5. the XML (and an encrypted body's inner XML) parsed by defusedxml with DTDs and
   entities forbidden: a DOCTYPE or an entity is refused before anything expands it.

Then the body is stored as received (`intake.store`) and its filing queued
(`intake.file_payload`, run by the task worker): the answer is "success" once the body is
stored, whatever filing then does, so WeChat's 5-second limit is never at the mercy of
what follows (bench/webhook_load.py). Only a failure to store the body is a 503, so WeChat
tries again.
"""

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from mywallet_support.http import client_address, declared_too_large

from . import crypto, intake
from .parsing import WeChatRejected, parse_xml

logger = logging.getLogger(__name__)

NONCE_KEY = "wechat:nonce:{timestamp}:{nonce}"


def _refuse(request, status: int, reason: str) -> HttpResponse:
    logger.info("WeChat webhook refused (%s) from %s: %s", status, client_address(request), reason)
    return HttpResponse(reason, status=status, content_type="text/plain; charset=utf-8")


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= 12


def _authentic(request) -> str:
    """Why the query string is not WeChat's (signature, then time), or ""."""
    params = request.GET
    timestamp, nonce = params.get("timestamp", ""), params.get("nonce", "")
    signature = params.get("signature", "")
    if not (timestamp and nonce and signature) or not _digits(timestamp) or len(nonce) > 64:
        return "signature, timestamp and nonce are required."
    expected = crypto.signature(settings.WECHAT_TOKEN, timestamp, nonce)
    if not crypto.signature_matches(expected, signature):
        return "The signature does not match."
    if abs(time.time() - int(timestamp)) > settings.WECHAT_TIMESTAMP_WINDOW_SECONDS:
        return "The timestamp is outside the accepted window."
    return ""


@csrf_exempt
@require_http_methods(["GET", "POST"])
def wechat(request):
    if not settings.WECHAT_TOKEN:
        return _refuse(request, 503, "The WeChat channel is not configured.")
    if declared_too_large(request, settings.WECHAT_MAX_BODY_BYTES):
        return _refuse(request, 413, "The body is too large.")
    problem = _authentic(request)
    if problem:
        return _refuse(request, 403, problem)
    if request.method == "GET":
        echo = request.GET.get("echostr", "")
        return HttpResponse(echo[:256], content_type="text/plain; charset=utf-8")
    body = request.body
    try:
        root = parse_xml(body)
        encrypted = root.find("Encrypt")
        if encrypted is not None:
            problem = _envelope_problem(request, (encrypted.text or "").strip())
            if problem:
                return _refuse(request, 403, problem)
        parse_xml(intake.open_envelope(body))
    except WeChatRejected as exc:
        return _refuse(request, 400, str(exc))
    key = NONCE_KEY.format(timestamp=request.GET["timestamp"], nonce=request.GET["nonce"])
    digest = hashlib.sha256(body).hexdigest()
    window = settings.WECHAT_TIMESTAMP_WINDOW_SECONDS
    if not cache.add(key, digest, timeout=2 * window + 60):
        if cache.get(key) == digest:
            return HttpResponse("success", content_type="text/plain")  # WeChat's retry
        return _refuse(request, 403, "The nonce was used before.")
    try:
        stored = intake.store(body)
    except Exception:
        cache.delete(key)  # not taken: WeChat's retry must be stored
        logger.exception("WeChat message could not be stored")
        return HttpResponse("storage unavailable", status=503, content_type="text/plain")
    try:
        intake.file_payload.enqueue(stored.pk)
    except Exception:
        # Stored, so taken: `manage.py process_wechat` files what was never queued.
        logger.exception("WeChat payload %s stored, its filing not queued", stored.pk)
    return HttpResponse("success", content_type="text/plain")


def _envelope_problem(request, encrypted: str) -> str:
    """Why safe mode's msg_signature does not prove ``encrypted``, or ""."""
    given = request.GET.get("msg_signature", "")
    if not given:
        return "msg_signature is required for an encrypted message."
    params = request.GET
    expected = crypto.signature(
        settings.WECHAT_TOKEN, params["timestamp"], params["nonce"], encrypted
    )
    if not crypto.signature_matches(expected, given):
        return "The msg_signature does not match."
    return ""
