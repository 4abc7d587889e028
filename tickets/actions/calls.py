"""A phone call in the thread: what an agent logs about a call (or the telephony system
reports with the agent who took it) is a phone Message written by that agent, never the
customer's own words, and an outbound call is the desk's contact, not the customer's.

An inbound call's Message is inbound (the customer called: it reopens a pending or on-hold
ticket as any customer contact does), with the agent as its author so the thread says who
logged it. An outbound call's Message is outbound and already sent (the call took place):
it answers the ticket like a reply, and it never reopens anything, so calling a customer
back about a solved ticket leaves that ticket solved. Both go through `thread.append`.
"""

from django.utils.translation import gettext as _

from accounts.models import CustomerIdentity

from ..models import Channel, Message, Ticket
from . import thread
from .intake import _link_raw
from .lifecycle import open_ticket

_FINISHED = [Ticket.Status.SOLVED, Ticket.Status.CLOSED]


def record_call(
    identity: CustomerIdentity,
    *,
    outbound: bool,
    text: str,
    agent=None,
    external_id: str = "",
    metadata: dict | None = None,
    raw_id: int | None = None,
) -> Ticket:
    """File a call with ``identity`` (the caller's phone identity) on the customer's open
    ticket, whatever its channel; an outbound call with no open ticket goes on their latest
    solved one (which stays solved); otherwise a new phone ticket. Returns the ticket.
    Runs inside the caller's transaction."""
    customer = identity.customer
    tickets = Ticket.objects.select_for_update(of=("self",)).filter(customer=customer)
    ticket = tickets.exclude(status__in=_FINISHED).order_by("-last_message_at", "-pk").first()
    if ticket is None and outbound:
        ticket = (
            tickets.filter(status=Ticket.Status.SOLVED).order_by("-last_message_at", "-pk").first()
        )
    opened = ticket is None
    if opened:
        ticket = open_ticket(
            customer=customer, channel=Channel.PHONE, subject=_("Phone call"), acting_user=agent
        )
    draft = thread.Draft(
        ticket=ticket,
        direction=Message.Direction.OUTBOUND if outbound else Message.Direction.INBOUND,
        text=text,
        author_id=agent.pk if agent is not None else None,
        sender_id=None if outbound else identity.pk,
        subject=_("Phone call"),
        external_id=external_id,
        metadata={**(metadata or {}), "logged_by_agent": agent is not None},
        # The call happened: nothing is left to deliver.
        delivery=Message.Delivery.SENT if outbound else "",
        channel=Channel.PHONE,
        opened=opened,
    )
    (stored,) = thread.append([draft])
    if raw_id is not None:
        _link_raw([(stored.pk, raw_id)])
    return ticket
