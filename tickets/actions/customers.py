"""Merging customers: one person known by two records becomes one, with everything of
both (identities, wallets, tickets, calls). It moves tickets, so it lives on the ticket side.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.audit import record_event
from accounts.models import AccountEvent, Customer
from accounts.permissions import MERGE_CUSTOMERS, require_permission
from mywallet_support.masking import mask_identity

from ..models import Callback, CallLog, Ticket, TicketEvent


@transaction.atomic
def merge_customers(
    *, source: Customer, target: Customer, acting_user, reason: str = ""
) -> Customer:
    """An agent moves everything of ``source`` onto ``target``.

    ``source`` stays as an empty record pointing at ``target``, so the audit trail that
    names it still resolves.
    """
    require_permission(acting_user, MERGE_CUSTOMERS)
    return _merge(source, target, actor=acting_user, reason=reason)


@transaction.atomic
def merge_claimed(
    placeholder: Customer, *, into: Customer, ticket: Ticket, actor, wallet
) -> Customer:
    """The system merges the customer made up for an anonymous chat into the customer it
    claimed to be, once an agent's verification proved it (tickets.actions.claims): the
    chat's ticket moves with it, on the verified ``wallet``, and the claim is settled."""
    _merge(placeholder, into, actor=actor, reason=_("Claimed identity verified"), ticket=ticket)
    Ticket.objects.filter(pk=ticket.pk).update(wallet=wallet, claimed_identity=None)
    return into


def _merge(source, target, *, actor, reason: str, ticket: Ticket | None = None) -> Customer:
    if source.pk == target.pk:
        raise ValidationError(_("A customer cannot be merged into itself."))
    # Lock both rows in a fixed order so two merges of the same pair cannot interleave.
    locked = {
        c.pk: c
        for c in Customer.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    if source.merged_into_id is not None or target.merged_into_id is not None:
        raise ValidationError(_("One of these customers has already been merged."))

    identities = list(source.identities.values_list("kind", "value"))
    ticket_ids = list(source.tickets.values_list("pk", flat=True))
    source.identities.update(customer=target)
    source.wallets.update(customer=target)
    Ticket.objects.filter(pk__in=ticket_ids).update(customer=target)
    CallLog.objects.filter(customer=source).update(customer=target)
    Callback.objects.filter(customer=source).update(customer=target)
    if source.user_id and not target.user_id:
        target.user_id, source.user_id = source.user_id, None
        source.save(update_fields=["user"])
        target.save(update_fields=["user"])
    if not target.name and source.name:
        target.name = source.name
        target.save(update_fields=["name"])
    source.merged_into = target
    source.save(update_fields=["merged_into"])

    details = {
        "source": source.pk,
        "target": target.pk,
        "identities": [mask_identity(kind, value) for kind, value in identities],
        "tickets": ticket_ids,
    }
    if ticket is not None:
        details["via"] = ticket.channel
    for customer in (source, target):
        record_event(
            customer=customer,
            action=AccountEvent.Action.CUSTOMERS_MERGED,
            acting_user=actor,
            ticket=ticket,
            reason=reason,
            details=details,
        )
    TicketEvent.objects.bulk_create(
        TicketEvent(ticket_id=pk, kind=TicketEvent.Kind.CUSTOMER_MERGED, actor=actor, data=details)
        for pk in ticket_ids
    )
    return target
