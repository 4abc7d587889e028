"""Reads of the audit trail for the agent workspace (wallet, customer and ticket pages).

One query per list, whatever its length: the rows come with their actor, wallet and ticket.
Each event reads as one sentence in the agent's language and time zone
(accounts.event_text), masked once more on the way out (the writers mask what they
record; this catches a value that slipped through).
"""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from .event_text import event_sentence
from .models import AccountEvent, Customer, WalletAccount

RECENT_EVENTS = 30


@dataclass(frozen=True)
class AuditEntry:
    event: AccountEvent
    sentence: str


def audit_entries(queryset: QuerySet, *, limit: int = RECENT_EVENTS) -> list[AuditEntry]:
    """The latest ``limit`` events of ``queryset``, newest first, ready to show."""
    events = queryset.select_related("actor", "account", "ticket").order_by("-sequence", "-id")
    return [AuditEntry(event=event, sentence=event_sentence(event)) for event in events[:limit]]


def events_for_wallet(wallet: WalletAccount) -> QuerySet:
    return AccountEvent.objects.filter(account=wallet)


def events_for_customer(customer: Customer) -> QuerySet:
    """The customer's own events and those of the wallets they hold now (after a merge
    a wallet's earlier events still name the customer it came from)."""
    return AccountEvent.objects.filter(Q(customer=customer) | Q(account__customer=customer))


def events_for_ticket(ticket) -> QuerySet:
    """Events recorded on the ticket, and those of its customer and their wallets; not
    those of a customer the ticket's guest only claims to be (an agent's attempts to
    verify them name their wallet), until the claim is proven."""
    events = AccountEvent.objects.filter(
        Q(ticket=ticket)
        | Q(customer_id=ticket.customer_id)
        | Q(account__customer_id=ticket.customer_id)
    )
    if ticket.claimed_identity_id:
        events = events.exclude(customer__identities__pk=ticket.claimed_identity_id)
    return events
