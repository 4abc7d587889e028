"""Business operations on customers and their identities (merging customers, which moves
their tickets too, is tickets.actions.customers).

Plain functions taking the acting user, each in one transaction with its audit row.
Admin actions, API views, consumers and management commands all call these.
"""

import logging
import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from mywallet_support.masking import mask_identity

from ..audit import append_events, new_event, record_event
from ..identities import normalise_identity
from ..models import AccountEvent, Customer, CustomerIdentity
from ..permissions import ADD_IDENTITY, require_permission

logger = logging.getLogger(__name__)


def resolve_identity(*, kind: str, value: str, display_name: str = "") -> CustomerIdentity:
    """The identity for (kind, value), creating its customer the first time we hear from it.

    Raises ValidationError when the value cannot be normalised (a bad address or number).
    """
    key = (kind, normalise_identity(kind, value))
    return resolve_identities({key: display_name})[key]


def resolve_identities(
    wanted: dict[tuple[str, str], str],
) -> dict[tuple[str, str], CustomerIdentity]:
    """The identities for already normalised (kind, value) keys, each with the display name
    heard with it, creating customers for the ones we have never heard from.

    One query for those we know, whatever their number (a batch of imported mail).
    Safe when two channels see a new sender at the same moment: the loser of the race
    reads the winner's row.
    """
    found: dict[tuple[str, str], CustomerIdentity] = {}
    by_kind: dict[str, list[str]] = {}
    for kind, value in wanted:
        by_kind.setdefault(kind, []).append(value)
    if by_kind:
        matches = Q()
        for kind, values in by_kind.items():
            matches |= Q(kind=kind, value__in=values)
        for identity in CustomerIdentity.objects.select_related("customer").filter(matches):
            found[identity.kind, identity.value] = identity
    for key, display_name in wanted.items():
        identity = found.get(key)
        if identity is not None and display_name and not identity.display_name:
            identity.display_name = display_name[:200]
            identity.save(update_fields=["display_name"])
    missing = {key: name for key, name in wanted.items() if key not in found}
    if missing:
        try:
            found.update(_create_identities(missing))
        except IntegrityError:
            # Another process created one of them first: one at a time, reading theirs.
            for key, display_name in missing.items():
                try:
                    found.update(_create_identities({key: display_name}))
                except IntegrityError:
                    found[key] = CustomerIdentity.objects.select_related("customer").get(
                        kind=key[0], value=key[1]
                    )
    return found


def _create_identities(wanted: dict[tuple[str, str], str]) -> dict:
    """A new customer for each (kind, value), with its identity and audit row, in bulk.
    Raises IntegrityError, with nothing written, when one of them exists already."""
    with transaction.atomic():
        customers = Customer.objects.bulk_create(
            [Customer(name=name[:200]) for name in wanted.values()]
        )
        identities = CustomerIdentity.objects.bulk_create(
            [
                CustomerIdentity(customer=customer, kind=kind, value=value, display_name=name[:200])
                for customer, ((kind, value), name) in zip(customers, wanted.items(), strict=True)
            ]
        )
        append_events(
            [
                new_event(
                    customer=identity.customer,
                    action=AccountEvent.Action.CUSTOMER_CREATED,
                    details={
                        "kind": identity.kind,
                        "value": mask_identity(identity.kind, identity.value),
                    },
                )
                for identity in identities
            ]
        )
    return {(identity.kind, identity.value): identity for identity in identities}


@transaction.atomic
def identity_for_user(user, *, name: str = "") -> CustomerIdentity:
    """The identity a signed-in wallet user writes from: their customer's first identity,
    creating the customer (audited, like any new customer) and a "web" identity the first
    time. Safe when two requests of the same user race: the loser reads the winner's rows."""
    customer = Customer.objects.filter(user=user).first()
    if customer is None:
        try:
            with transaction.atomic():
                customer = Customer.objects.create(
                    user=user, name=(name or user.get_full_name())[:200]
                )
                record_event(
                    customer=customer,
                    action=AccountEvent.Action.CUSTOMER_CREATED,
                    details={"kind": CustomerIdentity.Kind.WEB, "signed_in": True},
                )
        except IntegrityError:
            customer = Customer.objects.get(user=user)
    identity = customer.identities.order_by("kind", "pk").first()
    if identity is None:
        identity, created = CustomerIdentity.objects.get_or_create(
            kind=CustomerIdentity.Kind.WEB,
            value=f"user-{user.pk}",
            defaults={"customer": customer},
        )
        if created:
            record_event(
                customer=customer,
                action=AccountEvent.Action.IDENTITY_ADDED,
                details={"kind": identity.kind, "value": identity.value},
            )
    return identity


@transaction.atomic
def identity_for_app(customer: Customer) -> CustomerIdentity:
    """The identity a customer the MY Wallet app proved writes from (the chat, the API):
    their first one, else a new "web" one, audited."""
    identity = customer.identities.order_by("kind", "pk").first()
    if identity is None:
        identity = CustomerIdentity.objects.create(
            customer=customer, kind=CustomerIdentity.Kind.WEB, value=f"chat-{uuid.uuid4().hex}"
        )
        record_event(
            customer=customer,
            action=AccountEvent.Action.IDENTITY_ADDED,
            details={"kind": identity.kind, "value": identity.value, "via": "app"},
        )
    return identity


@transaction.atomic
def add_identity(
    customer: Customer, *, kind: str, value: str, acting_user, display_name: str = ""
) -> CustomerIdentity:
    """An agent records another way of reaching this customer."""
    require_permission(acting_user, ADD_IDENTITY)
    normalised = normalise_identity(kind, value)
    owner = CustomerIdentity.objects.filter(kind=kind, value=normalised).first()
    if owner is not None:
        if owner.customer_id == customer.pk:
            return owner
        raise ValidationError(
            _("This %(kind)s already belongs to customer #%(id)s; merge the two customers."),
            params={"kind": owner.get_kind_display(), "id": owner.customer_id},
        )
    identity = CustomerIdentity.objects.create(
        customer=customer, kind=kind, value=normalised, display_name=display_name
    )
    record_event(
        customer=customer,
        action=AccountEvent.Action.IDENTITY_ADDED,
        acting_user=acting_user,
        details={"kind": kind, "value": mask_identity(kind, normalised)},
    )
    return identity


def link_registered_contact(customer: Customer, *, kind: str, value: str, acting_user=None):
    """After a wallet's registered phone or email changed: make it one of the customer's
    identities too, so that mail or calls from it find the customer. A contact that is
    already another customer's identity is left there (agents merge when it is the same
    person). Call it inside the change's transaction; returns the identity or None."""
    normalised = normalise_identity(kind, value)
    owner = CustomerIdentity.objects.filter(kind=kind, value=normalised).first()
    if owner is not None:
        return owner if owner.customer_id == customer.pk else None
    identity = CustomerIdentity.objects.create(customer=customer, kind=kind, value=normalised)
    record_event(
        customer=customer,
        action=AccountEvent.Action.IDENTITY_ADDED,
        acting_user=acting_user,
        details={"kind": kind, "value": mask_identity(kind, normalised), "registered": True},
    )
    return identity


def mark_undeliverable(customer: Customer, *, address: str) -> None:
    """Mail to ``address`` bounced permanently: replies stop going there (they use the
    customer's other addresses, or fail with a reason the agent sees)."""
    customer.identities.filter(
        kind=CustomerIdentity.Kind.EMAIL, value=address.strip().lower()
    ).update(undeliverable=True)
