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
def send_acknowledgements(notices: list[list]) -> list[str]:
    """Acknowledge new email tickets to their senders: [ticket id, address, language] each,
    one task for a whole batch of imported mail (at most once an hour per address).

    ``language`` ("zh-hans" or "en") defaults to the customer's. Returns each notice's
    delivery status, or "skipped" when none was due; one that fails does not stop the rest.
    """
    from .sources.email import notices as email_notices

    tickets = Ticket.objects.select_related("customer").in_bulk(
        [ticket_id for ticket_id, _address, _language in notices]
    )
    statuses = []
    for ticket_id, address, language in notices:
        ticket = tickets.get(ticket_id)
        if ticket is None:
            statuses.append("missing")
            continue
        try:
            notice = email_notices.acknowledge(
                ticket, to_address=address, language=language or ticket.customer.language
            )
        except Exception:
            logger.exception("acknowledgement of ticket %s failed", ticket_id)
            statuses.append("failed")
            continue
        statuses.append(notice.delivery_status if notice else "skipped")
    return statuses


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
