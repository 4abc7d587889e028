"""A failed payment, answered: the explanation (tickets.diagnosis) sent to the customer, and
the ticket marked as a transaction question naming the payment, in its history.

What the customer is told depends on who we know they are. Their own transactions are
named only when the ticket proves the customer: the MY Wallet app's token (the chat), or a
valid strong verification on the ticket by the acting agent or the app (the same one the
ticket page's full contacts rest on, `accounts.actions.security.verified_strongly_on`).
A customer found from a From header or a typed contact gets the general causes only.
"""

from django.db import transaction
from django.utils import timezone, translation

from accounts.actions.security import verified_strongly_on
from accounts.permissions import WORK_TICKETS, require_permission
from mywallet_support.mail import customer_language

from .. import diagnosis, rollups
from ..models import Message, Ticket, TicketEvent
from .replies import reply
from .thread import post_notice

# Message.metadata key of the chat's automatic explanation ("private" or "general").
EXPLAINED = "payment_diagnosis"


def customer_explanation(ticket: Ticket, *, private: bool, now=None) -> str:
    """The explanation in the customer's language: their own failed payments when
    ``private`` (and there are some), else the general causes."""
    now = now or timezone.now()
    findings = diagnosis.diagnose(ticket.customer, now) if private else []
    with translation.override(customer_language(ticket.customer.language)):
        return diagnosis.customer_text(findings, now)


def may_name_transactions(ticket: Ticket, acting_user) -> bool:
    """Whether an answer from ``acting_user`` on ``ticket`` may name the customer's
    transactions (see the module)."""
    return verified_strongly_on(ticket, acting_user)


@transaction.atomic
def send_payment_explanation(ticket: Ticket, *, acting_user) -> Message:
    """The ticket page's "send this explanation": the agent's answer, and the ticket
    marked (`mark_failed_payment`)."""
    require_permission(acting_user, WORK_TICKETS)
    private = may_name_transactions(ticket, acting_user)
    message = reply(
        ticket,
        acting_user=acting_user,
        body=customer_explanation(ticket, private=private),
    )
    mark_failed_payment(ticket, actor=acting_user)
    return message


@transaction.atomic
def explain_in_chat(ticket: Ticket, *, known: bool, language: str) -> Message | None:
    """A chat customer wrote of a failed payment: they get the explanation at once, as an
    automatic message in ``language`` (the socket's), naming their payments only when the
    app proved who they are (``known``). Once per ticket; None when already given or the
    ticket takes no message."""
    ticket = _locked(ticket)
    if ticket.status == Ticket.Status.CLOSED or _explained(ticket):
        return None
    now = timezone.now()
    findings = diagnosis.diagnose(ticket.customer, now) if known else []
    with translation.override(language):
        text = diagnosis.explanation(findings, now) if findings else diagnosis.general_explanation()
    message = post_notice(
        ticket, text=text, metadata={EXPLAINED: "private" if findings else "general"}
    )
    if known:
        mark_failed_payment(ticket, actor=None)
    return message


def _locked(ticket: Ticket) -> Ticket:
    """The ticket read again and locked (not its customer), with its customer."""
    tickets = Ticket.objects.select_for_update(of=("self",)).select_related("customer")
    return tickets.get(pk=ticket.pk)


def _explained(ticket: Ticket) -> bool:
    return ticket.messages.filter(metadata__has_key=EXPLAINED).exists()


@transaction.atomic
def mark_failed_payment(ticket: Ticket, *, actor) -> Ticket:
    """A ticket about a failed payment: category "transaction" (when it had none, "other")
    and the latest failed transaction as its related one (when it had none), with one
    "details changed" event; ``actor`` None for the system. Nothing when already so."""
    ticket = _locked(ticket)
    changes = {}
    if ticket.category == Ticket.Category.OTHER:
        changes["category"] = [ticket.category, Ticket.Category.TRANSACTION]
        ticket.category = Ticket.Category.TRANSACTION
    if ticket.related_transaction_id is None:
        findings = diagnosis.diagnose(ticket.customer, timezone.now())
        if findings:
            latest = findings[0].transaction
            changes["related_transaction"] = [None, latest.pk]
            ticket.related_transaction = latest
    if changes:
        if "category" in changes:
            rollups.forget_ticket(ticket)  # the dashboard's topics count it by category
        ticket.save(update_fields=["category", "related_transaction", "updated_at"])
        TicketEvent.objects.create(
            ticket=ticket, kind=TicketEvent.Kind.CHANGED, actor=actor, data=changes
        )
    return ticket
