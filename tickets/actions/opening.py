"""A ticket opened for a known customer with their first words, by someone other than the
customer: an integration (the wallet app's "contact us" through its backend, a CRM) or an
agent's script through the API. The words are the customer's (an inbound message with no
author); the "created" event names who opened it."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Customer, WalletAccount
from accounts.permissions import require_permission

from ..models import Message, Queue, Ticket
from . import thread
from .lifecycle import open_ticket

ADD_TICKETS = "tickets.add_ticket"


@transaction.atomic
def open_with_message(
    *,
    customer: Customer,
    channel: str,
    subject: str,
    text: str,
    acting_user,
    category: str = Ticket.Category.OTHER,
    priority: int = Ticket.Priority.NORMAL,
    queue: Queue | None = None,
    wallet: WalletAccount | None = None,
) -> Ticket:
    """Open a ticket on ``customer`` (routed by the rules unless ``queue`` is given) and file
    ``text`` as the customer's first message, through the thread like any other."""
    require_permission(acting_user, ADD_TICKETS)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"message": _("The message is empty.")})
    if wallet is not None and wallet.customer_id != customer.pk:
        # Checked here, not only by the caller: a ticket must never show another's wallet.
        raise ValidationError({"wallet": _("This wallet is not the customer's.")})
    ticket = open_ticket(
        customer=customer,
        channel=channel,
        subject=subject,
        acting_user=acting_user,
        category=category,
        priority=priority,
        queue=queue,
        wallet=wallet,
    )
    draft = thread.Draft(ticket=ticket, direction=Message.Direction.INBOUND, text=text, opened=True)
    thread.append([draft])
    return ticket
