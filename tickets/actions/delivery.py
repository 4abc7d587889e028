"""Delivery: an outbound message leaves through its channel's sender, found in the one
registry (tickets.sources.sender_for), from a background task, retried with back-off.

What happened to it is recorded here and nowhere else: sent, failed (with the reason the
agent sees), or still queued. A channel that cannot reach the customer now (a live chat
they have left) answers AWAY, and the message goes by email when the customer has a
deliverable address, or waits for their return; one that cannot reach them at all answers
GONE, and the message goes by email or fails with that reason.
"""

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CustomerIdentity
from mywallet_support.mail import DeliveryError

from .. import live
from ..models import Channel, Message
from ..sources import AWAY, GONE, sender_for

logger = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 5
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
    attempts = message.metadata.get("delivery_attempts", 0) + 1
    try:
        outcome = send(message)
        if outcome in (AWAY, GONE):
            outcome = _by_fallback(message, outcome)
    except DeliveryError as exc:
        if exc.permanent or attempts >= MAX_DELIVERY_ATTEMPTS:
            return record_delivery(message, Message.Delivery.FAILED, str(exc))
        Message.objects.filter(pk=message.pk).update(
            metadata={**message.metadata, "delivery_attempts": attempts}, delivery_error=str(exc)
        )
        enqueue_delivery(message.pk, delay=timedelta(seconds=30 * 2**attempts))
        logger.info("delivery of message %s failed (attempt %s), retrying", message.pk, attempts)
        return Message.Delivery.QUEUED
    if outcome == AWAY:
        # Kept for the customer's return (mark_shown marks it sent once they have seen it).
        return Message.Delivery.QUEUED
    return record_delivery(message, Message.Delivery.SENT, "")


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
