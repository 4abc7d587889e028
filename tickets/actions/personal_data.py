"""Revealing one piece of personal data a customer wrote in a message (issue 16).

A message's stored text holds the masked form of each ID or card number, phone number or
email address it carried; the value itself is a SensitiveValue, encrypted. An agent sees
it in full only through `reveal`: their role must hold REVEAL_PERSONAL_DATA, and either
they (or the MY Wallet app) hold a strong verification on the ticket, the one a protective
change rests on, or they type why they need it. Every reveal is written twice in the same
transaction: an AccountEvent in the customer's hash-chained audit trail (who, which value,
which ticket, why) and a line in the ticket's history. Neither holds the value: only its
kind, its masked form and the ids that find it again.

The ticket page asks `may_reveal` and `reason_needed`, the same rules `reveal` enforces, to
decide whether to offer the control and whether to ask for a reason.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.actions.security import verified_strongly_on
from accounts.audit import append_events
from accounts.models import AccountEvent
from accounts.permissions import (
    REVEAL_PERSONAL_DATA,
    permission_refusal,
    require_agent,
    require_permission,
)
from mywallet_support import pii

from ..models import SensitiveValue, Ticket, TicketEvent

# A reason an auditor can read ("customer asks to confirm the card they paid with"), not
# "ok" or "x".
MIN_REASON_CHARS = 10
MAX_REASON_CHARS = 500


def may_reveal(user) -> bool:
    """Whether ``user``'s role lets them reveal personal data at all."""
    return not permission_refusal(user, REVEAL_PERSONAL_DATA, agent=True)


def reason_needed(ticket: Ticket, user) -> bool:
    """Whether a reveal on ``ticket`` by ``user`` needs a typed reason: it does until they
    or the app hold a strong verification on it."""
    return not verified_strongly_on(ticket, user)


def reveal(value: SensitiveValue, *, acting_user, reason: str = "") -> str:
    """The full value of ``value``, for ``acting_user`` to read once, audited.

    Refused (PermissionDenied) to anyone whose role lacks the permission; refused
    (ValidationError "reason_required") without a strong verification on the ticket and
    without a reason of at least MIN_REASON_CHARS characters. The reason is kept with any
    personal data in it masked, so the audit row never repeats a full value either.
    """
    require_agent(acting_user)
    require_permission(acting_user, REVEAL_PERSONAL_DATA)
    value = SensitiveValue.objects.select_related("message__ticket__customer").get(pk=value.pk)
    ticket = value.message.ticket
    reason = pii.mask_text(" ".join((reason or "").split()))[:MAX_REASON_CHARS]
    verified = not reason_needed(ticket, acting_user)
    if not verified and len(reason) < MIN_REASON_CHARS:
        raise ValidationError(
            _(
                "Say why you need to see this value (at least %(count)d characters), or "
                "verify the customer strongly on this ticket first."
            )
            % {"count": MIN_REASON_CHARS},
            code="reason_required",
        )
    details = {
        "kind": value.kind,
        "masked": value.masked,
        "message": value.message_id,
        "sensitive_value": value.pk,
    }
    with transaction.atomic():
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.VALUE_REVEALED,
            actor=acting_user,
            data={**details, "reason": reason, "verified": verified},
        )
        append_events(
            [
                AccountEvent(
                    customer=ticket.customer,
                    ticket=ticket,
                    actor_kind=AccountEvent.ActorKind.AGENT,
                    actor=acting_user,
                    action=AccountEvent.Action.PERSONAL_DATA_REVEALED,
                    reason=reason,
                    details={**details, "verified": verified},
                )
            ]
        )
    return value.value
