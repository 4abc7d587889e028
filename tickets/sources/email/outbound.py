"""Outbound email: an agent's reply sent so it threads in the customer's mail client.

`send` is the email channel's sender (see ``tickets.sources.SENDERS``): `tickets.actions.deliver`
calls it for a queued outbound Message and handles `DeliveryError` (retry with back-off, or
mark failed). The helpers below are shared with `notices` (acknowledgements, too-large mail).

Threading: our own Message-ID is stored on the Message (without angle brackets, like every
stored email id) before the mail leaves, so a customer's fast answer already finds it;
In-Reply-To names the customer's last message and References the ticket's earlier ids.
"""

import logging
import re
from email.utils import formataddr, make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from accounts.models import CustomerIdentity
from mywallet_support.mail import DeliveryError, customer_language, transmit
from mywallet_support.masking import mask_email
from tickets import personal_data
from tickets.models import Channel, Message, Ticket

logger = logging.getLogger(__name__)

MAX_REFERENCES = 20  # ids in References: enough for every client's threading, bounded

# "Re:" and its translations as mail clients write them (Outlook, QQ Mail, Foxmail...).
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|回复|答复|回覆)\s*(?:\[\d+\])?\s*[:：]\s*)+", re.I)
# A storable Message-ID: printable ASCII, no spaces or brackets, one @.
_MESSAGE_ID = re.compile(r"^[!-;=?-~]+@[!-;=?-~]+$")


def send(message: Message) -> None:
    """Send one outbound Message of an email ticket to the customer; raises DeliveryError."""
    if message.metadata.get("kind"):
        # An automatic notice (see notices) interrupted before it left is not sent late.
        raise DeliveryError(_("Automatic notices are not sent again."), permanent=True)
    ticket = message.ticket
    inbound = customer_messages(ticket)
    last_inbound = inbound[0] if inbound else None
    from_address = support_address(inbound)
    identity, cc = reply_recipients(ticket, from_address=from_address)
    language = customer_language(ticket.customer.language)
    subject = reply_subject(ticket)

    message_id = _message_id(message, from_address)
    message.subject = subject[:255]
    message.metadata = {
        **message.metadata,
        "from": from_address,
        "recipient": identity.value,
        "cc": cc,
    }
    if message.channel == Channel.EMAIL:
        message.external_id = message_id
    else:
        message.metadata["message_id"] = message_id
    Message.objects.filter(pk=message.pk).update(
        external_id=message.external_id, subject=message.subject, metadata=message.metadata
    )

    context = {"text": message.text, "ticket": ticket, "language": language}
    headers = {
        "Message-ID": f"<{message_id}>",
        "X-MW-Ticket": ticket.reference,
        **thread_headers(ticket, last_inbound, exclude=message),
    }
    email = EmailMultiAlternatives(
        subject=subject,
        body=render_text("email/reply.txt", context),
        from_email=sender_header(from_address),
        to=[formataddr((identity.display_name or ticket.customer.name, identity.value))],
        cc=cc,
        headers=headers,
    )
    email.attach_alternative(render_to_string("email/reply.html", context), "text/html")
    transmit(email)
    logger.info(
        "reply %s on %s sent to %s", message.pk, ticket.reference, mask_email(identity.value)
    )


def _message_id(message: Message, from_address: str) -> str:
    """The mail's Message-ID, the same on every attempt: a retried mail that did arrive the
    first time is then recognised as the same message by the customer's client.

    An email message keeps it as its external id. A message of another channel sent by
    email (a chat answer while the customer is away) keeps that channel's id there (the
    chat's "conversation:client id", which is no Message-ID and tells a re-sent line from
    a new one), and the mail's in its metadata.
    """
    if message.channel == Channel.EMAIL:
        return message.external_id or new_message_id(from_address)
    return message.metadata.get("message_id") or new_message_id(from_address)


# --- who and from where ---------------------------------------------------------------------


def reply_recipients(
    ticket: Ticket, *, from_address: str = ""
) -> tuple[CustomerIdentity, list[str]]:
    """The To and the Cc of the next answer on ``ticket``, sent from ``from_address`` (by
    default the support address the customer wrote to): what `send` sends to, and what the
    reply form lists. Only accepted Cc addresses are there. Raises DeliveryError when the
    customer has no deliverable address."""
    identity = recipient(ticket)
    from_address = from_address or support_address(customer_messages(ticket))
    return identity, _cc(ticket, exclude={identity.value, from_address})


