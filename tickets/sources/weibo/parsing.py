"""A message the fans service platform pushes, as JSON, to plain values (pure).

    {"type": "text", "receiver_id": 1902538057, "sender_id": 2489518277,
     "created_at": "Mon Jul 16 18:09:20 +0800 2012", "text": "...", "data": {}}

``type`` is text, image, voice, position or mention (a message for the desk), or event
(``data.subtype``: follow, unfollow, subscribe, unsubscribe, scan, scan_follow, click), which
files nothing. Weibo gives a message no id of its own, so the external id is the sender and
the time, with a digest of the content for two messages in the same second: the
platform's retries of one message are stored once.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from tickets.inbound import Inbound
from tickets.models import Channel

MESSAGE_TYPES = frozenset({"text", "image", "voice", "position", "mention"})
EVENT = "event"
CREATED_AT_FORMAT = "%a %b %d %H:%M:%S %z %Y"
MAX_TEXT_CHARS = 10_000
# What the agent reads for a message without text (the file stays on Weibo: vfid in metadata).
PLACEHOLDERS = {"image": "[image]", "voice": "[voice message]", "position": "[location]"}


class WeiboRejected(ValueError):
    """The body is not a message the platform sends; the reason is kept with the raw bytes."""


@dataclass(frozen=True)
class WeiboEvent:
    sender: str
    subtype: str
    created_at: datetime


def parse(raw: bytes) -> Inbound | WeiboEvent:
    """The message, or the event, in ``raw``; raises WeiboRejected with the reason."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WeiboRejected("not JSON") from exc
    if not isinstance(body, dict):
        raise WeiboRejected("not a JSON object")
    kind = body.get("type")
    sender = body.get("sender_id")
    if isinstance(sender, bool) or not isinstance(sender, int | str) or not str(sender).isdigit():
        raise WeiboRejected("no sender_id")
    sender = str(sender)
    created_at = _time(body.get("created_at"))
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    if kind == EVENT:
        return WeiboEvent(
            sender=sender, subtype=str(data.get("subtype", ""))[:40], created_at=created_at
        )
    if kind not in MESSAGE_TYPES:
        raise WeiboRejected(f"unknown type {str(kind)[:40]!r}")
    text = body.get("text")
    text = text if isinstance(text, str) else ""
    text = text.strip()[:MAX_TEXT_CHARS] or PLACEHOLDERS.get(kind, "")
    if not text:
        raise WeiboRejected("empty message")
    digest = hashlib.sha256(
        json.dumps([kind, text, data], sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()[:16]
    return Inbound(
        channel=Channel.WEIBO,
        sender_kind="weibo",
        sender=sender,
        text=text,
        external_id=f"weibo:{sender}:{int(created_at.timestamp())}:{digest}",
        continue_open=True,
        metadata={
            "weibo": {
                "type": kind,
                "created_at": created_at.isoformat(),
                "receiver_id": str(body.get("receiver_id", ""))[:40],
                "data": {key: data[key] for key in list(data)[:20]},
            }
        },
    )


def _time(value) -> datetime:
    if not isinstance(value, str):
        raise WeiboRejected("no created_at")
    try:
        return datetime.strptime(value.strip(), CREATED_AT_FORMAT).astimezone(UTC)
    except ValueError as exc:
        raise WeiboRejected("bad created_at") from exc
