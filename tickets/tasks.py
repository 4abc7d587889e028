"""Background work, through Django's task framework (django-tasks-db by default)."""

import logging

from django.tasks import task

from . import actions
from .models import Ticket

logger = logging.getLogger(__name__)


@task(queue_name="default")
def deliver_message(message_id: int) -> str:
    """Send one queued outbound message through its ticket's channel."""
    return actions.deliver(message_id)


@task(queue_name="default")
def send_acknowledgement(ticket_id: int, to_address: str, language: str = "") -> str:
    """Acknowledge a new email ticket to its sender (at most once an hour per address).

    ``language`` ("zh-hans" or "en") defaults to the customer's. Returns the notice's
    delivery status, or "skipped" when none was due.
    """
    from .sources.email import notices

    ticket = Ticket.objects.select_related("customer").filter(pk=ticket_id).first()
    if ticket is None:
        return "missing"
    notice = notices.acknowledge(
        ticket, to_address=to_address, language=language or ticket.customer.language
    )
    return notice.delivery_status if notice else "skipped"


@task(queue_name="default")
def send_too_large_notice(
    ticket_id: int, to_address: str, limit_bytes: int, language: str = ""
) -> str:
    """Tell an email sender that attachments over ``limit_bytes`` were not kept."""
    from .sources.email import notices

    ticket = Ticket.objects.select_related("customer").filter(pk=ticket_id).first()
    if ticket is None:
        return "missing"
    notice = notices.too_large(
        ticket,
        to_address=to_address,
        language=language or ticket.customer.language,
        limit_bytes=limit_bytes,
    )
    return notice.delivery_status if notice else "skipped"
