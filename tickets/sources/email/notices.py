"""Automatic notices to email senders: the acknowledgement of a new ticket, too-large mail,
attachments that could not be stored (the disk was full).

Both are RFC 3834 auto-replies (``Auto-Submitted: auto-replied``, ``Precedence: bulk``) and
go to one address at most once an hour per kind, never to one of our own addresses, nor to
an address marked undeliverable, nor in answer to mail that was itself automatic.

Each notice sent is stored as an outbound Message on the ticket (tickets.actions.post_notice)
with ``metadata={"kind": <kind>, "recipient": <address>, ...}`` and its Message-ID as
external_id. That row is the hourly limit's record, which every worker sees (the cache in
front only spares the database a query when one address sends a burst), it shows agents
what the customer was told and whether it was delivered, and a customer answering the
notice threads into the ticket by In-Reply-To, and a bounce of it finds it.
"""

import logging
from datetime import timedelta
from email.utils import formataddr
from hashlib import sha256

from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.tasks import task
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import CustomerIdentity
from mywallet_support.mail import DeliveryError, customer_language, transmit
from mywallet_support.masking import mask_email
from tickets.actions import post_notice, record_delivery, takes
from tickets.models import Channel, Message, Ticket

from . import outbound

logger = logging.getLogger(__name__)

ACKNOWLEDGEMENT = "acknowledgement"
TOO_LARGE = "too_large"
NOT_STORED = "not_stored"
INTERVAL = timedelta(hours=1)  # at most one notice of a kind per address in this time

SUBJECTS = {
    ACKNOWLEDGEMENT: {
        "zh-hans": "[{reference}] 我们已收到您的问题",
        "en": "[{reference}] We have received your request",
    },
    TOO_LARGE: {
        "zh-hans": "[{reference}] 您邮件中过大的附件未能保存",
        "en": "[{reference}] Attachments too large to keep",
    },
    NOT_STORED: {
        "zh-hans": "[{reference}] 您邮件中的附件未能接收",
        "en": "[{reference}] We could not receive your attachments",
    },
}
SUBJECT_QUOTE_CHARS = 80  # of the customer's own subject, quoted back to them


@task(queue_name="default")
def send_acknowledgements(notices: list[list]) -> list[str]:
    """Acknowledge new email tickets to their senders: [ticket id, address, language] each,
    one task for a whole batch of imported mail (at most once an hour per address).

    ``language`` ("zh-hans" or "en") defaults to the customer's. Returns each notice's
    delivery status, or "skipped" when none was due; one that fails does not stop the rest.
    """
    tickets = Ticket.objects.select_related("customer").in_bulk(
        [ticket_id for ticket_id, _address, _language in notices]
    )
    statuses = []
    for ticket_id, address, language in notices:
        ticket = tickets.get(ticket_id)
        if ticket is None:
            statuses.append("missing")
            continue
        try:
            notice = acknowledge(
                ticket, to_address=address, language=language or ticket.customer.language
            )
        except Exception:
            logger.exception("acknowledgement of ticket %s failed", ticket_id)
            statuses.append("failed")
            continue
        statuses.append(notice.delivery_status if notice else "skipped")
    return statuses


@task(queue_name="default")
def send_too_large_notice(
    ticket_id: int, to_address: str, limit_bytes: int, language: str = ""
) -> str:
    """Tell an email sender that attachments over ``limit_bytes`` were not kept."""
    ticket = Ticket.objects.select_related("customer").filter(pk=ticket_id).first()
    if ticket is None:
        return "missing"
    notice = too_large(
        ticket,
        to_address=to_address,
        language=language or ticket.customer.language,
        limit_bytes=limit_bytes,
    )
    return notice.delivery_status if notice else "skipped"


@task(queue_name="default")
def send_not_stored_notice(
    ticket_id: int, to_address: str, names: list[str], language: str = ""
) -> str:
    """Tell an email sender that the attachments ``names`` could not be stored (our disk
    was full): their text was received, the files must be sent again."""
    ticket = Ticket.objects.select_related("customer").filter(pk=ticket_id).first()
    if ticket is None:
        return "missing"
    notice = _notify(
        ticket,
        kind=NOT_STORED,
        to_address=to_address,
        language=language or ticket.customer.language,
        extra={"names": [name or "?" for name in names][:20]},
    )
    return notice.delivery_status if notice else "skipped"


def acknowledge(ticket: Ticket, *, to_address: str, language: str) -> Message | None:
    """Tell the sender their mail opened ``ticket``. Returns the notice, or None if not sent."""
    return _notify(ticket, kind=ACKNOWLEDGEMENT, to_address=to_address, language=language)


def too_large(
    ticket: Ticket, *, to_address: str, language: str, limit_bytes: int
) -> Message | None:
    """Tell the sender that attachments over ``limit_bytes`` were not kept, once."""
    return _notify(
        ticket,
        kind=TOO_LARGE,
        to_address=to_address,
        language=language,
        extra={"limit": _size(limit_bytes)},
    )


