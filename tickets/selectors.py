"""Reads the agent workspace needs, with their joins decided once.

Every function here issues a fixed number of queries whatever the number of messages,
events, wallets or transactions, so the pages built on them stay flat as tickets grow.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.functions import Lower
from django.utils.safestring import mark_safe
from django.utils.text import smart_split

from accounts.identities import normalise_email, normalise_identity, normalise_phone
from accounts.models import (
    BankCard,
    Customer,
    CustomerIdentity,
    Transaction,
    Verification,
    WalletAccount,
)
from accounts.selectors import AuditEntry, audit_entries, events_for_ticket
from mywallet_support.pii import mask_text

from . import search
from .html import RenderedHtml, render_html
from .models import Attachment, Message, Ticket
from .text import quoted_split

RECENT_TRANSACTIONS = 10
EARLIER_TICKETS = 10


# --- the thread -----------------------------------------------------------------------------


def current_ticket(customer) -> Ticket | None:
    """The ticket a new contact of ``customer``'s continues when nothing names one (a
    phone call): their most recently active ticket that is neither solved nor closed, on
    any channel. One rule, so the log-a-call page shows the ticket the call will land on."""
    return (
        Ticket.objects.filter(customer=customer)
        .exclude(status__in=[Ticket.Status.SOLVED, Ticket.Status.CLOSED])
        .order_by("-last_message_at", "-pk")
        .first()
    )


def ticket_thread(
    ticket: Ticket,
    *,
    inline_url: Callable[[Attachment], str] | None = None,
    remote_images_for: int | None = None,
) -> list[Message]:
    """Every message of the ticket, all channels, oldest first (three queries), each with
    its personal data (masked, for the page's reveal control).

    Each message gets ``body_html``: its stored HTML sanitised again at render time, so a
    row written by any path (not only `receive`) can never carry script into the admin.
    Empty when the message has no HTML, and the template shows the escaped text instead.
    Its images are decided there too (``tickets.html.render_html``): ``cid:`` images point
    at ``inline_url(attachment)`` (dropped without one), remote images are blocked except in
    the message ``remote_images_for`` names; ``message.rendered`` keeps the origins, for the
    page to offer them and its policy to allow exactly those of the chosen message.
    """
    messages = list(
        ticket.messages.select_related("author", "sender")
        .prefetch_related("attachments", "sensitive_values")
        .order_by("created_at", "id")
    )
    for message in messages:
        message.rendered = _render(message, inline_url, remote_images_for == message.pk)
        html = message.rendered.html
        # Customers' mail carries the whole earlier conversation: agents see what is new,
        # with the quoted part and the signature one click away. What a customer wrote is
        # shown with its personal data masked: stored text is protected as it is written
        # (tickets.personal_data), and this covers rows written before, and HTML.
        if message.direction == Message.Direction.INBOUND:
            html = mask_text(html)  # only digits and mailboxes become "*"
            message.text_new, message.text_quoted = (
                mask_text(part) for part in quoted_split(message.text)
            )
        else:
            message.text_new, message.text_quoted = message.text, ""
        message.body_html = mark_safe(html)  # noqa: S308 - nh3 output, masked in its text
    return messages


def _render(message: Message, inline_url, remote_images: bool) -> RenderedHtml:
    if not message.html:
        return RenderedHtml("")
    inline = {a.content_id: a for a in message.attachments.all() if a.content_id}

    def url_for(content_id: str) -> str | None:
        attachment = inline.get(content_id)
        return inline_url(attachment) if attachment and inline_url else None

    return render_html(message.html, inline_url=url_for, remote_images=remote_images)


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


@dataclass(frozen=True)
class TicketIdentity:
    """Who the ticket's customer is proven to be, or only says they are."""

    verified_by_app: bool  # the MY Wallet app's token proved the customer on this ticket
    claimed_name: str = ""  # a typed contact's customer: a claim, nothing else of theirs
    claimed_contact: str = ""  # the contact, masked


def ticket_identity(ticket: Ticket) -> TicketIdentity:
    """The panel's identity line (two queries): the app's verification on the ticket, or
    the customer a typed contact claims, by name and masked contact only."""
    by_app = Verification.objects.filter(ticket=ticket, agent__isnull=True).exists()
    claimed = (
        CustomerIdentity.objects.select_related("customer")
        .filter(pk=ticket.claimed_identity_id)
        .first()
        if ticket.claimed_identity_id
        else None
    )
    if claimed is None:
        return TicketIdentity(verified_by_app=by_app)
    return TicketIdentity(
        verified_by_app=by_app,
        claimed_name=claimed.customer.name,
        claimed_contact=claimed.masked_value,
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


WALLET = "wallet"


def customers_known_by(kind: str, value: str) -> QuerySet[Customer]:
    """The customers one contact names exactly (the API's look-up): an identity of ``kind``
    (normalised: '138 0013 8000' and '+86 138-0013-8000' are one phone), a wallet registered
    with that phone or email, or with ``kind`` "wallet" the wallet of that number. A merged
    customer is answered as the one it was merged into, once. Raises ValidationError on a
    value its kind does not allow."""
    if kind == WALLET:
        ids = set(
            WalletAccount.objects.filter(number=value.strip().upper()).values_list(
                "customer_id", flat=True
            )
        )
    else:
        value = normalise_identity(kind, value)
        ids = set(
            CustomerIdentity.objects.filter(kind=kind, value=value).values_list(
                "customer_id", flat=True
            )
        )
        registered = {
            CustomerIdentity.Kind.PHONE: Q(registered_phone=value),
            CustomerIdentity.Kind.EMAIL: Q(registered_email_lower=value.lower()),
        }.get(kind)
        if registered is not None:
            ids |= set(
                WalletAccount.objects.alias(registered_email_lower=Lower("registered_email"))
                .filter(registered)
                .values_list("customer_id", flat=True)
            )
    while True:  # a merge of a merged customer leaves a chain; it is short
        merged = dict(
            Customer.objects.filter(pk__in=ids, merged_into__isnull=False).values_list(
                "pk", "merged_into_id"
            )
        )
        if not merged:
            return Customer.objects.filter(pk__in=ids)
        ids = (ids - merged.keys()) | set(merged.values())


def search_tickets(queryset: QuerySet[Ticket], term: str) -> QuerySet[Ticket]:
    """Tickets whose reference, subject, message text, customer name or contact matches
    every word.

    The whole term is also tried as an email or phone number, normalised, so however the
    agent types a number ('138 0013 8000', '+86 138-0013-8000') it finds the customer, and
    by the fingerprints of the values it holds (tickets.search.tickets_with_value), so it
    finds a message holding that card, ID or phone number, stored masked.
    Each part is an indexed query of ticket ids, all joined by UNION in one ``pk IN``
    (tickets.search), so the database gathers the matches from its indexes and sorts only
    those, whatever the number of tickets.
    """
    words = _words(term)
    as_contact = contact_search_value(term) is not None
    # A number or address written in a message is stored masked: the whole term is looked
    # up by its fingerprint too (a card typed "6222 0212 ..." is one value, not words).
    values = search.tickets_with_value(term)
    whole = [values] if values is not None else []
    if len(words) == 1:  # the usual search: one IN, the whole term's contact in its UNION
        contact = [_of_customers(customers_with_contact(term))] if as_contact else []
        return queryset.filter(pk__in=_matching(words[0], *contact, *whole))
    condition = Q()
    for bit in words:
        condition &= Q(pk__in=_matching(bit))
    if as_contact:
        condition |= Q(customer_id__in=customers_with_contact(term))
    if whole:
        condition |= Q(pk__in=whole[0])
    return queryset.filter(condition)


def _matching(bit: str, *more: QuerySet) -> QuerySet:
    """Ids of the tickets that one word of a search matches (and of ``more``)."""
    return (
        Ticket.objects.filter(reference=bit.upper())
        .values("pk")
        .union(
            search.tickets_with_subject(bit),
            search.tickets_with_text(bit),
            _of_customers(Customer.objects.filter(name__icontains=bit).values("pk")),
            _of_customers(customers_with_contact(bit)),
            *more,
        )
    )


def _of_customers(customer_ids: QuerySet) -> QuerySet:
    return Ticket.objects.filter(customer_id__in=customer_ids).values("pk")


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


# --- the customer's own view (tickets.account_pages) ----------------------------------------


def customer_tickets(customer: Customer) -> QuerySet[Ticket]:
    """The customer's tickets, most recent activity first: what the customer may see of
    them and nothing an agent alone sees (no queue, assignee or priority)."""
    return (
        Ticket.objects.filter(customer=customer)
        .only(
            "reference",
            "subject",
            "channel",
            "status",
            "last_message_at",
            "created_at",
            "updated_at",
        )
        .order_by("-last_message_at", "-id")
    )


def public_thread(ticket: Ticket) -> list[Message]:
    """The conversation as the customer had it, oldest first (one query): their messages
    and the answers to them, each with its author's first name only; internal notes
    never."""
    return list(
        ticket.messages.filter(
            direction__in=(Message.Direction.INBOUND, Message.Direction.OUTBOUND)
        )
        .select_related("author")
        .only("direction", "channel", "text", "created_at", "author__first_name")
        .order_by("created_at", "id")
    )
