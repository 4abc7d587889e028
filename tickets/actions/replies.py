"""Agents write: answers to the customer (queued for delivery through the ticket's channel)
and internal notes, one at a time from the ticket page or many at once from the chat
console's batched writer. Both end in `thread.append`, which applies the thread's rules.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CustomerIdentity
from accounts.permissions import WORK_TICKETS, is_agent, require_permission

from ..models import Channel, Message, Ticket
from ..sources import sender_for, window_for
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
    via: str = ""  # the channel it goes out through; "" for the ticket's


@transaction.atomic
def reply(
    ticket: Ticket,
    *,
    acting_user,
    body: str,
    internal: bool = False,
    then_status: str = "",
    via: str = "",
) -> Message:
    """An agent answers the customer (queued for delivery) or, with ``internal``, adds a note.

    ``then_status`` moves the ticket on in the same transaction (e.g. "pending" after asking
    the customer something): the message and the status change happen both or neither.
    ``via``: another channel of the same customer to answer through (one `reply_routes`
    offers as open); by default the ticket's own. An answer through a channel whose reply
    window has closed is refused, so the agent is never told it will be delivered.
    """
    body = (body or "").strip()
    if not body:
        raise ValidationError(_("The message is empty."))
    require_permission(acting_user, WORK_TICKETS)
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if not internal:
        via = _checked_route(ticket, via)
    (result,) = reply_many(
        [Reply(ticket=ticket, acting_user=acting_user, text=body, internal=internal, via=via)]
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
        channel=reply.via if direction == Message.Direction.OUTBOUND else "",
        takes_ticket=is_agent(reply.acting_user),
    )


# --- which channel an answer takes -------------------------------------------------------

# The identity kind through which each answerable channel reaches a customer. The live chat
# is not here: it reaches only the conversation's own visitor, on its own ticket.
ROUTE_KINDS = {
    Channel.EMAIL: CustomerIdentity.Kind.EMAIL,
    Channel.WECHAT: CustomerIdentity.Kind.WECHAT,
    Channel.WEIBO: CustomerIdentity.Kind.WEIBO,
}


@dataclass(frozen=True, slots=True)
class Route:
    """A channel an answer on a ticket can take: ``open`` unless the channel cannot send
    (no sender) or its reply window has closed (``closed_at``)."""

    channel: str
    label: str
    own: bool  # the ticket's own channel
    open: bool
    closed_at: datetime | None = None
    can_send: bool = True


def reply_routes(ticket: Ticket) -> list[Route]:
    """The channels an answer on ``ticket`` can go out through: the ticket's own first, then
    the customer's other identities' channels that have a sender, each with whether it
    takes an answer now (its window, from tickets.sources.WINDOWS)."""
    kinds = set(
        CustomerIdentity.objects.filter(customer_id=ticket.customer_id).values_list(
            "kind", flat=True
        )
    )
    channels = [ticket.channel] + [
        channel
        for channel, kind in ROUTE_KINDS.items()
        if kind in kinds and channel != ticket.channel
    ]
    now, routes = timezone.now(), []
    for channel in channels:
        can_send = sender_for(channel) is not None
        window = window_for(channel)
        closes = window(ticket) if window and can_send else None
        closed = closes is not None and closes <= now
        if channel != ticket.channel and not can_send:
            continue
        routes.append(
            Route(
                channel=channel,
                label=str(Channel(channel).label),
                own=channel == ticket.channel,
                open=can_send and not closed,
                closed_at=closes if closed else None,
                can_send=can_send,
            )
        )
    return routes


def _checked_route(ticket: Ticket, via: str) -> str:
    """``via`` if an answer on ``ticket`` may take it now ("" for the ticket's own channel,
    refused only when its window has closed); else the ValidationError the agent reads."""
    routes = {route.channel: route for route in reply_routes(ticket)}
    channel = via or ticket.channel
    route = routes.get(channel)
    if route is None:
        raise ValidationError(
            _("This customer cannot be answered through %(channel)s.") % {"channel": channel},
            code="no_route",
        )
    if route.closed_at is not None:
        raise ValidationError(
            _(
                "The %(channel)s reply window has closed; answer through another of the "
                "customer's channels."
            )
            % {"channel": route.label},
            code="window_closed",
        )
    return "" if channel == ticket.channel else channel
