"""Reads the agent workspace needs, with their joins decided once.

Every function here issues a fixed number of queries whatever the number of messages,
events, wallets or transactions, so the pages built on them stay flat as tickets grow.
"""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import smart_split
from django.utils.translation import gettext as _

from accounts.identities import normalise_email, normalise_phone
from accounts.models import BankCard, Customer, CustomerIdentity, Transaction, WalletAccount
from accounts.selectors import AuditEntry, audit_entries, events_for_ticket

from .html import sanitise_html
from .models import Channel, Message, Ticket, TicketEvent
from .text import quoted_split

RECENT_TRANSACTIONS = 10
EARLIER_TICKETS = 10


# --- the thread -----------------------------------------------------------------------------


def ticket_thread(ticket: Ticket) -> list[Message]:
    """Every message of the ticket, all channels, oldest first (two queries).

    Each message gets ``body_html``: its stored HTML sanitised again at render time, so a
    row written by any path (not only `receive`) can never carry script into the admin.
    Empty when the message has no HTML, and the template shows the escaped text instead.
    """
    messages = list(
        ticket.messages.select_related("author", "sender")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )
    for message in messages:
        message.body_html = _safe_html(message.html)
        # Customers' mail carries the whole earlier conversation: agents see what is new,
        # with the quoted part and the signature one click away.
        if message.direction == Message.Direction.INBOUND:
            message.text_new, message.text_quoted = quoted_split(message.text)
        else:
            message.text_new, message.text_quoted = message.text, ""
    return messages


def _safe_html(html: str) -> SafeString | str:
    if not html:
        return ""
    return mark_safe(sanitise_html(html))  # noqa: S308 - nh3 output


@dataclass(frozen=True)
class HistoryEntry:
    event: TicketEvent
    summary: str


def ticket_history(ticket: Ticket) -> list[HistoryEntry]:
    """The ticket's events, oldest first, each with a one-line summary (at most two queries)."""
    events = list(ticket.events.select_related("actor").order_by("created_at", "id"))
    user_ids = {
        value
        for event in events
        if event.kind == TicketEvent.Kind.ASSIGNED
        for value in (event.data.get("from"), event.data.get("to"))
        if isinstance(value, int)
    }
    users = get_user_model().objects.in_bulk(user_ids) if user_ids else {}
    return [HistoryEntry(event=event, summary=_summary(event, users)) for event in events]


def _summary(event: TicketEvent, users: dict) -> str:
    data = event.data or {}
    if event.kind in (TicketEvent.Kind.STATUS, TicketEvent.Kind.REOPENED):
        return f"{_status_label(data.get('from'))} → {_status_label(data.get('to'))}"
    if event.kind == TicketEvent.Kind.ASSIGNED:
        return f"{_user_label(users, data.get('from'))} → {_user_label(users, data.get('to'))}"
    if event.kind == TicketEvent.Kind.CREATED:
        channel = data.get("channel")
        text = str(Channel(channel).label) if channel in Channel.values else ""
        if data.get("follows_up"):
            text = _("%(channel)s, follows up %(reference)s") % {
                "channel": text,
                "reference": data["follows_up"],
            }
        return text
    if event.kind == TicketEvent.Kind.CUSTOMER_MERGED:
        return _("customer #%(source)s merged into #%(target)s") % {
            "source": data.get("source"),
            "target": data.get("target"),
        }
    if "message" in data:
        return _("message #%(id)s") % {"id": data["message"]}
    return ""


def _status_label(value) -> str:
    return str(Ticket.Status(value).label) if value in Ticket.Status.values else str(value or "")


def _user_label(users: dict, pk) -> str:
    if pk is None:
        return _("nobody")
    user = users.get(pk)
    return user.get_username() if user is not None else f"#{pk}"


# --- the customer panel ---------------------------------------------------------------------


@dataclass
class CustomerPanel:
    customer: Customer
    identities: list[CustomerIdentity]
    wallets: list[WalletAccount]  # each with .recent_transactions and .card_list
    earlier_tickets: list[Ticket] = field(default_factory=list)


