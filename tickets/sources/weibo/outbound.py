"""Answers on Weibo: the fans service platform's reply API, within its reply window.

``POST {WEIBO_API_BASE}/2/messages/reply.json`` (form-encoded: ``access_token``,
``receiver_id``, ``type=text``, ``data`` = the URL-encoded JSON ``{"text": ...}``) answers
the message object, or ``{"error", "error_code"}``. The platform takes answers only within
WEIBO_REPLY_WINDOW_HOURS of the customer's last message: past that the sender refuses at
once (permanent, with a reason the agent reads) instead of retrying a send that cannot
succeed. Rate limits and server trouble are retried by the spine; any other refusal is the
platform's word, shown to the agent.

With WEIBO_SEND = "development" (DEBUG's default) nothing leaves: the answer is recorded in
the message's metadata (``sent_in_development``) and counts as sent, so the demo's Weibo
tickets can be answered.
"""

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CustomerIdentity
from mywallet_support.mail import DeliveryError
from tickets.models import Channel, Message, Ticket

logger = logging.getLogger(__name__)

REPLY_PATH = "/2/messages/reply.json"
# The platform's rate limits (IP, user, user per API): worth another try later.
RETRIED_CODES = frozenset({10022, 10023, 10024})
DEVELOPMENT = "sent_in_development"


def window_closes_at(ticket: Ticket) -> datetime | None:
    """When the platform stops taking answers on ``ticket``: the window after the
    customer's last Weibo message on it (None if they never wrote there: closed already)."""
    last = (
        Message.objects.filter(
            ticket_id=ticket.pk, channel=Channel.WEIBO, direction=Message.Direction.INBOUND
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if last is None:
        return datetime.min.replace(tzinfo=ticket.created_at.tzinfo)
    return last + timedelta(hours=settings.WEIBO_REPLY_WINDOW_HOURS)


def window_closed_reason() -> str:
    return _(
        "Weibo takes answers only within %(hours)d hours of the customer's last message; "
        "answer through another of the customer's channels."
    ) % {"hours": settings.WEIBO_REPLY_WINDOW_HOURS}


def send(message: Message) -> None:
    """Deliver ``message`` to the ticket customer's Weibo account, or raise DeliveryError."""
    ticket = message.ticket
    uid = (
        CustomerIdentity.objects.filter(
            customer_id=ticket.customer_id, kind=CustomerIdentity.Kind.WEIBO
        )
        .order_by("pk")
        .values_list("value", flat=True)
        .first()
    )
    if not uid:
        raise DeliveryError(_("The customer has no Weibo account to answer."), permanent=True)
    closes = window_closes_at(ticket)
    if closes is not None and closes <= timezone.now():
        raise DeliveryError(window_closed_reason(), permanent=True)
    if settings.WEIBO_SEND == "development":
        Message.objects.filter(pk=message.pk).update(
            metadata={**message.metadata, DEVELOPMENT: True}
        )
        message.metadata = {**message.metadata, DEVELOPMENT: True}
        logger.info("weibo answer %s recorded, not sent (development)", message.pk)
        return None
    _post(uid, message.text)
    return None


def _post(uid: str, text: str) -> dict:
    form = urllib.parse.urlencode(
        {
            "access_token": settings.WEIBO_ACCESS_TOKEN,
            "receiver_id": uid,
            "type": "text",
            "data": urllib.parse.quote(json.dumps({"text": text}, ensure_ascii=False)),
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - the URL is our own setting
        settings.WEIBO_API_BASE + REPLY_PATH,
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.WEIBO_TIMEOUT_SECONDS) as response:  # noqa: S310
            return _answer(response.status, response.read(65536))
    except urllib.error.HTTPError as exc:
        return _answer(exc.code, exc.read(65536))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DeliveryError(_("Weibo could not be reached; retrying.")) from exc


def _answer(status: int, raw: bytes) -> dict:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        body = {}
    body = body if isinstance(body, dict) else {}
    code = body.get("error_code")
    if status < 300 and code is None:
        return body
    if status >= 500 or code in RETRIED_CODES:
        raise DeliveryError(_("Weibo is busy (%(code)s); retrying.") % {"code": code or status})
    error = str(body.get("error") or status)[:200]
    raise DeliveryError(
        _("Weibo refused the answer: %(error)s (code %(code)s).")
        % {"error": error, "code": code or status},
        permanent=True,
    )