def customer_messages(ticket: Ticket, *, limit: int = 50) -> list[Message]:
    """The ticket's inbound email messages, newest first (bounded); automatic replies
    (out-of-office) are not the customer's: answers never thread on them."""
    messages = (
        ticket.messages.filter(direction=Message.Direction.INBOUND, channel=Channel.EMAIL)
        .select_related("sender")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [message for message in messages if message.metadata.get("auto_submitted") is not True]


def recipient(ticket: Ticket) -> CustomerIdentity:
    """The customer's email address to write to: the one they last wrote from, if usable.

    Addresses marked undeliverable (a permanent bounce) are skipped; with none left the
    failure is permanent, and the reason tells the agent to reach the customer otherwise.
    """
    usable = {
        identity.pk: identity
        for identity in CustomerIdentity.objects.filter(
            customer_id=ticket.customer_id, kind=CustomerIdentity.Kind.EMAIL, undeliverable=False
        )
    }
    for message in customer_messages(ticket):
        if message.sender_id in usable:
            return usable[message.sender_id]
    if usable:
        return usable[max(usable)]  # the most recently added address
    raise DeliveryError(
        _(
            "The customer has no deliverable email address (none is known, or mail to "
            "every one bounced); contact them another way."
        ),
        permanent=True,
    )


def support_address(inbound: list[Message]) -> str:
    """The support address the customer wrote to (newest first), else DEFAULT_FROM_EMAIL's."""
    routes = settings.SUPPORT_ADDRESSES
    for key in ("to", "cc"):
        for message in inbound:
            for address in message.metadata.get(key) or ():
                if isinstance(address, str) and address.strip().lower() in routes:
                    return address.strip().lower()
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower()


def sender_header(address: str) -> str:
    """``address`` with the display name of DEFAULT_FROM_EMAIL ("MY Wallet Support")."""
    name = parseaddr(settings.DEFAULT_FROM_EMAIL)[0]
    return formataddr((name, address)) if name else address


def is_support_address(address: str) -> bool:
    address = address.strip().lower()
    return (
        address in settings.SUPPORT_ADDRESSES
        or address == parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower()
    )


def _cc(ticket: Ticket, *, exclude: set[str]) -> list[str]:
    """The ticket's accepted Cc addresses, without ours, the customer's, or repeats."""
    seen = {address.lower() for address in exclude}
    cc = []
    for entry in ticket.cc or ():
        address = parseaddr(entry)[1].strip().lower() if isinstance(entry, str) else ""
        if not address or "@" not in address or address in seen or is_support_address(address):
            continue
        seen.add(address)
        cc.append(address)
    return cc


def render_text(template: str, context: dict) -> str:
    """A plain-text body from a template, ending in exactly one line break."""
    return render_to_string(template, context).strip() + "\n"


# --- threading ------------------------------------------------------------------------------


def new_message_id(from_address: str) -> str:
    """A fresh Message-ID in the From address's domain, without angle brackets."""
    domain = from_address.rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain).strip("<>")


def reply_subject(ticket: Ticket) -> str:
    """``Re: [MW-000123] <subject>``: one Re:, the reference once, whatever came before."""
    return f"Re: [{ticket.reference}] {base_subject(ticket)}".rstrip()


def base_subject(ticket: Ticket) -> str:
    """The ticket's subject without reply prefixes or its own reference, its cards, ID and
    passport numbers masked (a subject stored before they were: every answer and notice
    quotes it)."""
    subject = personal_data.for_customer(ticket.subject or "")
    if ticket.reference:
        subject = re.sub(rf"\[\s*{re.escape(ticket.reference)}\s*\]", " ", subject, flags=re.I)
    previous = None
    while previous != subject:
        previous = subject
        subject = _REPLY_PREFIX.sub("", subject)
    return " ".join(subject.split())


def thread_headers(
    ticket: Ticket, replying_to: Message | None, *, exclude: Message | None = None
) -> dict[str, str]:
    """In-Reply-To the customer's message, References the ticket's earlier email ids."""
    earlier = ticket.messages.filter(channel=Channel.EMAIL).exclude(external_id="")
    earlier = earlier.exclude(direction=Message.Direction.NOTE)
    if exclude is not None:
        earlier = earlier.exclude(pk=exclude.pk).filter(created_at__lte=exclude.created_at)
    ids = [
        _bare(value)
        for value in earlier.order_by("-created_at", "-pk").values_list("external_id", flat=True)[
            : MAX_REFERENCES * 2
        ]
    ]
    ids = [value for value in dict.fromkeys(reversed(ids)) if _MESSAGE_ID.match(value)]
    ids = ids[-MAX_REFERENCES:]
    headers = {}
    parent = _bare(replying_to.external_id) if replying_to is not None else ""
    if parent and _MESSAGE_ID.match(parent):
        headers["In-Reply-To"] = f"<{parent}>"
        if parent not in ids:
            ids = [*ids[-(MAX_REFERENCES - 1) :], parent]
    if ids:
        headers["References"] = " ".join(f"<{value}>" for value in ids)
    return headers


def _bare(message_id: str) -> str:
    return message_id.strip().strip("<>").strip()
