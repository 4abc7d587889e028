"""Email intake: raw first, then parse, route and file through `tickets.actions.receive`.

Transports (the MTA pipe, folders and mboxes, IMAP, SMTP) only call `store` and then
`process`. Two kinds of failure, kept apart:
- the sender's fault (no From, a malformed address...): the message is quarantined with
  the reason, logged at info, and never retried;
- ours (the database is down): the exception propagates, the raw message stays
  ``pending``, and `process_pending` or the transport's retry picks it up again.
A crash at any point leaves each message stored and either processed or pending.
"""

import hashlib
import logging
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from accounts.actions import mark_undeliverable
from mywallet_support.masking import mask_email
from tickets import actions
from tickets.inbound import Inbound
from tickets.models import Channel, InboundMessage, Message, Ticket

from . import authresults
from .notices import send_acknowledgements, send_not_stored_notice, send_too_large_notice
from .parsing import EmailRejected, ParsedEmail, parse_or_rejection

logger = logging.getLogger(__name__)


def store(raw: bytes, *, source: str) -> InboundMessage:
    """Store the bytes exactly as received, before anything reads them.

    One INSERT, committed at once in autocommit (the pipe, SMTP, IMAP), so the sender may
    be told the message is accepted.
    """
    return InboundMessage.objects.create(**_raw_fields(raw, source))


def store_new(messages: Sequence[tuple[bytes, str]]) -> list[InboundMessage | None]:
    """Store each (raw, source) whose exact bytes were never taken before, with one query
    to look and one INSERT for all; None for those already taken (a file read twice).

    For sources that stay on disk until the caller's transaction commits (a folder, an mbox).
    """
    fields = [_raw_fields(raw, source) for raw, source in messages]
    taken = set(
        InboundMessage.objects.filter(
            channel=Channel.EMAIL, sha256__in={item["sha256"] for item in fields}
        ).values_list("sha256", flat=True)
    )
    new: dict[str, InboundMessage] = {}
    for item in fields:
        if item["sha256"] not in taken and item["sha256"] not in new:
            new[item["sha256"]] = InboundMessage(**item)
    InboundMessage.objects.bulk_create(new.values())
    return [new.pop(item["sha256"], None) for item in fields]


def already_stored(raw: bytes) -> bool:
    """Whether these exact bytes were taken before (a message fetched twice)."""
    digest = hashlib.sha256(raw).hexdigest()
    return InboundMessage.objects.filter(channel=Channel.EMAIL, sha256=digest).exists()


def _raw_fields(raw: bytes, source: str) -> dict:
    return {
        "channel": Channel.EMAIL,
        "raw": raw,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "source": source[:255],
    }


def process(stored: InboundMessage) -> str:
    """Parse and file one stored message; returns its final status. Safe to call twice."""
    (status,) = process_many([stored])
    return status


def process_many(
    batch: Sequence[InboundMessage], *, parsed: Sequence[ParsedEmail | EmailRejected] = ()
) -> list[str]:
    """Parse and file stored messages, in order; returns each one's final status.

    ``parsed`` may hold each message's `parse_or_rejection` result, computed ahead from
    the same bytes (by worker processes while the previous batch was being filed); it is
    used only now that the raw bytes are stored.

    The messages that become tickets are filed together by `receive_many` (a few queries
    for the whole batch). If filing the batch fails for a reason that is not the database's,
    each message is filed on its own, so one bad message fails alone.
    """
    statuses: dict[int, str] = {}
    to_file: list[tuple[InboundMessage, ParsedEmail]] = []
    for position, stored in enumerate(batch):
        if stored.status != InboundMessage.Status.PENDING:
            statuses[stored.pk] = stored.status
            continue
        parsed_or_status = _parse(stored, parsed[position] if parsed else None)
        if isinstance(parsed_or_status, str):
            statuses[stored.pk] = parsed_or_status
        else:
            to_file.append((stored, parsed_or_status))
    if len(to_file) > 1:
        try:
            statuses.update(_file(to_file))
        except DatabaseError:
            raise  # ours: stays pending, retried
        except Exception:
            logger.warning("filing a batch of %s emails failed; one by one", len(to_file))
            for stored, parsed in to_file:
                statuses.update(_file([(stored, parsed)]))
    elif to_file:
        statuses.update(_file(to_file))
    return [statuses[stored.pk] for stored in batch]


