"""Agents write: answers to the customer (queued for delivery through the ticket's channel)
and internal notes, one at a time from the ticket page or many at once from the chat
console's batched writer. Both end in `thread.append`, which applies the thread's rules.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.permissions import WORK_TICKETS, require_permission

from ..models import Message, Ticket
from . import thread
from .lifecycle import change_status


@dataclass(frozen=True)
class Reply:
    """One answer or note. ``delivered``: its route delivered it as it was stored (a live
    chat's customer is connected), so it is sent, not queued."""

    ticket_id: int
    acting_user: object
    text: str
    internal: bool = False
    external_id: str = ""
    delivered: bool = False


@transaction.atomic
def reply(
    ticket: Ticket,
    *,
    acting_user,
    body: str,
    internal: bool = False,
    then_status: str = "",
) -> Message:
    """An agent answers the customer (queued for delivery) or, with ``internal``, adds a note.

    ``then_status`` moves the ticket on in the same transaction (e.g. "pending" after asking
    the customer something): the message and the status change happen both or neither.
    """
    body = (body or "").strip()
    if not body:
        raise ValidationError(_("The message is empty."))
    (result,) = reply_many(
        [Reply(ticket_id=ticket.pk, acting_user=acting_user, text=body, internal=internal)]
    )
    if isinstance(result, ValidationError):
        if result.code == "ticket_closed":
            raise ValidationError(
                _("This ticket is closed; open a follow-up to write to the customer."),
                code="ticket_closed",
            )
        raise result
    if then_status:
        change_status(result.ticket, acting_user=acting_user, status=then_status)
    return result


def add_note(ticket: Ticket, *, acting_user, body: str, then_status: str = "") -> Message:
    """An internal note: seen by agents only, never sent."""
    return reply(ticket, acting_user=acting_user, body=body, internal=True, then_status=then_status)


def reply_many(
    replies: Sequence[Reply], *, history: bool = True, announce: bool = True
) -> list[Message | ValidationError]:
    """Store many answers and notes in one transaction, in a fixed number of queries.

    Returns, for each, its Message or the ValidationError that keeps it out (code
    "ticket_closed": a closed ticket takes notes only; "not_found"). Raises
    PermissionDenied when an author may not work tickets. ``history`` and ``announce`` as
    for `thread.append`.
    """
    for author in {id(reply.acting_user): reply.acting_user for reply in replies}.values():
        require_permission(author, WORK_TICKETS)
    with transaction.atomic():
        tickets = Ticket.objects.select_for_update().in_bulk({reply.ticket_id for reply in replies})
        results: list[Message | ValidationError | None] = [None] * len(replies)
        drafts, places = [], []
        for index, reply in enumerate(replies):
            ticket = tickets.get(reply.ticket_id)
            direction = Message.Direction.NOTE if reply.internal else Message.Direction.OUTBOUND
            if ticket is None:
                results[index] = ValidationError(_("No such ticket."), code="not_found")
            elif not thread.takes(ticket, direction):
                results[index] = ValidationError(thread.CLOSED, code="ticket_closed")
            else:
                drafts.append(_draft(reply, ticket, direction))
                places.append(index)
        for index, message in zip(
            places, thread.append(drafts, history=history, announce=announce), strict=True
        ):
            results[index] = message
    return results


def _draft(reply: Reply, ticket: Ticket, direction: str) -> thread.Draft:
    delivery = ""
    if direction == Message.Direction.OUTBOUND:
        delivery = Message.Delivery.SENT if reply.delivered else Message.Delivery.QUEUED
    return thread.Draft(
        ticket=ticket,
        direction=direction,
        text=reply.text,
        author_id=reply.acting_user.pk,
        external_id=reply.external_id,
        delivery=delivery,
    )
