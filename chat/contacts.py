"""The contact a chat customer gives (the offline form), linked to the chat's customer.

Customers type contacts we cannot verify yet; linking one follows the rule of
``chat.actions.start_conversation``: a contact new to us becomes the chat customer's, a
known one is only a claim (tickets.actions.claims) that an agent verifies before anything
of that customer is shown or sent.
"""

import logging

from django.db import IntegrityError, transaction

from accounts.audit import record_event
from accounts.models import AccountEvent, Customer, CustomerIdentity
from mywallet_support.masking import mask_identity
from tickets import actions as ticket_actions
from tickets.models import Ticket

from .models import Conversation

logger = logging.getLogger(__name__)


def link_contact(
    conversation: Conversation, *, kind: str, value: str, name: str
) -> CustomerIdentity:
    """The identity of the contact given in the chat, linked to the chat's customer.

    New to us: it becomes one of that customer's identities. Known as another customer's:
    when the chat's customer is only a placeholder (an anonymous visitor: no login, wallet,
    other contact or other ticket), the ticket names that customer as claimed, for an agent
    to verify; nothing is attached to their record. A real customer keeps the chat, and the
    contact stays on the conversation for agents to verify and merge by hand.
    """
    ticket = conversation.ticket
    customer = ticket.customer
    owner = CustomerIdentity.objects.select_related("customer").filter(kind=kind, value=value)
    owner = owner.first()
    if owner is None:
        try:
            with transaction.atomic():
                identity = CustomerIdentity.objects.create(
                    customer=customer, kind=kind, value=value, display_name=name
                )
        except IntegrityError:  # given at the same moment elsewhere: theirs, then
            owner = CustomerIdentity.objects.select_related("customer").get(kind=kind, value=value)
        else:
            record_event(
                customer=customer,
                action=AccountEvent.Action.IDENTITY_ADDED,
                ticket=ticket,
                details={"kind": kind, "value": mask_identity(kind, value), "via": "chat"},
            )
            if name and not customer.name:
                Customer.objects.filter(pk=customer.pk).update(name=name)
            return identity
    if owner.customer_id == customer.pk:
        return owner
    if _is_placeholder(customer, ticket):
        ticket_actions.claim_identity(ticket, owner)
    else:
        logger.info(
            "chat %s: contact given belongs to customer %s; left for agents",
            conversation.pk,
            owner.customer_id,
        )
    return owner


def _is_placeholder(customer: Customer, ticket: Ticket) -> bool:
    """A customer made up for an anonymous chat, known by nothing else."""
    return (
        customer.user_id is None
        and customer.merged_into_id is None
        and not customer.wallets.exists()
        and not customer.identities.exclude(
            kind=CustomerIdentity.Kind.WEB, value__startswith="chat-"
        ).exists()
        and not customer.tickets.exclude(pk=ticket.pk).exists()
    )
