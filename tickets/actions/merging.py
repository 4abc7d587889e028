"""Merging tickets: one conversation opened twice (an email and a chat about the same
failed payment) becomes one. The source's messages, with their attachments, move to the
target in their order; its calls point at the target; the source is closed with a history
line naming the target, and the target's history names the source.

The messages keep their channel ids (email Message-IDs, WeChat MsgIds), so a customer's
later reply to a message of the source threads into the target (intake threads on them).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from accounts.permissions import WORK_TICKETS, require_permission

from ..models import CallLog, Message, Ticket, TicketEvent
from ..text import clipped, html_to_text
from .lifecycle import change_status
from .thread import PREVIEW_LENGTH


@transaction.atomic
def merge_tickets(source: Ticket, target: Ticket, acting_user) -> Ticket:
    """Move everything of ``source`` into ``target`` and close ``source``; returns the
    target. Both must be the same customer's, and neither closed."""
    require_permission(acting_user, WORK_TICKETS)
    source, target = _locked(source, target)
    _check(source, target)
    moved = Message.objects.filter(ticket=source).update(ticket=target)
    CallLog.objects.filter(ticket=source).update(ticket=target)
    latest = Message.objects.filter(ticket=target).aggregate(latest=Max("created_at"))["latest"]
    target.last_message_at = max(filter(None, [latest, target.last_message_at]), default=None)
    target.last_message_preview = _preview(target)
    target.save(update_fields=["last_message_at", "last_message_preview", "updated_at"])
    TicketEvent.objects.bulk_create(
        [
            TicketEvent(
                ticket=source,
                kind=TicketEvent.Kind.MERGED_INTO,
                actor=acting_user,
                data={"ticket": target.pk, "reference": target.reference, "messages": moved},
            ),
            TicketEvent(
                ticket=target,
                kind=TicketEvent.Kind.MERGED_FROM,
                actor=acting_user,
                data={"ticket": source.pk, "reference": source.reference, "messages": moved},
            ),
        ]
    )
    change_status(source, acting_user=acting_user, status=Ticket.Status.CLOSED)
    return target


def _preview(ticket: Ticket) -> str:
    """The inbox's preview of the merged thread: its latest message that is not a note,
    as thread.append keeps it."""
    latest = (
        Message.objects.filter(ticket=ticket)
        .exclude(direction=Message.Direction.NOTE)
        .order_by("-created_at", "-pk")
        .only("text", "html")
        .first()
    )
    if latest is None:
        return ticket.last_message_preview
    return clipped(latest.text or html_to_text(latest.html), PREVIEW_LENGTH)


def _locked(source: Ticket, target: Ticket) -> tuple[Ticket, Ticket]:
    """Both rows, locked in id order so two merges of the same pair cannot deadlock."""
    if source.pk == target.pk:
        raise ValidationError(_("A ticket cannot be merged into itself."))
    rows = Ticket.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk")
    locked = {ticket.pk: ticket for ticket in rows}
    return locked[source.pk], locked[target.pk]


def _check(source: Ticket, target: Ticket) -> None:
    if source.customer_id != target.customer_id:
        raise ValidationError(
            _("%(source)s and %(target)s belong to different customers; merge the customers first.")
            % {"source": source.reference, "target": target.reference}
        )
    for ticket in (source, target):
        if ticket.status == Ticket.Status.CLOSED:
            raise ValidationError(
                _("%(reference)s is closed; a closed ticket is not merged.")
                % {"reference": ticket.reference}
            )