def _notify(
    ticket: Ticket, *, kind: str, to_address: str, language: str, extra: dict | None = None
) -> Message | None:
    address = (to_address or "").strip().lower()
    identity = _deliverable_identity(ticket, address, kind)
    if identity is None:
        return None
    customer_message = _customer_message(ticket, identity)
    if customer_message is not None and _automatic(customer_message):
        logger.info("no %s for an automatic message on %s", kind, ticket.reference)
        return None
    key = _cache_key(kind, address)
    if cache.get(key):
        return _skip_recent(kind, address)
    language = customer_language(language)
    from_address = outbound.support_address([customer_message] if customer_message else [])
    context = {
        "ticket": ticket,
        "language": language,
        "name": identity.display_name or ticket.customer.name,
        "subject": outbound.base_subject(ticket)[:SUBJECT_QUOTE_CHARS],
        **(extra or {}),
    }
    notice = _reserve(
        ticket,
        kind=kind,
        identity=identity,
        from_address=from_address,
        subject=SUBJECTS[kind][language].format(reference=ticket.reference),
        text=outbound.render_text(f"email/{kind}.txt", context),
    )
    cache.set(key, True, timeout=int(INTERVAL.total_seconds()))
    if notice is None:
        return _skip_recent(kind, address)
    email = EmailMultiAlternatives(
        subject=notice.subject,
        body=notice.text,
        from_email=outbound.sender_header(from_address),
        to=[formataddr((context["name"], address))],
        headers={
            "Message-ID": f"<{notice.external_id}>",
            "Auto-Submitted": "auto-replied",
            "Precedence": "bulk",
            # Asks Exchange/Outlook not to answer with auto-replies of its own.
            "X-Auto-Response-Suppress": "All",
            "X-MW-Ticket": ticket.reference,
            **outbound.thread_headers(ticket, customer_message, exclude=notice),
        },
    )
    email.attach_alternative(render_to_string(f"email/{kind}.html", context), "text/html")
    try:
        transmit(email)
    except DeliveryError as exc:
        # Not retried: a notice that arrives hours late helps nobody. The agent sees why.
        logger.warning("%s to %s failed: %s", kind, mask_email(address), exc)
        record_delivery(notice, Message.Delivery.FAILED, str(exc))
        return notice
    logger.info("%s for %s sent to %s", kind, ticket.reference, mask_email(address))
    record_delivery(notice, Message.Delivery.SENT, "")
    return notice


def _deliverable_identity(ticket: Ticket, address: str, kind: str) -> CustomerIdentity | None:
    """The ticket customer's identity for ``address``, if a notice may go there."""
    if not address or outbound.is_support_address(address):
        logger.info("no %s to one of our own addresses", kind)
        return None
    identity = CustomerIdentity.objects.filter(
        kind=CustomerIdentity.Kind.EMAIL, value=address
    ).first()
    if identity is None or identity.customer_id != ticket.customer_id:
        # Only the ticket's own customer is ever told its reference.
        logger.info("no %s to %s: not the customer of %s", kind, mask_email(address), ticket)
        return None
    if identity.undeliverable:
        logger.info("no %s to %s: marked undeliverable", kind, mask_email(address))
        return None
    return identity


def _customer_message(ticket: Ticket, identity: CustomerIdentity) -> Message | None:
    """The sender's latest message on the ticket, which the notice answers."""
    return (
        ticket.messages.filter(
            direction=Message.Direction.INBOUND, channel=Channel.EMAIL, sender=identity
        )
        .order_by("-created_at", "-pk")
        .first()
    )


def _automatic(message: Message) -> bool:
    """Whether the customer's message was itself automatic (RFC 3834): never answer it."""
    value = message.metadata.get("auto_submitted")
    if isinstance(value, str):
        return value.strip().lower() not in ("", "no")
    return bool(value)


def _reserve(
    ticket: Ticket,
    *,
    kind: str,
    identity: CustomerIdentity,
    from_address: str,
    subject: str,
    text: str,
) -> Message | None:
    """Record the notice unless one of its kind went to the address within the interval.

    The identity row is locked while checking, so two workers acknowledging the same
    address at once send one notice (SQLite serialises writers anyway).
    """
    with transaction.atomic():
        CustomerIdentity.objects.select_for_update().filter(pk=identity.pk).first()
        recent = Message.objects.filter(
            channel=Channel.EMAIL,
            direction=Message.Direction.OUTBOUND,
            metadata__kind=kind,
            metadata__recipient=identity.value,
            created_at__gte=timezone.now() - INTERVAL,
        )
        if recent.exists() or not takes(ticket, Message.Direction.OUTBOUND):
            return None  # told within the hour, or closed meanwhile: nothing more to say
        return post_notice(
            ticket,
            text=text,
            subject=subject,
            channel=Channel.EMAIL,
            external_id=outbound.new_message_id(from_address),
            metadata={"kind": kind, "recipient": identity.value, "from": from_address},
            send_now=True,
        )


def _skip_recent(kind: str, address: str) -> None:
    logger.info("no %s to %s: one was sent within the hour", kind, mask_email(address))
    return None


def _cache_key(kind: str, address: str) -> str:
    return f"email-notice:{kind}:{sha256(address.encode()).hexdigest()[:32]}"


def _size(limit_bytes: int) -> str:
    megabytes = limit_bytes / (1024 * 1024)
    if megabytes >= 1:
        return f"{megabytes:.3g} MB"
    return f"{max(1, round(limit_bytes / 1024))} KB"