def _parse(stored: InboundMessage, parsed: ParsedEmail | EmailRejected | None):
    """The parsed message, or the final status of one that opens no ticket."""
    if parsed is None:
        parsed = parse_or_rejection(
            bytes(stored.raw), settings.EMAIL_MAX_MESSAGE_BYTES, settings.TICKET_REFERENCE_PREFIX
        )
    if isinstance(parsed, EmailRejected):
        return _finish(stored, InboundMessage.Status.QUARANTINED, str(parsed))
    if parsed.bounce is not None:
        return _record_bounce(stored, parsed)
    if _is_from_us(parsed):
        return _finish(
            stored,
            InboundMessage.Status.QUARANTINED,
            "Sent from one of our own support addresses (a loop?).",
        )
    return parsed


def _file(to_file: list[tuple[InboundMessage, ParsedEmail]]) -> dict[int, str]:
    try:
        results = actions.receive_many([to_inbound(parsed, stored) for stored, parsed in to_file])
    except DatabaseError:
        raise
    except Exception as exc:
        if len(to_file) > 1:
            raise
        stored = to_file[0][0]
        logger.exception("email %s could not be filed", stored.pk)
        return {
            stored.pk: _finish(stored, InboundMessage.Status.FAILED, f"{type(exc).__name__}: {exc}")
        }
    statuses = {}
    filed = []
    for (stored, parsed), received in zip(to_file, results, strict=True):
        if isinstance(received, ValidationError):
            statuses[stored.pk] = _finish(
                stored, InboundMessage.Status.QUARANTINED, " ".join(received.messages)
            )
            continue
        if not received.duplicate:
            filed.append((received.ticket, parsed, received.opened))
            _tell_not_stored(received, parsed)
        stored.status = (
            InboundMessage.Status.DUPLICATE
            if received.duplicate
            else InboundMessage.Status.PROCESSED
        )
        logger.info(
            "email %s from %s: %s", stored.pk, mask_email(parsed.from_address), stored.status
        )
        statuses[stored.pk] = stored.status
    _notify_senders(filed)
    return statuses


def process_pending(*, limit: int = 1000) -> dict[str, int]:
    """Retry messages stored but not yet processed (after a crash or a database outage)."""
    counts: dict[str, int] = {}
    pending = InboundMessage.objects.filter(
        channel=Channel.EMAIL, status=InboundMessage.Status.PENDING
    ).order_by("received_at", "pk")
    for stored in pending[:limit]:
        status = process(stored)
        counts[status] = counts.get(status, 0) + 1
    return counts


def to_inbound(parsed: ParsedEmail, stored: InboundMessage) -> Inbound:
    queue, category = _route(parsed)
    # Without a Message-ID the bytes themselves identify the message: the same mail
    # delivered twice is still stored once.
    external_id = parsed.message_id or f"sha256:{stored.sha256}"
    verdict = sender_verdict(parsed)
    return Inbound(
        channel=Channel.EMAIL,
        sender_kind="email",
        sender=parsed.from_address,
        sender_name=parsed.from_name,
        subject=parsed.subject,
        text=parsed.text,
        html=parsed.html,
        external_id=external_id,
        thread_ids=tuple(dict.fromkeys((*parsed.in_reply_to, *reversed(parsed.references)))),
        ticket_reference=parsed.ticket_reference,
        category=category,
        queue=queue,
        language=parsed.language,
        cc=tuple(
            address
            for address in (*parsed.to, *parsed.cc)
            if address != parsed.from_address and address not in settings.SUPPORT_ADDRESSES
        ),
        authenticated=verdict.authenticated,
        automatic=parsed.auto_submitted,
        attachments=parsed.attachments,
        metadata={
            "to": list(parsed.to),
            "cc": list(parsed.cc),
            "date": parsed.date.isoformat() if parsed.date else "",
            "auto_submitted": parsed.auto_submitted,
            "sender_verified": verdict.authenticated,
            "sender_verified_by": f"{verdict.how} ({verdict.authserv_id})" if verdict.how else "",
            "charset_warnings": list(parsed.charset_warnings),
            "warnings": list(parsed.warnings),
            "oversized": parsed.oversized,
        },
        raw_id=stored.pk,
    )


