"""Who an email ticket's answers go to besides the customer: the Cc addresses.

A Cc in a customer's mail is a claim by whoever wrote the mail (a forged From can copy in
anyone), so intake only proposes it; an agent accepts it here, or removes it. Each change
is a line in the ticket's history.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.permissions import WORK_TICKETS, require_permission

from ..models import Ticket, TicketEvent


@transaction.atomic
def accept_cc(ticket: Ticket, *, acting_user, address: str) -> Ticket:
    """A proposed Cc becomes a recipient of the ticket's answers from now on."""
    require_permission(acting_user, WORK_TICKETS)
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    address = _clean(address)
    if address not in ticket.cc_proposed:
        raise ValidationError(
            _("%(address)s is not a proposed Cc of this ticket.") % {"address": address},
            code="not_proposed",
        )
    ticket.cc_proposed = [known for known in ticket.cc_proposed if known != address]
    ticket.cc = list(dict.fromkeys([*ticket.cc, address]))
    _save(ticket, acting_user, TicketEvent.Kind.CC_ACCEPTED, address)
    return ticket


@transaction.atomic
def remove_cc(ticket: Ticket, *, acting_user, address: str) -> Ticket:
    """A Cc, accepted or proposed, is taken off the ticket: answers no longer go to it."""
    require_permission(acting_user, WORK_TICKETS)
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    address = _clean(address)
    if address not in ticket.cc and address not in ticket.cc_proposed:
        raise ValidationError(
            _("%(address)s is not a Cc of this ticket.") % {"address": address},
            code="not_cc",
        )
    ticket.cc = [known for known in ticket.cc if known != address]
    ticket.cc_proposed = [known for known in ticket.cc_proposed if known != address]
    _save(ticket, acting_user, TicketEvent.Kind.CC_REMOVED, address)
    return ticket


def _clean(address: str) -> str:
    return (address or "").strip().lower()


def _save(ticket: Ticket, acting_user, kind: str, address: str) -> None:
    ticket.save(update_fields=["cc", "cc_proposed", "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket, kind=kind, actor=acting_user, data={"address": address, "by": "agent"}
    )
