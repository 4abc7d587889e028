"""Who a typed contact claims to be, and linking the ticket to them once that is proven.

A phone number or email someone types in the chat is a claim: anyone can type Li Wei's
phone. When it belongs to a customer we know, the ticket stays on a placeholder customer and
names that customer only as ``claimed_identity``, from which nothing of theirs is shown or
sent. An agent's strong verification of one of the claimed customer's wallets on the ticket
(the customer's yes on their registered phone or email, from a link the agent sent) proves
the claim: the placeholder is then merged into that customer, so the ticket, its
chat and whatever the visitor gave are theirs from then on.

A WeChat or Weibo customer is known only by their account there. When they say who they
are, the agent types the phone or email they give (`claim_contact`): the same claim, so the
same strong verification links them, and the merge brings both records' identities,
tickets and history together, audited.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.actions import confirmation as confirmations
from accounts.actions import security
from accounts.identities import normalise_identity
from accounts.models import CustomerIdentity, DeviceConfirmation, Verification, WalletAccount
from accounts.permissions import require_agent
from mywallet_support.masking import mask_identity

from ..models import Ticket, TicketEvent
from .customers import merge_claimed
from .thread import post_system_note


def claim_identity(ticket: Ticket, identity: CustomerIdentity) -> None:
    """Note on ``ticket`` that its customer says they are ``identity``'s customer; the first
    claim stays (a second contact typed later does not replace what an agent may be
    verifying)."""
    if identity.customer_id == ticket.customer_id:
        return
    updated = Ticket.objects.filter(pk=ticket.pk, claimed_identity__isnull=True).update(
        claimed_identity=identity
    )
    if updated:
        ticket.claimed_identity = identity


@transaction.atomic
def claim_contact(ticket: Ticket, *, acting_user, contact: str) -> CustomerIdentity:
    """An agent notes that the customer on ``ticket`` says they own ``contact`` (a phone
    number in any format, or an email address) of another customer we know. Nothing of that
    customer is shown or linked until a strong verification of one of their wallets on
    this ticket proves it (`verify_caller`, `answer_confirmation`). Refused when the
    ticket already carries a claim, or no other customer has that contact."""
    require_agent(acting_user)
    ticket = Ticket.objects.select_for_update(of=("self",)).get(pk=ticket.pk)
    if ticket.claimed_identity_id is not None:
        raise ValidationError(_("This ticket already names the customer they claim to be."))
    contact = (contact or "").strip()
    kind = CustomerIdentity.Kind.EMAIL if "@" in contact else CustomerIdentity.Kind.PHONE
    try:
        value = normalise_identity(kind, contact)
    except ValidationError:
        raise ValidationError(_("Enter a phone number or an email address.")) from None
    identity = (
        CustomerIdentity.objects.filter(kind=kind, value=value, customer__merged_into=None)
        .exclude(customer_id=ticket.customer_id)
        .select_related("customer")
        .first()
    )
    if identity is None or not identity.customer.wallets.exists():
        raise ValidationError(_("No other customer with a wallet has this contact."))
    claim_identity(ticket, identity)
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.CHANGED,
        actor=acting_user,
        data={"claim": mask_identity(kind, value)},
    )
    return identity


def verify_caller(
    ticket: Ticket, account: WalletAccount, *, acting_user, answers: dict
) -> Verification:
    """An agent's identity verification on the ticket (accounts.actions.security
    .verify_identity); a strong one of the claimed customer's wallet links the ticket to
    that customer."""
    verification = security.verify_identity(
        ticket, account, acting_user=acting_user, answers=answers
    )
    claimed = ticket.claimed_identity
    if (
        claimed is not None
        and verification.strength == Verification.Strength.STRONG
        and account.customer_id == claimed.customer_id
    ):
        link_claimed_customer(ticket, acting_user=acting_user, verification=verification)
    return verification


@transaction.atomic
def link_claimed_customer(ticket: Ticket, *, acting_user, verification: Verification) -> Ticket:
    """The claim is proven by ``verification`` (strong, valid, on this ticket, of one of the
    claimed customer's wallets): the placeholder customer is merged into the claimed one,
    the ticket takes the verified wallet, and the history records it (customer merged)."""
    require_agent(acting_user)
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("claimed_identity__customer", "customer")
        .get(pk=ticket.pk)
    )
    claimed = ticket.claimed_identity
    if claimed is None:
        raise ValidationError(_("This ticket's customer claims no other identity."))
    account = verification.account
    refusal = security.verification_refusal(verification, account=account, ticket=ticket)
    if refusal:
        raise ValidationError(refusal)
    if account.customer_id != claimed.customer_id:
        raise ValidationError(_("The identity verification is for another wallet."))
    merge_claimed(
        ticket.customer, into=claimed.customer, ticket=ticket, actor=acting_user, wallet=account
    )
    ticket.refresh_from_db()
    return ticket


def answer_confirmation(confirmation: DeviceConfirmation, *, confirmed: bool) -> DeviceConfirmation:
    """The customer's answer on the confirm page (accounts.actions.confirmation), and what it
    means for the ticket: a yes of the claimed customer's wallet proves the claim and links
    the ticket to them; a no is put in front of the agents in the ticket's thread, since the
    person they are talking to may not be the wallet's owner."""
    confirmation = confirmations.answer_confirmation(confirmation, confirmed=confirmed)
    ticket, verification = confirmation.ticket, confirmation.verification
    if ticket is None or verification is None:
        return confirmation
    if confirmed:
        claimed = Ticket.objects.values_list("claimed_identity__customer", flat=True).get(
            pk=ticket.pk
        )
        if claimed is not None and claimed == confirmation.account.customer_id:
            link_claimed_customer(ticket, acting_user=confirmation.agent, verification=verification)
        return confirmation
    post_system_note(
        ticket,
        text=_(
            "Security warning: the customer answered No to the confirmation sent to %(to)s: "
            "they did not ask for it. The person in this conversation may not be the wallet's "
            "owner."
        )
        % {"to": confirmation.masked_destination},
        metadata={"confirmation": confirmation.pk, "answer": "no"},
    )
    return confirmation
