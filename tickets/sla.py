"""Where a ticket stands against its SLA, for lists, the ticket page and the escalation.

The due time that applies is the first response's until an agent has answered, then the
resolution's. The clock runs while the team owes the next step (new, open, on hold); a
ticket pending the customer, solved or closed has no SLA state. "soon" is within
settings.SLA_WARNING_MINUTES of the due time, "breached" is past it.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, QuerySet

from .models import Ticket

OK, SOON, BREACHED = "ok", "soon", "breached"

# The statuses in which the SLA clock runs.
RUNNING = (Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.ON_HOLD)

# The due time that applies, in SQL: the stored column Ticket.sla_due (empty when the clock
# does not run), indexed for the inbox's order.
SLA_DUE = F("sla_due")


def warning_window() -> timedelta:
    return timedelta(minutes=settings.SLA_WARNING_MINUTES)


def applicable_due(ticket: Ticket) -> datetime | None:
    """The due time the team is working against now (first response, then resolution)."""
    if ticket.first_responded_at is None and ticket.first_response_due is not None:
        return ticket.first_response_due
    return ticket.resolution_due


def sla_state(ticket: Ticket, now: datetime) -> tuple[str | None, datetime | None]:
    """("ok" | "soon" | "breached", the due time that applies), or (None, None) for a
    ticket without a due time or whose SLA clock is not running."""
    due = applicable_due(ticket) if ticket.status in RUNNING else None
    state = state_at(due, now)
    return (state, due) if state else (None, None)


def state_at(due: datetime | None, now: datetime) -> str | None:
    """How near ``due`` is at ``now``: "ok", "soon" (within the warning window),
    "breached" (past), or None without a due time."""
    if due is None:
        return None
    if due <= now:
        return BREACHED
    if due <= now + warning_window():
        return SOON
    return OK


def breaching(tickets: QuerySet, now: datetime) -> QuerySet:
    """The tickets of ``tickets`` whose SLA is about to break or broken."""
    return tickets.filter(sla_due__lte=now + warning_window())
