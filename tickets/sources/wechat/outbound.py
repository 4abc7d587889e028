"""Agents' answers on WeChat tickets, through the customer-service message API.

``POST {WECHAT_API_BASE}/cgi-bin/message/custom/send?access_token=...`` with
``{"touser": OpenID, "msgtype": "text", "text": {"content": ...}}``. The access token comes
from ``GET {WECHAT_API_BASE}/cgi-bin/token`` (appid, secret), is cached for its
``expires_in`` less a margin, and fetched again when WeChat says it is invalid or expired
(40001, 40014, 42001): once per send, then the error stands.

WeChat lets an account answer a customer only within 48 hours of their last message
(`window_closes_at`, registered in tickets.sources.WINDOWS). Its refusals that no retry can
change (45015 outside the window, 43004 unsubscribed, 45047 too many answers...) are a
permanent DeliveryError whose text the agent reads, pointing at the customer's other
channels; a busy system (-1), an HTTP error or no answer are retried by delivery.

With DEBUG and no WECHAT_API_BASE (``make run``), a development backend sends nothing: it
records what would have been sent in the message's metadata (``sent_in_development``) and
the ticket page shows the answer as sent in development. Without DEBUG, no base address
makes every WeChat answer fail with that reason.
"""

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from accounts.models import CustomerIdentity
from mywallet_support.masking import mask_text
from tickets.models import Channel, Message, Ticket
from tickets.sources import DeliveryError

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=48)
TOKEN_KEY = "wechat:access_token"  # noqa: S105 - a cache key, not a secret
TOKEN_MARGIN_SECONDS = 300  # refreshed this long before WeChat says it expires
TOKEN_ERRORS = {40001, 40014, 42001}  # invalid or expired access token: fetch a new one
BUSY = -1
MAX_ANSWER_BYTES = 64 * 1024
DEVELOPMENT = "sent_in_development"


