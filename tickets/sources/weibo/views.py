"""``/webhooks/weibo/``: the fans service platform's URL check and pushed messages.

Every request is signed (`signature`); the order of the checks is the order of cost: the
declared size before the body is read, the signature (constant time), the timestamp's age
and the nonce's first use, and only then the body, stored raw before it is parsed. A
refused request gets a 4xx and writes nothing. A stored message is answered "success"
whatever its filing does (a failure is kept with the payload for reprocessing), so the
platform does not retry what we already hold.
"""

import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from mywallet_support.http import declared_too_large
from tickets.models import InboundMessage

from . import intake, signature

logger = logging.getLogger(__name__)


def _refused(status: int, reason: str) -> HttpResponse:
    logger.info("weibo webhook refused: %s", reason)
    return HttpResponse(reason, status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def weibo_webhook(request):
    if declared_too_large(request, settings.WEIBO_MAX_BODY_BYTES):
        return _refused(413, "too large")
    reason = signature.refusal(
        request.GET,
        secret=settings.WEIBO_APP_SECRET,
        tolerance=settings.WEIBO_TIMESTAMP_TOLERANCE_SECONDS,
    )
    if reason == "not configured":
        return _refused(503, reason)
    if reason:
        return _refused(403, reason) if reason != "unsigned" else HttpResponseForbidden(reason)
    if request.method == "GET":
        echostr = request.GET.get("echostr", "")
        if not echostr or len(echostr) > 128:
            return HttpResponseBadRequest("no echostr")
        return HttpResponse(echostr, content_type="text/plain; charset=utf-8")
    body = request.body
    if not body:
        return HttpResponseBadRequest("empty body")
    stored = intake.store(body)
    try:
        intake.process(stored)
    except Exception:  # kept for reprocessing; the platform must not resend what we hold
        logger.exception("weibo payload %s could not be filed", stored.pk)
        InboundMessage.objects.filter(pk=stored.pk).update(
            status=InboundMessage.Status.FAILED, reason="filing failed"
        )
    return HttpResponse("success", content_type="text/plain; charset=utf-8")
