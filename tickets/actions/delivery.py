"""Delivery: an outbound message leaves through its channel's sender, found in the one
registry (tickets.sources.sender_for), from a background task, retried with back-off.

What happened to it is recorded here and nowhere else: sent, failed (with the reason the
agent sees), or still queued. A channel that cannot reach the customer now (a live chat
they have left) answers AWAY, and the message goes by email when the customer has a
deliverable address, or waits for their return; one that cannot reach them at all answers
GONE, and the message goes by email or fails with that reason.

A worker can be killed in the middle of a delivery (a deploy, the OOM killer). So that a
reply is then neither lost nor sent twice, each attempt claims its message first (a
committed mark in ``metadata["delivery"]``: attempt id, time, phase "sending") and moves
it to phase "committing" just before the mail server can have the whole mail (the final
dot of SMTP's DATA, `mywallet_support.mail.commit_point`), refusing to go on when its
claim was taken over. `recover_abandoned` (run by `manage.py run_worker`, at its start and
then every few seconds) finds claims older than DELIVERY_LEASE_SECONDS:

- phase "sending": the server never had the whole mail, which it discards: sent again;
- phase "committing": the server may have it (it got the dot; its answer was never read).
  Sending again could give the customer the mail twice, so it is not: the message is
  marked failed with a reason that says it may have arrived, for the agent to check and
  resend if needed ("delivery unknown"). The window is one SMTP round trip per message.

A task a killed worker had taken before it claimed the message (its row stays RUNNING
forever) is queued again. Outside SMTP (the console and memory backends) "committing" is
recorded before the mail is handed over, wider but never doubled.
"""

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.tasks import TaskResultStatus, task
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks_db.models import DBTaskResult

from accounts.models import CustomerIdentity
from mywallet_support.mail import CommitRefused, DeliveryError, commit_point

from .. import live, personal_data
from ..models import Channel, Message
from ..sources import AWAY, GONE, sender_for

logger = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 5
CLAIM = "delivery"  # the metadata key of an attempt's claim
SENDING, COMMITTING = "sending", "committing"
TASK_PATH = "tickets.actions.delivery.deliver_message"
FALLBACK_CHANNEL = Channel.EMAIL  # where an answer goes when its channel cannot reach


def enqueue_delivery(message_id: int, *, delay: timedelta | None = None) -> None:
    """Queue the delivery of a stored outbound message, after ``delay`` when retrying."""
    if delay:
        deliver_message.using(run_after=timezone.now() + delay).enqueue(message_id)
    else:
        deliver_message.enqueue(message_id)


@task(queue_name="default")
def deliver_message(message_id: int) -> str:
    """Send one queued outbound message through its ticket's channel."""
    return deliver(message_id)


def deliver(message_id: int) -> str:
    """Send one queued outbound message; retried with back-off, then marked failed."""
    message = Message.objects.select_related("ticket").filter(pk=message_id).first()
    if message is None or message.delivery_status != Message.Delivery.QUEUED:
        return message.delivery_status if message else "missing"
    send = sender_for(message.channel)
    if send is None:
        return record_delivery(
            message,
            Message.Delivery.FAILED,
            _("The %(channel)s channel cannot send replies; contact the customer another way.")
            % {"channel": message.get_channel_display()},
        )
    attempt = _claim(message)
    if attempt is None:
        return "claimed"  # another attempt has it (or a recovery just took it over)
    attempts = message.metadata.get("delivery_attempts", 0) + 1
    # What leaves never repeats a full card, ID or passport number, whatever the row holds
    # (the stored text is masked already: thread.append); the row itself is left as it is.
    message.text = personal_data.for_customer(message.text)
    message.html = personal_data.for_customer(message.html)
    try:
        with commit_point(lambda: _committing(message.pk, attempt)):
            outcome = send(message)
            if outcome in (AWAY, GONE):
                outcome = _by_fallback(message, outcome)
    except CommitRefused:
        logger.warning("delivery of message %s was taken over; this attempt stops", message.pk)
        return "claimed"
    except DeliveryError as exc:
        if exc.permanent or attempts >= MAX_DELIVERY_ATTEMPTS:
            return record_delivery(message, Message.Delivery.FAILED, str(exc))
        _release(message, delivery_attempts=attempts, delivery_error=str(exc))
        enqueue_delivery(message.pk, delay=timedelta(seconds=30 * 2**attempts))
        logger.info("delivery of message %s failed (attempt %s), retrying", message.pk, attempts)
        return Message.Delivery.QUEUED
    if outcome == AWAY:
        # Kept for the customer's return (mark_shown marks it sent once they have seen it).
        _release(message)
        return Message.Delivery.QUEUED
    return record_delivery(message, Message.Delivery.SENT, "")


