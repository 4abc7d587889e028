"""The raw store and the filing of Weibo's pushed messages.

The body is stored exactly as received (InboundMessage) before anything parses it, so a
crash or a parser fix later loses nothing; `process` then parses it and files the message
through `tickets.actions.receive_many` (also the reprocessor registered in
tickets.sources.PROCESSORS). A refused body is quarantined with its reason, never retried.
"""

import hashlib
import logging

from django.core.exceptions import ValidationError
from django.utils import timezone

from tickets import actions
from tickets.models import Channel, InboundMessage

from .parsing import WeiboEvent, WeiboRejected, parse

logger = logging.getLogger(__name__)
SOURCE = "webhook /webhooks/weibo/"


def store(raw: bytes) -> InboundMessage:
    """One INSERT, committed at once: the payload is ours before we answer Weibo."""
    return InboundMessage.objects.create(
        channel=Channel.WEIBO, raw=raw, sha256=hashlib.sha256(raw).hexdigest(), source=SOURCE
    )


def process(stored: InboundMessage) -> str:
    """Parse and file one stored payload; returns its final status. Safe to call twice."""
    raw = bytes(stored.raw)
    try:
        parsed = parse(raw)
    except WeiboRejected as exc:
        return _finish(stored, InboundMessage.Status.QUARANTINED, str(exc))
    if isinstance(parsed, WeiboEvent):
        # Following or not is the platform's business; the desk keeps the event as received.
        return _finish(stored, InboundMessage.Status.PROCESSED, f"event {parsed.subtype}")
    parsed.raw_id = stored.pk
    (result,) = actions.receive_many([parsed])
    if isinstance(result, ValidationError):
        return _finish(stored, InboundMessage.Status.QUARANTINED, "; ".join(result.messages))
    status = (
        InboundMessage.Status.DUPLICATE if result.duplicate else InboundMessage.Status.PROCESSED
    )
    return _finish(stored, status, "", message=result.message)


def _finish(stored: InboundMessage, status: str, reason: str, message=None) -> str:
    InboundMessage.objects.filter(pk=stored.pk).update(
        status=status, reason=reason, message=message, processed_at=timezone.now()
    )
    stored.status, stored.reason = status, reason
    if status == InboundMessage.Status.QUARANTINED:
        logger.warning("weibo payload %s quarantined: %s", stored.pk, reason)
    return status
