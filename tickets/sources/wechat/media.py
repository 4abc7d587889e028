"""Pictures and voice notes customers send on WeChat, fetched while their message is filed.

WeChat's message carries only a MediaId (valid three days): the file itself comes from the
temporary-media API, ``GET {WECHAT_API_BASE}/cgi-bin/media/get?access_token=..&media_id=..``,
with the access token the sender caches (`outbound.access_token`, fetched again once when
WeChat says it expired). The answer is the file, or a JSON error (40007: invalid media id).

The fetch is bounded: at most WECHAT_MEDIA_MAX_BYTES (a larger declared length is refused
before reading) and WECHAT_API_TIMEOUT seconds in all. A media that cannot be fetched never
fails its message: `MediaUnavailable` carries the reason, which intake records on the
message for the agent. With DEBUG and no WECHAT_API_BASE (``make run``) nothing is fetched.
"""

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.core.cache import cache

from tickets.inbound import InboundAttachment
from tickets.sources import DeliveryError

from . import outbound

CHUNK = 64 * 1024
JSON_TYPES = ("application/json", "text/plain")  # WeChat's errors come as one of these
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "audio/amr": "amr",
    "audio/speex": "speex",
    "audio/mpeg": "mp3",
}
_FILENAME = re.compile(r'filename="?([^";]+)"?')


class MediaUnavailable(Exception):
    """The media could not be fetched; the text is the reason the agent reads."""


def enabled() -> bool:
    """False in the development mode (DEBUG, no API base): nothing is fetched then."""
    return bool(settings.WECHAT_API_BASE) or not settings.DEBUG


def fetch(media_id: str) -> InboundAttachment:
    """The media as an attachment; MediaUnavailable with the reason when it cannot be had."""
    if not settings.WECHAT_API_BASE:
        raise MediaUnavailable("the WeChat API is not configured (WECHAT_API_BASE)")
    for attempt in range(2):
        try:
            token = outbound.access_token(refresh=attempt > 0)
        except DeliveryError as exc:
            raise MediaUnavailable(str(exc)) from exc
        query = urllib.parse.urlencode({"access_token": token, "media_id": media_id})
        content_type, disposition, body = _get(f"/cgi-bin/media/get?{query}")
        if content_type not in JSON_TYPES:
            return InboundAttachment(
                name=_name(disposition, media_id, content_type),
                content_type=content_type or "application/octet-stream",
                content=body,
            )
        errcode, errmsg = _error(body)
        if errcode not in outbound.TOKEN_ERRORS:
            break
        cache.delete(outbound.TOKEN_KEY)
    raise MediaUnavailable(f"WeChat error {errcode}: {errmsg[:200]}")


def _get(path: str) -> tuple[str, str, bytes]:
    """(content type, Content-Disposition, body), read within the size and time bounds."""
    limit = settings.WECHAT_MEDIA_MAX_BYTES
    deadline = time.monotonic() + settings.WECHAT_API_TIMEOUT
    request = urllib.request.Request(settings.WECHAT_API_BASE + path)  # noqa: S310 - our setting
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=settings.WECHAT_API_TIMEOUT
        ) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise MediaUnavailable(f"larger than {limit} bytes ({declared} declared)")
            chunks, size = [], 0
            while chunk := response.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise MediaUnavailable(f"larger than {limit} bytes")
                if time.monotonic() > deadline:
                    raise MediaUnavailable(f"took longer than {settings.WECHAT_API_TIMEOUT} s")
                chunks.append(chunk)
            content_type = response.headers.get_content_type() if response.headers else ""
            return content_type, response.headers.get("Content-Disposition", ""), b"".join(chunks)
    except urllib.error.HTTPError as exc:
        raise MediaUnavailable(f"WeChat answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise MediaUnavailable(f"WeChat could not be reached: {reason}") from exc


def _error(body: bytes) -> tuple[int, str]:
    try:
        answer = json.loads(body)
    except ValueError:
        return outbound.BUSY, "an answer that is neither a file nor JSON"
    if not isinstance(answer, dict):
        return outbound.BUSY, "an answer that is neither a file nor a JSON object"
    code = answer.get("errcode")
    return (code if isinstance(code, int) else outbound.BUSY), str(answer.get("errmsg", ""))


def _name(disposition: str, media_id: str, content_type: str) -> str:
    """WeChat's file name, else one made of the media id and the type's extension."""
    found = _FILENAME.search(disposition or "")
    if found and found.group(1).strip():
        return found.group(1).strip().replace("/", "_")[:255]
    extension = EXTENSIONS.get(content_type, "bin")
    return f"{media_id[:200]}.{extension}"
