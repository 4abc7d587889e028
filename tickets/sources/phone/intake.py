"""The telephony system's call records: raw first, then parse, then file.

A record is one JSON object::

    {"call_id": "c-123", "number": "+86 138 0013 8000", "direction": "inbound",
     "outcome": "answered", "started_at": "2026-12-04T18:20:00+08:00",
     "duration_seconds": 95, "notes": "...", "recording": "rec/123.wav",
     "agent": "wang.fang"}

``call_id``, ``number``, ``outcome`` and ``started_at`` are required; ``direction``
defaults to inbound. ``agent``, the username of the agent who took the call, is recorded on
the CallLog when it names an active agent (else the call is filed without one).

The body is stored (InboundMessage) before it is parsed, so a record we refuse is kept with
its reason (quarantined) and can be reprocessed after a fix.
"""

import hashlib
import json
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.permissions import is_agent
from tickets.models import Channel, InboundMessage

from .calls import Call, Filed, file_call

SOURCE = "api/calls"
MAX_NOTES = 10_000


def store(raw: bytes) -> InboundMessage:
    """Keep the body exactly as received, committed before anything reads it."""
    return InboundMessage.objects.create(
        channel=Channel.PHONE, raw=raw, sha256=hashlib.sha256(raw).hexdigest(), source=SOURCE
    )


def _text(record: dict, name: str, *, required: bool = False, limit: int = 255) -> str:
    value = record.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(_("%(name)s must be a string.") % {"name": name})
    if required and not value.strip():
        raise ValidationError(_("%(name)s is required.") % {"name": name})
    if len(value) > limit:
        raise ValidationError(_("%(name)s is too long.") % {"name": name})
    return value.strip()


def parse(raw: bytes) -> tuple[Call, str]:
    """A call record from the body and the username of the agent who took it ("" when
    none), or ValidationError saying what is wrong with it."""
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ValidationError(_("The body is not JSON.")) from None
    if not isinstance(record, dict):
        raise ValidationError(_("The body must be a JSON object."))
    started = parse_datetime(_text(record, "started_at", required=True, limit=64) or "")
    if started is None:
        raise ValidationError(_("started_at must be an ISO 8601 date and time."))
    if timezone.is_naive(started):
        raise ValidationError(_("started_at must carry its time zone."))
    if started > timezone.now() + timedelta(minutes=5):
        raise ValidationError(_("started_at is in the future."))
    seconds = record.get("duration_seconds")
    if seconds is not None and (
        isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= 86400
    ):
        raise ValidationError(_("duration_seconds must be a whole number of seconds."))
    call = Call(
        number=_text(record, "number", required=True, limit=64),
        started_at=started,
        direction=_text(record, "direction", limit=16) or "inbound",
        outcome=_text(record, "outcome", required=True, limit=16),
        duration=timedelta(seconds=seconds) if seconds is not None else None,
        notes=_text(record, "notes", limit=MAX_NOTES),
        call_id=_text(record, "call_id", required=True, limit=100),
        recording_ref=_text(record, "recording", limit=255),
    )
    return call, _text(record, "agent", limit=150)


def _agent(username: str):
    """The agent a record names, if it names an active one: the telephony system's word is
    taken for who answered, nothing more."""
    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    return user if user is not None and is_agent(user) else None


def process(stored: InboundMessage) -> str:
    """Parse and file one stored record; its status tells what became of it (also the
    reprocessor registered in tickets.sources.PROCESSORS). Raises ValidationError after
    quarantining a record we refuse."""
    try:
        call, username = parse(bytes(stored.raw))
        with transaction.atomic():
            filed: Filed = file_call(call, agent=_agent(username), raw_id=stored.pk)
    except ValidationError as error:
        stored.status = InboundMessage.Status.QUARANTINED
        stored.reason = "; ".join(error.messages)[:1000]
        stored.processed_at = timezone.now()
        stored.save(update_fields=["status", "reason", "processed_at"])
        raise
    stored.status = (
        InboundMessage.Status.DUPLICATE if filed.duplicate else InboundMessage.Status.PROCESSED
    )
    stored.processed_at = timezone.now()
    stored.save(update_fields=["status", "processed_at"])
    return stored.status
