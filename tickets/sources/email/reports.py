"""Delivery status notifications (RFC 3464) about mail we sent: a multipart/report of
report-type delivery-status read into a `Bounce` (the recipient, whether the failure is
permanent, the remote server's answer, and the Message-ID of our original)."""

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser

from .mime import POLICY, content_type_of, debyte, first_id, newlines, one_line, raw_headers


@dataclass(frozen=True)
class Bounce:
    """A delivery status notification (RFC 3464) about a message we sent."""

    original_message_id: str  # without <>, "" when the report does not return it
    permanent: bool  # status 5.x.x (or a failure with no status)
    recipient: str  # lower-cased final recipient
    diagnostic: str  # the remote server's answer, whitespace-normalised
    status: str = ""  # e.g. "5.1.1"; 4.x.x is a delay, not a failure
    action: str = ""  # "failed", "delayed", "delivered", ... (lower-cased)


def read_bounce(report: Message) -> Bounce:
    """The `Bounce` a delivery-status report describes: its first failed recipient (or
    its first recipient), and our original's Message-ID from the message or headers it
    returns."""
    recipients: list[dict[str, str]] = []
    original_id = ""
    for part in report.get_payload() if report.is_multipart() else []:
        if not isinstance(part, Message):
            continue
        content_type = content_type_of(part)
        if content_type.endswith("delivery-status"):
            recipients = [block for block in _status_blocks(part) if "final-recipient" in block]
        elif content_type in ("message/rfc822", "message/global") and part.is_multipart():
            inner = part.get_payload(0)
            original_id = first_id(raw_headers(inner), "message-id") or original_id
        elif content_type in ("text/rfc822-headers", "message/global-headers"):
            returned = BytesHeaderParser(policy=POLICY).parsebytes(
                part.get_payload(decode=True) or b""
            )
            original_id = first_id(raw_headers(returned), "message-id") or original_id
    failed = [block for block in recipients if block.get("action", "").lower() == "failed"]
    block = (failed or recipients or [{}])[0]
    status = (block.get("status", "").split() or [""])[0]
    action = block.get("action", "").strip().lower()
    return Bounce(
        original_message_id=original_id,
        permanent=status.startswith("5") or (not status and action == "failed"),
        recipient=_after_type(block.get("final-recipient", "")).strip("<>").lower(),
        diagnostic=one_line(_after_type(block.get("diagnostic-code", "")))[:1000],
        status=status,
        action=action,
    )


def _status_blocks(part: Message) -> list[dict[str, str]]:
    """The field blocks of a message/delivery-status part, names lower-cased."""
    payload = part.get_payload()
    if isinstance(payload, list):
        texts = [
            "\n".join(f"{k}: {debyte(v)}" for k, v in block.raw_items())
            for block in payload
            if isinstance(block, Message)
        ]
    else:
        data = part.get_payload(decode=True) or b""
        texts = re.split(r"\n\s*\n", newlines(data.decode("utf-8", "replace")))
    blocks = []
    for text in texts:
        fields: dict[str, str] = {}
        for line in re.sub(r"\n[ \t]+", " ", newlines(text)).split("\n"):
            name, colon, value = line.partition(":")
            if colon:
                fields.setdefault(name.strip().lower(), value.strip())
        blocks.append(fields)
    return blocks


def _after_type(value: str) -> str:
    """'rfc822; a@b.example' -> 'a@b.example'; 'smtp; 550 ...' -> '550 ...'."""
    return value.split(";", 1)[1].strip() if ";" in value else value.strip()