def customer_panel(customer: Customer, *, exclude_ticket: Ticket | None = None) -> CustomerPanel:
    """What an agent needs beside a ticket to diagnose and verify (five queries).

    Wallets carry their latest transactions (failed ones with their reason) and bound
    cards; only masked values are meant to be shown from here.
    """
    identities = list(customer.identities.order_by("kind", "value"))
    wallets = list(
        customer.wallets.order_by("number").prefetch_related(
            Prefetch(
                "transactions",
                queryset=Transaction.objects.order_by("-occurred_at", "-id")[:RECENT_TRANSACTIONS],
                to_attr="recent_transactions",
            ),
            Prefetch("cards", queryset=BankCard.objects.order_by("-bound_at"), to_attr="card_list"),
        )
    )
    earlier = customer.tickets.select_related("assignee").order_by("-created_at", "-id")
    if exclude_ticket is not None:
        earlier = earlier.exclude(pk=exclude_ticket.pk)
    return CustomerPanel(
        customer=customer,
        identities=identities,
        wallets=wallets,
        earlier_tickets=list(earlier[:EARLIER_TICKETS]),
    )


# --- the audit trail beside a ticket --------------------------------------------------------


def ticket_account_events(ticket: Ticket, *, limit: int = 20) -> list[AuditEntry]:
    """Account events on this ticket and on its customer and their wallets, newest first
    (one query); each an accounts.selectors.AuditEntry with masked details."""
    return audit_entries(events_for_ticket(ticket), limit=limit)


# --- search ---------------------------------------------------------------------------------


def contact_search_value(term: str) -> tuple[str, str] | None:
    """(kind, normalised value) when the whole search term is an email or a phone number.

    '138 0013 8000', '138-0013-8000' and '+86 138 0013 8000' all become '+8613800138000'.
    """
    term = (term or "").strip()
    if not term:
        return None
    if "@" in term:
        try:
            return CustomerIdentity.Kind.EMAIL, normalise_email(term)
        except ValidationError:
            return None
    if sum(ch.isdigit() for ch in term) >= 7 and all(ch.isdigit() or ch in "+-() ." for ch in term):
        try:
            return CustomerIdentity.Kind.PHONE, normalise_phone(term)
        except ValidationError:
            return None
    return None


def customers_with_contact(term: str) -> QuerySet:
    """Ids of customers with an identity containing ``term``, or equal to its normalised form.

    An uncorrelated subquery (``customer_id IN (...)``): the identities are searched once,
    not once per ticket, and a customer with several matching identities is still one row.
    """
    condition = Q(value__icontains=term)
    contact = contact_search_value(term)
    if contact is not None:
        kind, value = contact
        condition |= Q(kind=kind, value=value)
    return CustomerIdentity.objects.filter(condition).values("customer_id")


def search_tickets(queryset: QuerySet[Ticket], term: str) -> QuerySet[Ticket]:
    """Tickets whose reference, subject, customer name or contact matches every word.

    The whole term is also tried as an email or phone number, normalised, so however the
    agent types a number ('138 0013 8000', '+86 138-0013-8000') it finds the customer.
    """
    condition = Q()
    for bit in _words(term):
        condition &= (
            Q(reference__icontains=bit)
            | Q(subject__icontains=bit)
            | Q(customer__name__icontains=bit)
            | Q(customer_id__in=customers_with_contact(bit))
        )
    if contact_search_value(term) is not None:
        condition |= Q(customer_id__in=customers_with_contact(term))
    return queryset.filter(condition)


def search_customers(queryset: QuerySet[Customer], term: str) -> QuerySet[Customer]:
    """Customers whose name or any identity matches every word, or the normalised contact."""
    condition = Q()
    for bit in _words(term):
        condition &= Q(name__icontains=bit) | Q(pk__in=customers_with_contact(bit))
    if contact_search_value(term) is not None:
        condition |= Q(pk__in=customers_with_contact(term))
    return queryset.filter(condition)


def _words(term: str) -> list[str]:
    return [bit.strip("\"'") for bit in smart_split(term or "") if bit.strip("\"'")]