def sender_verdict(parsed: ParsedEmail) -> authresults.Verdict:
    """Whether our trusted mail servers authenticated the From address (authresults)."""
    return authresults.authenticated(
        parsed.authentication_results,
        from_address=parsed.from_address,
        trusted=settings.EMAIL_TRUSTED_AUTHSERV_IDS,
    )


def _notify_senders(filed: list[tuple[Ticket, ParsedEmail, bool]]) -> None:
    """Queue the acknowledgements of new tickets (one task for the batch) and the too-large
    notices (RFC 3834 both; the tasks enforce once an hour per address and skip
    undeliverable addresses). ``filed`` holds (ticket, parsed, opened) of new messages."""
    acknowledgements = [
        [ticket.pk, parsed.from_address, parsed.language]
        for ticket, parsed, opened in filed
        if opened and not parsed.auto_submitted
    ]
    if acknowledgements:
        send_acknowledgements.enqueue(acknowledgements)
    for ticket, parsed, _opened in filed:
        if parsed.oversized and not parsed.auto_submitted:
            send_too_large_notice.enqueue(
                ticket.pk, parsed.from_address, settings.EMAIL_MAX_MESSAGE_BYTES, parsed.language
            )


def _tell_not_stored(received: actions.Received, parsed: ParsedEmail) -> None:
    """Attachments the disk had no room for (tickets.actions.NOT_STORED): the message and
    its raw bytes are kept; the sender is asked to send the files again."""
    lost = received.message.metadata.get(actions.NOT_STORED)
    if lost and not parsed.auto_submitted:
        send_not_stored_notice.enqueue(
            received.ticket.pk,
            parsed.from_address,
            [item.get("name", "") for item in lost],
            parsed.language,
        )


def _route(parsed: ParsedEmail) -> tuple[str, str]:
    """(queue slug, category) of the first support address the mail was sent to."""
    routes = settings.SUPPORT_ADDRESSES
    # Delivered-To first: it names the address that really received a Bcc'd copy.
    for address in (*parsed.delivered_to, *parsed.to, *parsed.cc):
        if address in routes:
            return routes[address]
    return next(iter(routes.values()), ("", ""))


def _is_from_us(parsed: ParsedEmail) -> bool:
    return parsed.from_address in settings.SUPPORT_ADDRESSES


def _record_bounce(stored: InboundMessage, parsed: ParsedEmail) -> str:
    """A delivery report opens no ticket: it marks our original message as failed."""
    bounce = parsed.bounce
    original = None
    if bounce.original_message_id:
        original = (
            Message.objects.select_related("ticket")
            .filter(
                channel=Channel.EMAIL,
                direction=Message.Direction.OUTBOUND,
                external_id=bounce.original_message_id,
            )
            .first()
        )
    if original is None:
        return _finish(
            stored,
            InboundMessage.Status.QUARANTINED,
            "Delivery report for a message we did not send.",
        )
    if bounce.action != "failed" and not bounce.permanent:
        # "delayed" or "relayed": the server is still trying; nothing failed yet.
        return _finish(
            stored,
            InboundMessage.Status.PROCESSED,
            f"Delivery report: {bounce.action or 'not a failure'}.",
            message=original,
        )
    with transaction.atomic():
        actions.mark_delivery_failed(original, bounce.diagnostic or "Bounced")
        if bounce.permanent and bounce.recipient:
            mark_undeliverable(original.ticket.customer, address=bounce.recipient)
        _finish(stored, InboundMessage.Status.PROCESSED, "Delivery report.", message=original)
    return InboundMessage.Status.PROCESSED


def _finish(stored: InboundMessage, status: str, reason: str, *, message=None) -> str:
    if status == InboundMessage.Status.QUARANTINED:
        logger.info("email %s quarantined: %s", stored.pk, reason)
    InboundMessage.objects.filter(pk=stored.pk).update(
        status=status, reason=reason, processed_at=timezone.now(), message=message
    )
    stored.status = status
    return status