# --- claims, and what a killed worker left behind ----------------------------------------


def _claim(message: Message) -> str | None:
    """Mark ``message`` as being sent by a new attempt (committed at once, outside any
    transaction); None when a live claim of another attempt is there."""
    current = message.metadata.get(CLAIM)
    if current and (current.get("phase") == COMMITTING or not _expired(current)):
        return None  # live, or its outcome unknown: recover_abandoned decides
    attempt = uuid.uuid4().hex
    claim = {"attempt": attempt, "phase": SENDING, "since": timezone.now().isoformat()}
    claimed = _unchanged(message).update(metadata={**message.metadata, CLAIM: claim})
    if not claimed:
        return None
    message.metadata = {**message.metadata, CLAIM: claim}
    return attempt


def _unchanged(message: Message):
    """``message`` as long as it is still queued and its claim is the one we read."""
    rows = Message.objects.filter(pk=message.pk, delivery_status=Message.Delivery.QUEUED)
    current = message.metadata.get(CLAIM)
    if current:
        return rows.filter(**{f"metadata__{CLAIM}__attempt": current["attempt"]})
    return rows.exclude(metadata__has_key=CLAIM)


def _committing(message_id: int, attempt: str) -> None:
    """Just before the mail server can have the whole mail: record it, if still ours."""
    message = Message.objects.get(pk=message_id)
    claim = message.metadata.get(CLAIM) or {}
    if claim.get("attempt") != attempt or message.delivery_status != Message.Delivery.QUEUED:
        raise CommitRefused
    claim = {**claim, "phase": COMMITTING, "since": timezone.now().isoformat()}
    if not _unchanged(message).update(metadata={**message.metadata, CLAIM: claim}):
        raise CommitRefused


def _release(message: Message, **changes) -> None:
    """The attempt ended without sending (a retry later, or a customer away): unclaimed."""
    metadata = {key: value for key, value in message.metadata.items() if key != CLAIM}
    if "delivery_attempts" in changes:
        metadata["delivery_attempts"] = changes.pop("delivery_attempts")
    Message.objects.filter(pk=message.pk).update(metadata=metadata, **changes)
    message.metadata = metadata


def _expired(claim: dict, now: datetime | None = None) -> bool:
    try:
        since = datetime.fromisoformat(claim["since"])
    except (KeyError, TypeError, ValueError):
        return True
    lease = timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    return since + lease <= (now or timezone.now())


def delivery_unknown() -> str:
    """What the agent reads on a reply whose send was cut off at the commit point."""
    return _(
        "The worker stopped while the mail server was taking this reply: it may or may not "
        "have reached the customer. Check with them before sending it again."
    )


