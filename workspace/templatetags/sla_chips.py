"""`{% sla_chip ticket %}`: where a ticket stands against its SLA (tickets.sla.sla_state) as
a coloured chip, for the ticket page and any list: the due time that applies, green while
it is far, amber within SLA_WARNING_MINUTES, red once past; nothing when the SLA clock is
not running (pending the customer, solved, closed) or the ticket has no due time."""

from django import template
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.sla import BREACHED, OK, SOON, sla_state

register = template.Library()

FIRST_RESPONSE_LABELS = {
    OK: _("First response due"),
    SOON: _("First response due soon"),
    BREACHED: _("First response overdue since"),
}
RESOLUTION_LABELS = {
    OK: _("Resolution due"),
    SOON: _("Resolution due soon"),
    BREACHED: _("Resolution overdue since"),
}


@register.inclusion_tag("admin/tickets/includes/sla_chip.html")
def sla_chip(ticket, now=None):
    state, due = sla_state(ticket, now or timezone.now())
    if state is None:
        return {"state": None}
    first = ticket.first_responded_at is None and due == ticket.first_response_due
    labels = FIRST_RESPONSE_LABELS if first else RESOLUTION_LABELS
    return {"state": state, "due": due, "label": labels[state]}
