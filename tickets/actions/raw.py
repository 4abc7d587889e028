"""A raw payload read by a person. The raw store (InboundMessage.raw) keeps every payload
as received, encrypted at rest: a mail's full card and ID numbers are in it, though its
message shows them masked. So a person reads one only here: a supervisor (the permission
that reprocesses payloads), with a reason, and the reading is audited like the reveal of
one value (AccountEvent PERSONAL_DATA_REVEALED on the payload's customer and ticket), or
logged when the payload never reached a customer (a quarantined mail)."""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.audit import record_event
from accounts.models import AccountEvent
from accounts.permissions import REPROCESS_INBOUND, require_permission

from ..models import InboundMessage, Ticket

logger = logging.getLogger(__name__)


@transaction.atomic
def read_raw(stored: InboundMessage, *, acting_user, reason: str) -> bytes:
    """The payload's bytes as received, for ``acting_user``, who says why in ``reason``.
    Raises PermissionDenied without the permission, ValidationError (code
    "reason_required") without a reason."""
    require_permission(acting_user, REPROCESS_INBOUND)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            _("Say why you need to read the raw payload."), code="reason_required"
        )
    ticket = (
        Ticket.objects.select_related("customer").filter(messages=stored.message_id).first()
        if stored.message_id
        else None
    )
    details = {"raw_payload": stored.pk, "channel": stored.channel}
    if ticket is not None:
        record_event(
            customer=ticket.customer,
            ticket=ticket,
            action=AccountEvent.Action.PERSONAL_DATA_REVEALED,
            acting_user=acting_user,
            reason=reason,
            details=details,
        )
    else:
        logger.warning(
            "raw payload %s (%s, no customer known) read by %s: %s",
            stored.pk,
            stored.channel,
            acting_user.get_username(),
            reason,
        )
    return bytes(InboundMessage.objects.values_list("raw", flat=True).get(pk=stored.pk))
