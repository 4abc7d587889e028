"""Telling a customer that something happened to their wallet.

`notify_customer` sends a short notice by SMS to the registered phone and by email to the
registered email, in the customer's language (Simplified Chinese or English). A notice
never holds a code, a password, or a full phone number, email address or ID number.

The audit row (CUSTOMER_NOTIFIED) is written in the caller's transaction; the SMS and email
leave from a task (`send_notice`) once it commits. The same notice on a ticket's thread,
for the agents and through the ticket's channel, is the ticket side's
(tickets.actions.wallets.notify_customer).
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.mail import EmailMessage
from django.db import transaction
from django.tasks import task
from django.utils import translation
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


@dataclass(frozen=True)
class Notice:
    """A notice as the customer reads it, in their language, where it goes, and the ticket
    it was sent about (if any)."""

    event: str
    subject: str
    text: str
    email_body: str
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    ticket: object = None


def tell_customer(
    account: WalletAccount, *, event: str, ticket=None, also_to: Iterable[str] = ()
) -> Notice | None:
    """`notify_customer` for an action reporting a change, inside its transaction, in a
    savepoint: a notice that cannot be prepared is logged and never undoes the change it
    reports. Returns the notice, or None when none was prepared."""
    if event not in EVENTS:
        logger.warning("no customer notice for %s; wallet %s not told", event, account.pk)
        return None
    try:
        with transaction.atomic():
            return notify_customer(account, event=event, ticket=ticket, also_to=also_to)
    except Exception:
        logger.exception("could not notify the customer of wallet %s (%s)", account.pk, event)
        return None


def notify_customer(
    account: WalletAccount,
    *,
    event: str,
    ticket=None,
    language: str = "",
    also_to: Iterable[str] = (),
) -> Notice:
    """Tell the wallet's owner about ``event`` (one of EVENTS) on every registered contact,
    plus ``also_to`` (phone numbers or email addresses: the old contact after a change).

    The audit row (CUSTOMER_NOTIFIED, on ``ticket`` when given) is written now; the text
    message and the email leave from a task once the transaction commits.
    """
    notice = prepare(account, event=event, language=language, also_to=also_to, ticket=ticket)
    record_event(
        customer=account.customer,
        account=account,
        ticket=ticket,
        action=AccountEvent.Action.CUSTOMER_NOTIFIED,
        details={
            "event": event,
            "sms": [mask_phone(number) for number in notice.phones],
            "email": [mask_email(address) for address in notice.emails],
        },
    )
    transaction.on_commit(
        lambda: send_notice.enqueue(
            event,
            list(notice.phones),
            list(notice.emails),
            notice.subject,
            notice.text,
            notice.email_body,
        ),
        robust=True,
    )
    return notice


def prepare(
    account: WalletAccount,
    *,
    event: str,
    language: str = "",
    also_to: Iterable[str] = (),
    ticket=None,
) -> Notice:
    """The notice for ``event`` in the customer's language, and its recipients."""
    if event not in NOTICES:
        raise ValueError(f"unknown notice {event!r}")
    phones, emails = _recipients(account, also_to)
    with translation.override(customer_language(language or account.customer.language)):
        subject, text = NOTICES[event]
        params = {"account": _("ending in %(last4)s") % {"last4": account.number[-4:]}}
        text = str(text) % params
        return Notice(
            event=event,
            subject=str(subject),
            text=text,
            email_body=f"{text}\n\n{_('MY Wallet Support')}\n",
            phones=tuple(phones),
            emails=tuple(emails),
            ticket=ticket,
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


@task(queue_name="default")
def send_notice(
    event: str, phones: list[str], emails: list[str], subject: str, text: str, email_body: str
) -> str:
    """Send a prepared notice by SMS and email; one failed recipient does not stop the
    others (each failure is logged, masked). Returns how many of them it reached."""
    sent = 0
    for number in phones:
        try:
            send_sms(number, f"[MY Wallet] {text}")
        except SMSError as exc:
            logger.warning("%s notice by SMS to %s failed: %s", event, mask_phone(number), exc)
        else:
            sent += 1
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
            sent += 1
            logger.info("%s notice sent to %s", event, mask_email(address))
    return f"{sent} of {len(phones) + len(emails)} sent"
