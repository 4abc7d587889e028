"""POST /api/calls/: call records from the telephony system, server to server.

Authenticated by a shared token (``Authorization: Bearer <TELEPHONY_API_TOKEN>``,
compared in constant time), not a session, hence no CSRF token. Unset, the endpoint
refuses everything (503). A body declaring more than TELEPHONY_MAX_BYTES is refused before
it is read (413). An authenticated body is stored first (InboundMessage), then filed
(`intake.process`): 201 when filed, 200 when the call id was filed before (the telephony
system's retries are no-ops), 400 with the reason when the record is refused (kept,
quarantined). Answered calls become CallLogs and phone Messages on the customer's ticket,
unanswered ones callback tasks.
"""

import hmac
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from mywallet_support.http import declared_too_large

from . import intake

logger = logging.getLogger(__name__)


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"status": "rejected", "error": code, "detail": detail}, status=status)


def _authorised(request) -> bool:
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    expected = settings.TELEPHONY_API_TOKEN
    return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), expected.encode())


@csrf_exempt
@require_POST
def calls(request):
    if not settings.TELEPHONY_API_TOKEN:
        return _error(503, "not_configured", "TELEPHONY_API_TOKEN is not set.")
    if not _authorised(request):
        logger.info("call record refused: bad token")
        return _error(401, "unauthorised", "A valid bearer token is required.")
    if declared_too_large(request, settings.TELEPHONY_MAX_BYTES):
        return _error(413, "too_large", f"At most {settings.TELEPHONY_MAX_BYTES} bytes.")
    stored = intake.store(request.body)
    try:
        status = intake.process(stored)
    except ValidationError as error:
        logger.info("call record %s quarantined", stored.pk)
        return _error(400, "invalid", "; ".join(error.messages))
    if status == stored.Status.DUPLICATE:
        return JsonResponse({"status": "duplicate", "id": stored.pk}, status=200)
    return JsonResponse({"status": "accepted", "id": stored.pk}, status=201)
