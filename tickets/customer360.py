"""Customer 360: everything of one customer on one page of the workspace (their change
page): identities, wallets with status, bound cards and recent transactions, and one
timeline, newest first, of their tickets on every channel, their calls and the key events
of their accounts.

Bounded and flat: each source gives at most `TIMELINE_ITEMS` rows, read in a fixed number
of queries however many tickets, messages or calls the customer has; the page links to
the full lists. Only masked contacts are meant to be shown from here.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F

from accounts.models import AccountEvent, Customer
from accounts.selectors import AuditEntry, audit_entries, events_for_customer

from .models import CallLog, Ticket
from .selectors import CustomerPanel, customer_panel

TIMELINE_ITEMS = 25

# The account events worth a line among the tickets: what changed the wallet or its
# security. Codes, checks and notices stay in the full audit trail.
KEY_ACTIONS = (
    AccountEvent.Action.LOCK,
    AccountEvent.Action.UNLOCK,
    AccountEvent.Action.FREEZE,
    AccountEvent.Action.UNFREEZE,
    AccountEvent.Action.PAYMENT_PASSWORD_RESET,
    AccountEvent.Action.CONTACT_CHANGED,
    AccountEvent.Action.NATIONAL_ID_CHANGED,
    AccountEvent.Action.RISK_ALERT,
    AccountEvent.Action.PAYMENT_FAILED,
    AccountEvent.Action.CUSTOMERS_MERGED,
)


@dataclass(frozen=True)
class TimelineItem:
    """One line of the timeline: a ticket, a call or an account event."""

    at: datetime
    ticket: Ticket | None = None
    call: CallLog | None = None
    event: AuditEntry | None = None

    @property
    def kind(self) -> str:
        return "ticket" if self.ticket else "call" if self.call else "event"


@dataclass(frozen=True)
class CustomerOverview:
    panel: CustomerPanel  # identities, wallets with cards and recent transactions
    timeline: list[TimelineItem]
    ticket_count: int


def customer_overview(customer: Customer) -> CustomerOverview:
    """The customer 360's reads, newest first, at most TIMELINE_ITEMS lines."""
    tickets = (
        Ticket.objects.filter(customer=customer)
        .select_related("assignee", "queue")
        .order_by(F("last_message_at").desc(nulls_last=True), "-created_at", "-pk")
    )
    calls = CallLog.objects.filter(customer=customer).select_related("agent", "ticket")
    events = events_for_customer(customer).filter(action__in=KEY_ACTIONS)
    timeline = [
        *(
            TimelineItem(at=t.last_message_at or t.created_at, ticket=t)
            for t in tickets[:TIMELINE_ITEMS]
        ),
        *(
            TimelineItem(at=c.started_at, call=c)
            for c in calls.order_by("-started_at")[:TIMELINE_ITEMS]
        ),
        *(
            TimelineItem(at=e.event.created_at, event=e)
            for e in audit_entries(events, limit=TIMELINE_ITEMS)
        ),
    ]
    timeline.sort(key=lambda item: item.at, reverse=True)
    return CustomerOverview(
        panel=customer_panel(customer),
        timeline=timeline[:TIMELINE_ITEMS],
        ticket_count=tickets.count(),
    )