def window_closes_at(ticket: Ticket) -> datetime | None:
    """When WeChat stops taking answers on ``ticket``: 48 hours after the customer's last
    WeChat message on it (None when they never wrote there: no window to answer in)."""
    last = (
        Message.objects.filter(
            ticket=ticket, direction=Message.Direction.INBOUND, channel=Channel.WECHAT
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return last + WINDOW if last else None


def reason_for(errcode: int, errmsg: str) -> str:
    """What the agent reads when WeChat refuses an answer for good."""
    if errcode == 45015:
        return _(
            "WeChat refused the reply: more than 48 hours have passed since the customer's "
            "last WeChat message (error 45015). Answer through another of the customer's "
            "channels, or wait until they write again."
        )
    if errcode == 43004:
        return _(
            "WeChat refused the reply: the customer no longer follows the official account "
            "(error 43004). Answer through another of the customer's channels."
        )
    if errcode == 45047:
        return _(
            "WeChat refused the reply: too many answers since the customer's last message "
            "(error 45047). Wait until they write again, or use another channel."
        )
    return _("WeChat refused the reply (error %(code)s: %(message)s).") % {
        "code": errcode,
        "message": errmsg[:200],
    }


def send(message: Message) -> None:
    """Deliver one answer; raises DeliveryError (permanent when no retry can help)."""
    open_id = _open_id(message)
    payload = {"touser": open_id, "msgtype": "text", "text": {"content": message.text}}
    if not settings.WECHAT_API_BASE:
        if settings.DEBUG:
            _record_development(message, payload)
            return None
        raise DeliveryError(
            _("The WeChat channel is not configured (WECHAT_API_BASE)."), permanent=True
        )
    for attempt in range(2):
        token = access_token(refresh=attempt > 0)
        answer = _post(f"/cgi-bin/message/custom/send?access_token={token}", payload)
        errcode = _errcode(answer)
        if errcode == 0:
            logger.info("WeChat answer %s sent to %s", message.pk, mask_text(open_id))
            return None
        if errcode not in TOKEN_ERRORS:
            break
        cache.delete(TOKEN_KEY)
    errmsg = str(answer.get("errmsg", ""))
    logger.warning("WeChat refused answer %s: %s %s", message.pk, errcode, errmsg[:100])
    if errcode == BUSY or errcode in TOKEN_ERRORS:
        raise DeliveryError(reason_for(errcode, errmsg))
    raise DeliveryError(reason_for(errcode, errmsg), permanent=True)


def access_token(*, refresh: bool = False) -> str:
    """The account's access token: cached, fetched when missing or ``refresh``."""
    if not refresh:
        token = cache.get(TOKEN_KEY)
        if token:
            return token
    query = urllib.parse.urlencode(
        {
            "grant_type": "client_credential",
            "appid": settings.WECHAT_APP_ID,
            "secret": settings.WECHAT_APP_SECRET,
        }
    )
    answer = _request(f"/cgi-bin/token?{query}", None)
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        errcode = _errcode(answer)
        raise DeliveryError(
            _("WeChat gave no access token (error %(code)s); check WECHAT_APP_ID and the secret.")
            % {"code": errcode},
            permanent=errcode in (40013, 40125, 40164, 41002, 41004),  # wrong appid, secret, IP
        )
    expires_in = answer.get("expires_in")
    lifetime = expires_in if isinstance(expires_in, int) and expires_in > 0 else 7200
    cache.set(TOKEN_KEY, token, timeout=max(lifetime - TOKEN_MARGIN_SECONDS, 1))
    return token


def _open_id(message: Message) -> str:
    """The OpenID the ticket's customer wrote from on WeChat (the latest, when several)."""
    last = (
        Message.objects.filter(
            ticket_id=message.ticket_id,
            direction=Message.Direction.INBOUND,
            channel=Channel.WECHAT,
            sender__kind=CustomerIdentity.Kind.WECHAT,
        )
        .order_by("-created_at")
        .values_list("sender__value", flat=True)
        .first()
    )
    if last:
        return last
    identity = (
        CustomerIdentity.objects.filter(
            customer_id=message.ticket.customer_id, kind=CustomerIdentity.Kind.WECHAT
        )
        .values_list("value", flat=True)
        .first()
    )
    if identity is None:
        raise DeliveryError(
            _("The customer has no WeChat identity to answer; use another channel."), True
        )
    return identity


def _record_development(message: Message, payload: dict) -> None:
    Message.objects.filter(pk=message.pk).update(
        metadata={**message.metadata, DEVELOPMENT: payload}
    )
    message.metadata = {**message.metadata, DEVELOPMENT: payload}
    logger.info("WeChat answer %s recorded by the development backend", message.pk)


def _post(path: str, payload: dict) -> dict:
    return _request(path, json.dumps(payload, ensure_ascii=False).encode())


def _request(path: str, data: bytes | None) -> dict:
    """WeChat's JSON answer; DeliveryError (to retry) when there is none."""
    request = urllib.request.Request(  # noqa: S310 - the base is our own setting
        settings.WECHAT_API_BASE + path,
        data=data,
        headers={"Content-Type": "application/json; charset=utf-8"} if data else {},
        method="POST" if data is not None else "GET",
    )
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=settings.WECHAT_API_TIMEOUT
        ) as response:
            body = response.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(_("WeChat answered HTTP %(status)s.") % {"status": exc.code}) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DeliveryError(
            _("WeChat could not be reached: %(reason)s") % {"reason": reason}
        ) from exc
    try:
        answer = json.loads(body)
    except ValueError as exc:
        raise DeliveryError(_("WeChat's answer was not JSON.")) from exc
    if not isinstance(answer, dict):
        raise DeliveryError(_("WeChat's answer was not a JSON object."))
    return answer


def _errcode(answer: dict) -> int:
    code = answer.get("errcode", 0)
    return code if isinstance(code, int) else BUSY
