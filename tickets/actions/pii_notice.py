"""The notice to a customer who wrote a full card, ID or passport number: once per ticket,
through the channel they wrote on, in their language (the one their mail is written in,
else their record's, as the email notices choose it), they are told not to send such
numbers by mail or chat and that we masked it.

Intake calls `warn_senders` with each batch it files, whatever the channel (the live
chat's included), in a fixed number of queries: nothing at all for a batch without such a
number, else the tickets locked, their earlier warnings, their customers' languages, one
INSERT of the notices (thread.append) and one of their "pii_warned" events. That event is
the once-per-ticket record: a ticket that has one is never warned again.

What a message held is read from its SensitiveValue rows: thread.append stores each value
found there, the text keeping only its masked form. The notice asks for nothing: never a
number, never a code.
"""

from collections.abc import Sequence

from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Customer
from mywallet_support.mail import customer_language

from ..models import Message, SensitiveValue, Ticket, TicketEvent
from ..personal_data import OUTBOUND_KINDS
from ..sources import SENDERS
from . import thread

# Message.metadata key of the notice (not "kind": the email sender keeps that for its own
# automatic notices, which are never sent late).
PII_NOTICE = "pii_notice"


def warn_senders(filed: Sequence[tuple[thread.Appended, str]]) -> list[thread.Appended]:
    """Warn the customers whose messages in ``filed`` ((message just stored, the language
    its channel gave, or "") each) hold a full card, ID or passport number, once per
    ticket. Call it in the transaction that filed them. Returns the notices stored."""
    holding = _holding(filed)
    if not holding:
        return []
    tickets: dict[int, tuple[thread.Draft, str]] = {}
    for item, language in holding:  # the first such message of each ticket
        tickets.setdefault(item.draft.ticket.pk, (item.draft, language))
    # Locked, so two batches filing on one ticket at once warn it once.
    list(Ticket.objects.select_for_update().filter(pk__in=tickets).values_list("pk"))
    warned = set(
        TicketEvent.objects.filter(
            ticket_id__in=tickets, kind=TicketEvent.Kind.PII_WARNED
        ).values_list("ticket_id", flat=True)
    )
    due = {pk: value for pk, value in tickets.items() if pk not in warned}
    if not due:
        return []
    languages = dict(
        Customer.objects.filter(
            pk__in={draft.ticket.customer_id for draft, _language in due.values()}
        ).values_list("pk", "language")
    )
    drafts = [
        _notice(draft, language or languages.get(draft.ticket.customer_id, ""))
        for draft, language in due.values()
    ]
    notices = thread.append(drafts)
    TicketEvent.objects.bulk_create(
        TicketEvent(
            ticket_id=notice.draft.ticket.pk,
            kind=TicketEvent.Kind.PII_WARNED,
            data={"message": notice.pk},
        )
        for notice in notices
    )
    return notices


def _holding(filed: Sequence[tuple[thread.Appended, str]]) -> list[tuple[thread.Appended, str]]:
    """The customers' own messages of ``filed`` that held a value the customer must not
    send: not an automatic reply (a machine is told nothing), nor a message of a channel
    that cannot answer (the hotline's, which the agent wrote down). Only a message whose stored
    text shows a masked form ("*") can hold one, so a batch without any, the chat's usual
    one, costs no query."""
    candidates = [
        (item, language)
        for item, language in filed
        if item.draft.direction == Message.Direction.INBOUND
        and not item.draft.quiet
        and item.draft.channel in SENDERS
        and any("*" in text for text in (item.draft.subject, item.draft.text, item.draft.html))
    ]
    if not candidates:
        return []
    holding = set(
        SensitiveValue.objects.filter(
            message_id__in=[item.pk for item, _language in candidates], kind__in=OUTBOUND_KINDS
        ).values_list("message_id", flat=True)
    )
    return [(item, language) for item, language in candidates if item.pk in holding]


def _notice(received: thread.Draft, language: str) -> thread.Draft:
    """The notice, to where the customer wrote. Quiet: an automatic word kept for the record
    (its "pii_warned" event is its history line), it moves neither the ticket's last
    activity nor its inbox preview, which keeps the customer's own words."""
    with translation.override(customer_language(language)):
        text = _(
            "For your safety, please do not send full bank card, ID or passport numbers by "
            "email or chat. We have masked the number in your message, and we will never "
            "ask you for it in full."
        )
    return thread.Draft(
        ticket=received.ticket,
        direction=Message.Direction.OUTBOUND,
        channel=received.channel,
        text=text,
        metadata={"system": True, PII_NOTICE: True},
        delivery=Message.Delivery.QUEUED,
        quiet=True,
    )
