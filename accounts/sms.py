"""Text messages to customers' phones, through the backend named by ``SMS_BACKEND``.

- ``accounts.sms.FileBackend`` (development): appends each message to ``SMS_FILE_PATH``
  and logs one line with the number masked. The file holds the full text (codes included)
  and is the only place they are written: read your codes there.
- ``accounts.sms.HTTPBackend``: a JSON gateway. ``POST SMS_GATEWAY_URL`` with the header
  ``X-API-Key: SMS_GATEWAY_KEY`` and the body ``{"to": "+8613800138000", "text": "..."}``;
  a 2xx answer with ``{"id": "..."}`` means accepted. Anything else raises `SMSError`.

Neither backend logs a message's text: it may hold a one-time code.
"""

import json
import logging
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from mywallet_support.masking import mask_phone

logger = logging.getLogger(__name__)


class SMSError(Exception):
    """The message could not be handed to the gateway."""


def send_sms(number: str, text: str) -> None:
    """Send ``text`` to ``number`` (E.164) through the configured backend; raises SMSError."""
    if not number or not text:
        raise SMSError("An SMS needs a number and a text.")
    backend(settings.SMS_BACKEND).send(number, text)


@cache
def backend(path: str):
    return import_string(path)()


class FileBackend:
    _lock = threading.Lock()

    def send(self, number: str, text: str) -> None:
        path = settings.SMS_FILE_PATH
        line = json.dumps(
            {"at": datetime.now(UTC).isoformat(timespec="seconds"), "to": number, "text": text},
            ensure_ascii=False,
        )
        try:
            with self._lock:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8") as file:
                    file.write(line + "\n")
        except OSError as exc:
            raise SMSError(f"Could not write to {path}: {exc.strerror or exc}") from exc
        logger.info("SMS to %s written to %s", mask_phone(number), path)


class HTTPBackend:
    def send(self, number: str, text: str) -> None:
        url = settings.SMS_GATEWAY_URL
        if not url:
            raise SMSError("SMS_GATEWAY_URL is not set.")
        request = urllib.request.Request(  # noqa: S310 - the URL is our own setting
            url,
            data=json.dumps({"to": number, "text": text}).encode(),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "X-API-Key": settings.SMS_GATEWAY_KEY,
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=settings.SMS_GATEWAY_TIMEOUT
            ) as response:
                body = response.read(64 * 1024)
        except urllib.error.HTTPError as exc:
            # Not the gateway's body: it might echo the text, and so the code.
            logger.warning("SMS gateway refused a message to %s: %s", mask_phone(number), exc.code)
            raise SMSError(f"The SMS gateway answered {exc.code}.") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            logger.warning("SMS gateway unreachable for %s: %s", mask_phone(number), reason)
            raise SMSError(f"The SMS gateway could not be reached: {reason}") from exc
        try:
            message_id = json.loads(body).get("id")
        except (ValueError, AttributeError):
            message_id = None
        if not message_id:
            raise SMSError("The SMS gateway's answer had no message id.")
        logger.info("SMS to %s accepted by the gateway as %s", mask_phone(number), message_id)
