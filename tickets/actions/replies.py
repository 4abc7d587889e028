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


@dataclass(slots=True)
class Reply:
    """One answer or note on ``ticket``, an instance read in the current transaction (its
    status, first response and assignee decide what the answer changes). ``delivered``:
    its route delivered it as it was stored (a live chat's customer is connected), so it is
    sent, not queued."""

    ticket: Ticket
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
    require_permission(acting_user, WORK_TICKETS)
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    (result,) = reply_many(
        [Reply(ticket=ticket, acting_user=acting_user, text=body, internal=internal)]
    )
    if isinstance(result, ValidationError):
        raise ValidationError(
            _("This ticket is closed; open a follow-up to write to the customer."),
            code="ticket_closed",
        )
    if then_status:
        change_status(ticket, acting_user=acting_user, status=then_status)
    return result.message


def add_note(ticket: Ticket, *, acting_user, body: str, then_status: str = "") -> Message:
    """An internal note: seen by agents only, never sent."""
    return reply(ticket, acting_user=acting_user, body=body, internal=True, then_status=then_status)


def reply_many(
    replies: Sequence[Reply], *, history: bool = True, announce: bool = True
) -> list[thread.Appended | ValidationError]:
    """Store many answers and notes in one transaction, in a fixed number of queries.

    Returns, for each, what was stored (`thread.Appended`) or the ValidationError (code
    "ticket_closed") that keeps it out: a closed ticket takes notes only. Raises
    PermissionDenied when an author may not work tickets. ``history`` and ``announce`` as
    for `thread.append`.
    """
    results, drafts = prepare_replies(replies)
    with transaction.atomic(savepoint=False):
        stored = thread.append(drafts, history=history, announce=announce)
    return place_replies(results, stored)


def prepare_replies(
    replies: Sequence[Reply],
) -> tuple[list[ValidationError | None], list[thread.Draft]]:
    """The checks of `reply_many`: the refusals in place (None where a draft goes), and the
    drafts to append, in order. Raises PermissionDenied for an author who may not."""
    for author in {id(reply.acting_user): reply.acting_user for reply in replies}.values():
        require_permission(author, WORK_TICKETS)
    results: list[ValidationError | None] = [None] * len(replies)
    drafts = []
    for index, reply in enumerate(replies):
        direction = Message.Direction.NOTE if reply.internal else Message.Direction.OUTBOUND
        if thread.takes(reply.ticket, direction):
            drafts.append(_draft(reply, direction))
        else:
            results[index] = ValidationError(thread.CLOSED, code="ticket_closed")
    return results, drafts


def place_replies(results: list, stored: list[thread.Appended]) -> list:
    """What was stored, in the places `prepare_replies` left for it."""
    stored_iter = iter(stored)
    return [next(stored_iter) if result is None else result for result in results]


def _draft(reply: Reply, direction: str) -> thread.Draft:
    delivery = ""
    if direction == Message.Direction.OUTBOUND:
        delivery = Message.Delivery.SENT if reply.delivered else Message.Delivery.QUEUED
    return thread.Draft(
        ticket=reply.ticket,
        direction=direction,
        text=reply.text,
        author_id=reply.acting_user.pk,
        external_id=reply.external_id,
        delivery=delivery,
    )