def recover_abandoned() -> dict[str, int]:
    """Deliveries a killed worker left unfinished (see the module): sent again when the
    mail server never had them whole, else held for the agent. Safe to run from several
    processes at once (each change is conditional on what was read). Returns the counts."""
    now = timezone.now()
    counts = {"resent": 0, "unknown": 0, "requeued": 0}
    claimed = Message.objects.filter(
        direction=Message.Direction.OUTBOUND,
        delivery_status=Message.Delivery.QUEUED,
        metadata__has_key=CLAIM,
    ).select_related("ticket")
    for message in claimed:
        claim = message.metadata[CLAIM]
        if not _expired(claim, now):
            continue
        if claim.get("phase") == COMMITTING:
            if _unchanged(message).update(
                delivery_status=Message.Delivery.FAILED,
                delivery_error=delivery_unknown(),
                metadata={**message.metadata, "delivery_unknown": True},
            ):
                message.delivery_status = Message.Delivery.FAILED
                message.delivery_error = delivery_unknown()
                live.broadcast_message(message)
                counts["unknown"] += 1
                logger.warning("delivery of message %s: outcome unknown, held", message.pk)
            continue
        metadata = {key: value for key, value in message.metadata.items() if key != CLAIM}
        if _unchanged(message).update(metadata=metadata):
            enqueue_delivery(message.pk)
            counts["resent"] += 1
            logger.warning("delivery of message %s was abandoned; queued again", message.pk)
    counts["requeued"] = _requeue_lost_tasks(now)
    return counts


def _requeue_lost_tasks(now: datetime) -> int:
    """Delivery tasks a worker took and never finished, on messages it had not claimed
    yet: their rows are closed (failed) and the deliveries queued again."""
    lease = timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    stale = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, task_path=TASK_PATH, started_at__lte=now - lease
    )
    requeued = 0
    for row in stale:
        args = (row.args_kwargs or {}).get("args") or []
        closed = DBTaskResult.objects.filter(pk=row.pk, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED, finished_at=now, exception_class_path="worker lost"
        )
        if not closed or not args:
            continue
        message = Message.objects.filter(
            pk=args[0], delivery_status=Message.Delivery.QUEUED
        ).first()
        if message is not None and CLAIM not in message.metadata:
            enqueue_delivery(message.pk)
            requeued += 1
    return requeued


def _by_fallback(message: Message, outcome: str) -> str | None:
    """The customer is not on the message's channel: by email when they have a deliverable
    address; else it waits for them (AWAY) or fails (GONE, permanently)."""
    reachable = CustomerIdentity.objects.filter(
        customer_id=message.ticket.customer_id,
        kind=CustomerIdentity.Kind.EMAIL,
        undeliverable=False,
    ).exists()
    if reachable and message.channel != FALLBACK_CHANNEL:
        return sender_for(FALLBACK_CHANNEL)(message)
    if outcome == GONE:
        raise DeliveryError(
            _(
                "The customer cannot be reached on %(channel)s and has no deliverable email "
                "address; contact them another way."
            )
            % {"channel": message.get_channel_display()},
            permanent=True,
        )
    return AWAY


def record_delivery(message: Message, status: str, error: str) -> str:
    """What became of an outbound message: sent, failed (``error`` tells the agent why) or
    queued again. Viewers of the ticket see the change at once."""
    Message.objects.filter(pk=message.pk).update(
        delivery_status=status,
        delivery_error=error,
        delivered_at=timezone.now() if status == Message.Delivery.SENT else None,
    )
    message.delivery_status = status
    message.delivery_error = error
    live.broadcast_message(message)
    return status


def mark_delivery_failed(message: Message, error: str) -> None:
    """A message reported undeliverable after it left (a bounce)."""
    Message.objects.filter(pk=message.pk).update(
        delivery_status=Message.Delivery.FAILED, delivery_error=error, delivered_at=None
    )


def mark_shown(message_ids: Iterable[int]) -> None:
    """Queued answers the customer has now been shown (a chat resumed) count as sent."""
    message_ids = list(message_ids)
    if message_ids:
        Message.objects.filter(
            pk__in=message_ids,
            direction=Message.Direction.OUTBOUND,
            delivery_status=Message.Delivery.QUEUED,
        ).update(delivery_status=Message.Delivery.SENT, delivered_at=timezone.now())
