"""Filing a call: the number (any format) normalised to E.164 finds the customer or makes
one, an answered call becomes a phone Message on the customer's open ticket, whatever its
channel (or a new phone ticket)
through `receive_many`, with its CallLog beside it; a call nobody answered becomes a
callback task instead. A call an agent logged (or took, as the telephony system says), and
any outbound call, is written by the agent (tickets.actions.record_call): its notes are
never filed as the customer's words and an outbound call reopens nothing. Idempotent on
the telephony system's call id: the same report twice files one call."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actions import resolve_identities
from accounts.identities import normalise_phone
from accounts.models import Customer, CustomerIdentity
from accounts.permissions import WORK_TICKETS, require_permission
from tickets import actions, selectors
from tickets.inbound import Inbound
from tickets.models import Callback, CallLog, Channel, Ticket

# Calls nobody answered: the hotline owes the caller a call.
UNANSWERED = frozenset(
    {CallLog.Outcome.MISSED, CallLog.Outcome.ABANDONED, CallLog.Outcome.VOICEMAIL}
)


@dataclass(frozen=True)
class Call:
    """A call as an agent or the telephony system tells it."""

    number: str  # as typed or reported; normalised here
    started_at: datetime
    direction: str = CallLog.Direction.INBOUND
    outcome: str = CallLog.Outcome.ANSWERED
    duration: timedelta | None = None
    notes: str = ""
    call_id: str = ""  # the telephony system's id; "" for a call logged by hand
    recording_ref: str = ""


@dataclass
class Filed:
    call: CallLog
    ticket: Ticket | None  # the ticket the call is on (None for a call owed back)
    callback: Callback | None  # the callback task a missed call opened
    duplicate: bool  # reported before: nothing was written


def caller(number: str) -> Customer | None:
    """The customer a number belongs to, or None when we have never heard it (for showing
    the agent who is calling before anything is saved). Raises ValidationError on a
    number that is not one."""
    value = normalise_phone(number)
    identity = (
        CustomerIdentity.objects.select_related("customer")
        .filter(kind=CustomerIdentity.Kind.PHONE, value=value)
        .first()
    )
    return identity.customer if identity else None


def _validate(call: Call) -> str:
    if call.direction not in CallLog.Direction.values:
        raise ValidationError(_("Unknown call direction."), code="direction")
    if call.outcome not in CallLog.Outcome.values:
        raise ValidationError(_("Unknown call outcome."), code="outcome")
    if call.duration is not None and call.duration < timedelta(0):
        raise ValidationError(_("A call cannot last less than nothing."), code="duration")
    if len(call.call_id) > 100 or len(call.recording_ref) > 255:
        raise ValidationError(_("The call id or recording reference is too long."))
    return normalise_phone(call.number)


def _summary(call: Call) -> str:
    minutes = int(call.duration.total_seconds() // 60) if call.duration else 0
    return _("Phone call (%(direction)s, %(outcome)s, %(minutes)s min).") % {
        "direction": CallLog.Direction(call.direction).label,
        "outcome": CallLog.Outcome(call.outcome).label,
        "minutes": minutes,
    }


def log_call(call: Call, *, acting_user) -> Filed:
    """An agent logs a call in the admin: they must be able to work tickets."""
    require_permission(acting_user, WORK_TICKETS)
    return file_call(call, agent=acting_user)


def file_call(call: Call, *, agent=None, raw_id: int | None = None) -> Filed:
    """File one call. ``agent``: the agent who logged it (or who took it, as the telephony
    system says). Raises ValidationError on a bad number or value (nothing is written)."""
    number = _validate(call)
    if call.call_id:
        known = CallLog.objects.filter(external_id=call.call_id).first()
        if known is not None:
            return Filed(known, known.ticket, getattr(known, "callback", None), duplicate=True)
    try:
        with transaction.atomic():
            return _file(call, number, agent=agent, raw_id=raw_id)
    except IntegrityError:
        # The same call id filed by another process at the same moment: theirs stands.
        known = CallLog.objects.filter(external_id=call.call_id).first() if call.call_id else None
        if known is None:
            raise
        return Filed(known, known.ticket, getattr(known, "callback", None), duplicate=True)


def _file(call: Call, number: str, *, agent, raw_id: int | None) -> Filed:
    ticket = None
    callback = None
    key = (CustomerIdentity.Kind.PHONE, number)
    identity = resolve_identities({key: ""})[key]
    customer = identity.customer
    if call.outcome not in UNANSWERED:
        text = call.notes.strip() or _summary(call)
        external_id = f"call:{call.call_id}" if call.call_id else ""
        metadata = {
            "call": {
                "direction": call.direction,
                "outcome": call.outcome,
                "duration_seconds": int(call.duration.total_seconds()) if call.duration else None,
            }
        }
        outbound = call.direction == CallLog.Direction.OUTBOUND
        if agent is not None or outbound:
            # An agent's notes, or the desk's own call: written by the agent, never as the
            # customer's words, and an outbound call reopens nothing.
            ticket = actions.record_call(
                identity,
                outbound=outbound,
                text=text,
                agent=agent,
                external_id=external_id,
                metadata=metadata,
                raw_id=raw_id,
            )
        else:
            # The customer's open ticket on any channel (a call about their email goes on
            # that ticket), else a new phone ticket.
            current = selectors.current_ticket(customer)
            received = actions.receive(
                Inbound(
                    channel=Channel.PHONE,
                    sender_kind=CustomerIdentity.Kind.PHONE,
                    sender=number,
                    text=text,
                    subject=_("Phone call"),
                    external_id=external_id,
                    continue_open=True,
                    ticket_id=current.pk if current else None,
                    metadata=metadata,
                    raw_id=raw_id,
                )
            )
            ticket = received.ticket
    logged = CallLog.objects.create(
        external_id=call.call_id or None,
        caller_number=number,
        direction=call.direction,
        outcome=call.outcome,
        started_at=call.started_at,
        duration=call.duration,
        agent=agent,
        recording_ref=call.recording_ref,
        customer=customer,
        ticket=ticket,
    )
    if call.outcome in UNANSWERED and call.direction == CallLog.Direction.INBOUND:
        callback = Callback.objects.create(
            phone=number,
            source=Callback.Source.MISSED_CALL,
            due_at=max(call.started_at, timezone.now() - timedelta(days=1))
            + timedelta(minutes=settings.TELEPHONY_CALLBACK_WITHIN_MINUTES),
            customer=customer,
            call=logged,
        )
    return Filed(logged, ticket, callback, duplicate=False)


def request_callback(number: str, preferred_at: datetime | None) -> Callback:
    """A customer's request from the web, while the hotline is busy. The number is a claim:
    it finds (or makes) the customer the callback is for, and the agent who calls verifies
    whoever answers. Raises ValidationError on a bad number or a time in the past."""
    value = normalise_phone(number)
    now = timezone.now()
    if preferred_at is not None and preferred_at < now - timedelta(minutes=5):
        raise ValidationError(_("Choose a time that is not in the past."), code="past")
    if preferred_at is not None and preferred_at > now + timedelta(days=30):
        raise ValidationError(_("Choose a time within the next 30 days."), code="far")
    with transaction.atomic():
        key = (CustomerIdentity.Kind.PHONE, value)
        customer = resolve_identities({key: ""})[key].customer
        return Callback.objects.create(
            phone=value,
            source=Callback.Source.WEB,
            due_at=preferred_at
            or now + timedelta(minutes=settings.TELEPHONY_CALLBACK_WITHIN_MINUTES),
            customer=customer,
        )


def mark_done(callback: Callback, *, acting_user) -> bool:
    """An agent called back. False when it was done already (by someone else)."""
    require_permission(acting_user, WORK_TICKETS)
    return bool(
        Callback.objects.filter(pk=callback.pk, status=Callback.Status.OPEN).update(
            status=Callback.Status.DONE, done_at=timezone.now(), done_by=acting_user
        )
    )
