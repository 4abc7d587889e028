"""Telling a customer that something happened to their wallet.

`notify_customer` sends a short notice by SMS to the registered phone and by email to the
registered email, in the customer's language (Simplified Chinese or English), and, when a
ticket is given, adds it to the ticket's thread as a system message delivered through the
ticket's own channel (the same queued delivery as an agent's reply). A notice never holds
a code, a password, or a full phone number, email address or ID number.

The audit row (CUSTOMER_NOTIFIED) and the ticket message are written in the caller's
transaction; the SMS and email leave only once it commits.
"""

import logging
from collections.abc import Iterable

from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mywallet_support.mail import DeliveryError, customer_language, transmit
from mywallet_support.masking import mask_email, mask_phone

from .audit import record_event
from .models import AccountEvent, WalletAccount
from .sms import SMSError, send_sms

logger = logging.getLogger(__name__)

# What each notice says: (subject, text). %(account)s is "ending in 0001".
NOTICES = {
    "unlocked": (
        gettext_lazy("Your wallet has been unlocked"),
        gettext_lazy(
            "Your MY Wallet account %(account)s has been unlocked by our support team. "
            "If you did not ask for this, contact us at once."
        ),
    ),
    "frozen": (
        gettext_lazy("Your wallet has been frozen"),
        gettext_lazy(
            "Your MY Wallet account %(account)s has been frozen to protect your money. "
            "Payments are paused. Contact our support team to have it reviewed."
        ),
    ),
    "risk_frozen": (
        gettext_lazy("Your wallet has been frozen after unusual activity"),
        gettext_lazy(
            "We noticed unusual activity on your MY Wallet account %(account)s and froze it "
            "to protect your money. Payments are paused. Our support team will contact you; "
            "you can also contact us."
        ),
    ),
    "unfrozen": (
        gettext_lazy("Your wallet is active again"),
        gettext_lazy("Your MY Wallet account %(account)s has been unfrozen and can be used again."),
    ),
    "locked_wrong_password": (
        gettext_lazy("Your wallet is locked after wrong payment passwords"),
        gettext_lazy(
            "Your MY Wallet account %(account)s has been locked after too many wrong payment "
            'passwords. Reset your payment password ("Forgot payment password") to unlock '
            "it, or contact our support team."
        ),
    ),
    "payment_password_reset": (
        gettext_lazy("Your payment password was changed"),
        gettext_lazy(
            "The payment password of your MY Wallet account %(account)s was just reset. "
            "If this was not you, contact our support team at once."
        ),
    ),
    "contact_changed": (
        gettext_lazy("Your registered contact was changed"),
        gettext_lazy(
            "The registered phone or email of your MY Wallet account %(account)s was just "
            "changed. If this was not you, contact our support team at once."
        ),
    ),
    "national_id_changed": (
        gettext_lazy("Your ID details were changed"),
        gettext_lazy(
            "The national ID number on your MY Wallet account %(account)s was changed by our "
            "support team. If you did not ask for this, contact us at once."
        ),
    ),
}
EVENTS = tuple(NOTICES)


def tell_customer(account: WalletAccount, *, event: str, ticket=None, also_to=()) -> None:
    """`notify_customer` for an action reporting a change: inside the caller's transaction
    (the audit row and the ticket's message are written now, SMS and email leave once it
    commits), in a savepoint, so a notice that cannot be prepared is logged and never
    undoes the change it reports."""
    if event not in EVENTS:
        logger.warning("no customer notice for %s; wallet %s not told", event, account.pk)
        return
    try:
        with transaction.atomic():
            notify_customer(account, event=event, ticket=ticket, also_to=also_to)
    except Exception:
        logger.exception("could not notify the customer of wallet %s (%s)", account.pk, event)


def notify_customer(
    account: WalletAccount,
    *,
    event: str,
    ticket=None,
    language: str = "",
    also_to: Iterable[str] = (),
) -> None:
    """Tell the wallet's owner about ``event`` (one of EVENTS) on every registered contact,
    plus ``also_to`` (phone numbers or email addresses: the old contact after a change)."""
    if event not in NOTICES:
        raise ValueError(f"unknown notice {event!r}")
    language = customer_language(language or account.customer.language)
    phones, emails = _recipients(account, also_to)
    with translation.override(language):
        subject_text, body_text = NOTICES[event]
        params = {"account": _("ending in %(last4)s") % {"last4": account.number[-4:]}}
        subject = str(subject_text)
        text = str(body_text) % params
        signature = _("MY Wallet Support")
        email_body = f"{text}\n\n{signature}\n"
    with transaction.atomic():
        message = _ticket_message(ticket, text) if ticket is not None else None
        record_event(
            customer=account.customer,
            account=account,
            ticket=ticket,
            action=AccountEvent.Action.CUSTOMER_NOTIFIED,
            details={
                "event": event,
                "sms": [mask_phone(number) for number in phones],
                "email": [mask_email(address) for address in emails],
                "ticket_message": message.pk if message else None,
            },
        )
        transaction.on_commit(
            lambda: _send(event, phones, emails, subject, text, email_body), robust=True
        )


def _recipients(account: WalletAccount, also_to: Iterable[str]) -> tuple[list[str], list[str]]:
    phones, emails = [], []
    for value in [account.registered_phone, account.registered_email, *also_to]:
        value = (value or "").strip()
        if not value:
            continue
        bucket = emails if "@" in value else phones
        key = value.lower()
        if key not in (item.lower() for item in bucket):
            bucket.append(value)
    return phones, emails


def _send(event, phones, emails, subject, text, email_body) -> None:
    for number in phones:
        try:
            send_sms(number, f"[MY Wallet] {text}")
        except SMSError as exc:
            logger.warning("%s notice by SMS to %s failed: %s", event, mask_phone(number), exc)
    for address in emails:
        email = EmailMessage(
            subject=subject,
            body=email_body,
            to=[address],
            headers={"Auto-Submitted": "auto-generated"},
        )
        try:
            transmit(email)
        except DeliveryError as exc:
            logger.warning("%s notice by email to %s failed: %s", event, mask_email(address), exc)
        else:
            logger.info("%s notice sent to %s", event, mask_email(address))


def _ticket_message(ticket, text: str):
    """The notice as a system message on the ticket: sent through the ticket's channel
    like a reply when the channel can send, else kept as a note for the agents."""
    from tickets import live
    from tickets.actions import enqueue_delivery
    from tickets.models import Message, Ticket, TicketEvent
    from tickets.sources import sender_for

    can_send = sender_for(ticket.channel) is not None and ticket.status != Ticket.Status.CLOSED
    message = Message.objects.create(
        ticket=ticket,
        direction=Message.Direction.OUTBOUND if can_send else Message.Direction.NOTE,
        channel=ticket.channel,
        author=None,
        text=text
        if can_send
        else _("Customer notified by SMS and email: %(text)s") % {"text": text},
        delivery_status=Message.Delivery.QUEUED if can_send else "",
        metadata={"system": True, "notice": "security"},
    )
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.REPLY if can_send else TicketEvent.Kind.NOTE,
        actor=None,
        data={"message": message.pk, "system": True},
    )
    Ticket.objects.filter(pk=ticket.pk).update(last_message_at=timezone.now())
    live.broadcast_on_commit(message)
    if can_send:
        transaction.on_commit(lambda: enqueue_delivery(message.pk), robust=True)
    return message
