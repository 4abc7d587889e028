"""Confirm on the customer's own device: the agent asks, the customer answers.

An agent verifying a caller sends the wallet's registered phone or email a link
(accounts.confirmations); the customer opens it and answers "Yes, this is me" or "No, I did
not ask for this". Yes is a strong verification for that agent, on that ticket and wallet;
no is a failed one, which takes the place of any earlier verification on the ticket (the
real owner has just said they are not the one talking to us). An agent replacing a lost
contact sends the NEW contact a link the same way, and the change waits for its yes.

Nothing the customer does here involves telling anyone a code.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..audit import record_event
from ..confirmations import send_confirmation
from ..models import AccountEvent, DeviceConfirmation, Verification, WalletAccount
from ..verification import device_check
from .security import _require_agent, _same_customer, new_contact_value, verification_summary

logger = logging.getLogger(__name__)


def confirm_on_device(
    ticket, account: WalletAccount, *, acting_user, channel: str
) -> DeviceConfirmation:
    """Ask the customer to confirm on the wallet's registered phone (SMS) or email that
    they are the one talking to ``acting_user`` about ``ticket``. Raises ValidationError
    when the wallet has no such contact, CodeNotSent when the link cannot go out now."""
    _require_agent(acting_user)
    _same_customer(ticket, account)
    destination = {"phone": account.registered_phone, "email": account.registered_email}.get(
        channel
    )
    if not destination:
        raise ValidationError(_("This wallet has no registered contact of that kind."))
    return send_confirmation(
        account,
        ticket=ticket,
        agent=acting_user,
        channel=channel,
        purpose=DeviceConfirmation.Purpose.VERIFICATION,
        destination=destination,
    )


def confirm_new_contact(
    ticket, account: WalletAccount, *, acting_user, kind: str, value: str
) -> DeviceConfirmation:
    """Ask the customer to confirm their NEW phone or email from it (a lost contact's
    change through an agent, accounts.actions.security.change_contact_by_agent)."""
    _require_agent(acting_user)
    _same_customer(ticket, account)
    return send_confirmation(
        account,
        ticket=ticket,
        agent=acting_user,
        channel=kind,
        purpose=DeviceConfirmation.Purpose.NEW_CONTACT,
        destination=new_contact_value(account, kind, value),
    )


def answer_confirmation(confirmation: DeviceConfirmation, *, confirmed: bool) -> DeviceConfirmation:
    """The customer's answer on the confirm page (the link's token is their proof: no login).

    Answered once, before it expires; ValidationError otherwise. A yes to a verification
    records a strong Verification for the agent who asked; a no records a failed one. The
    audit row is on the ticket, and a no shows there as a security warning (the audit
    trail's template, by ``details["answer"]``) and on the agent's security panel.
    """
    with transaction.atomic():
        confirmation = (
            DeviceConfirmation.objects.select_for_update(of=("self",))
            .select_related("account__customer", "ticket", "agent")
            .get(pk=confirmation.pk)
        )
        if confirmation.status != DeviceConfirmation.Status.PENDING or confirmation.expired:
            raise ValidationError(_("This link has already been used or has expired."))
        confirmation.status = (
            DeviceConfirmation.Status.CONFIRMED if confirmed else DeviceConfirmation.Status.DECLINED
        )
        confirmation.answered_at = timezone.now()
        if confirmation.purpose == DeviceConfirmation.Purpose.VERIFICATION:
            confirmation.verification = _record_verification(confirmation, confirmed=confirmed)
        _record_answer(confirmation, confirmed=confirmed)
        confirmation.save(update_fields=["status", "answered_at", "verification"])
    logger.info("confirmation %s answered: %s", confirmation.pk, confirmation.status)
    return confirmation


def _record_verification(confirmation: DeviceConfirmation, *, confirmed: bool) -> Verification:
    check = device_check(confirmation.channel)
    return Verification.objects.create(
        ticket=confirmation.ticket,
        account=confirmation.account,
        agent=confirmation.agent,
        checks_passed=[check] if confirmed else [],
        checks_failed=[] if confirmed else [check],
        strength=Verification.Strength.STRONG if confirmed else Verification.Strength.NONE,
        expires_at=timezone.now() + timedelta(minutes=settings.VERIFICATION_VALID_MINUTES),
    )


def _record_answer(confirmation: DeviceConfirmation, *, confirmed: bool) -> None:
    account = confirmation.account
    details = {
        "confirmation": confirmation.pk,
        "purpose": confirmation.purpose,
        "channel": confirmation.channel,
        "destination": confirmation.masked_destination,
        "answer": "yes" if confirmed else "no",
    }
    record_event(
        customer=account.customer,
        account=account,
        ticket=confirmation.ticket,
        action=(
            AccountEvent.Action.IDENTITY_VERIFIED
            if confirmed
            else AccountEvent.Action.VERIFICATION_FAILED
        ),
        verification=(
            verification_summary(confirmation.verification) if confirmation.verification else None
        ),
        details=details,
    )
