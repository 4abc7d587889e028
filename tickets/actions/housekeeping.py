"""Housekeeping: what the clock does to tickets, one pass at a time (`run_housekeeping`),
run by the task worker every settings.HOUSEKEEPING_INTERVAL seconds and by
`manage.py housekeeping` for cron.

- Escalation: a ticket whose SLA (tickets.sla) is about to break or broken is told to the
  supervisors of its queue (all supervisors when its queue has none; those with an email
  address) by email, with an
  "SLA warning" or "SLA breached" line in its history, once per ticket, due time and level;
  a breach may give it to the least-loaded agent of its queue (the policy's
  ``reassign_on_breach`` or settings.SLA_ESCALATE_REASSIGN). The tickets are locked
  (SKIP LOCKED) while their alerts are written, so two workers never alert twice.
- Reminders: a ticket pending the customer with no activity for PENDING_REMINDER_DAYS gets
  one reminder through its channel, in the customer's language; still quiet until
  PENDING_AUTO_SOLVE_DAYS after its last activity, it is solved.
- Closing: a ticket solved SOLVED_AUTO_CLOSE_DAYS ago is closed.

Every change is the system's (no actor) and says so in the history. Each pass handles at
most HOUSEKEEPING_BATCH tickets of each kind; the rest wait for the next pass.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.roles import AGENTS, SUPERVISORS
from mywallet_support.mail import DeliveryError, customer_language, transmit

from ..models import Ticket, TicketEvent
from ..sla import RUNNING, SLA_DUE, breaching, warning_window
from .lifecycle import assign_automatically, sla_policies, sla_policy
from .thread import post_notice

logger = logging.getLogger(__name__)

FIRST_RESPONSE, RESOLUTION = "first_response", "resolution"


def run_housekeeping(now: datetime | None = None) -> dict[str, int]:
    """One pass of every job; what each did, counted."""
    now = now or timezone.now()
    counts = Counter(escalate(now))
    counts["reminded"] = remind_pending(now)
    counts["auto_solved"] = solve_quiet_pending(now)
    counts["closed"] = close_solved(now)
    return dict(counts)


# --- escalation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    ticket: Ticket
    target: str  # FIRST_RESPONSE or RESOLUTION
    due: datetime
    kind: str  # TicketEvent.Kind.SLA_WARNING or SLA_BREACHED
    recipients: tuple  # the supervisors told


def escalate(now: datetime) -> Counter:
    """Alert (and perhaps reassign) the tickets whose SLA is about to break or broken."""
    with transaction.atomic():
        tickets = list(
            breaching(Ticket.objects.all(), now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("queue")
            # The latest due times first: the tickets alerted in earlier passes sink.
            .order_by(SLA_DUE.desc(), "pk")[: settings.HOUSEKEEPING_BATCH]
        )
        alerts = _new_alerts(tickets, now)
        TicketEvent.objects.bulk_create(
            TicketEvent(
                ticket=alert.ticket,
                kind=alert.kind,
                data={
                    "target": alert.target,
                    "due": alert.due.isoformat(),
                    "notified": [user.get_username() for user in alert.recipients],
                },
            )
            for alert in alerts
        )
        reassigned = _reassign_breached(alerts)
    _notify(alerts)
    counts = Counter(alert.kind for alert in alerts)
    return Counter(
        sla_warnings=counts[TicketEvent.Kind.SLA_WARNING],
        sla_breaches=counts[TicketEvent.Kind.SLA_BREACHED],
        reassigned=reassigned,
    )


def _due_times(ticket: Ticket) -> list[tuple[str, datetime]]:
    due = [(RESOLUTION, ticket.resolution_due)]
    if ticket.first_responded_at is None:
        due.insert(0, (FIRST_RESPONSE, ticket.first_response_due))
    return [(target, at) for target, at in due if at is not None]


def _new_alerts(tickets: list[Ticket], now: datetime) -> list[Alert]:
    """The alerts not given yet: one per ticket, due time and level (a breach found before
    its warning skips the warning)."""
    if not tickets:
        return []
    given = {
        (event.ticket_id, event.data.get("target"), event.data.get("due"), event.kind)
        for event in TicketEvent.objects.filter(
            ticket__in=tickets,
            kind__in=[TicketEvent.Kind.SLA_WARNING, TicketEvent.Kind.SLA_BREACHED],
        ).only("ticket_id", "kind", "data")
    }
    supervisors = _supervisors()
    limit = now + warning_window()
    alerts = []
    for ticket in tickets:
        for target, due in _due_times(ticket):
            if due > limit:
                continue
            key = (ticket.pk, target, due.isoformat())
            kind = TicketEvent.Kind.SLA_BREACHED if due <= now else TicketEvent.Kind.SLA_WARNING
            if (*key, TicketEvent.Kind.SLA_BREACHED) in given or (*key, kind) in given:
                continue
            recipients = _recipients(ticket, supervisors)
            alerts.append(Alert(ticket, target, due, kind, recipients))
    return alerts


def _supervisors() -> list:
    """Active supervisors with an email address, with their queues (two queries)."""
    return list(
        get_user_model()
        .objects.filter(is_active=True, groups__name=SUPERVISORS)
        .exclude(email="")
        .prefetch_related("queues")
        .order_by("pk")
        .distinct()
    )


def _recipients(ticket: Ticket, supervisors: list) -> tuple:
    of_queue = [
        user
        for user in supervisors
        if ticket.queue_id is not None
        and any(queue.pk == ticket.queue_id for queue in user.queues.all())
    ]
    return tuple(of_queue or supervisors)


def _reassign_breached(alerts: list[Alert]) -> int:
    """Give each breached ticket whose policy (or the setting) says so to the least-loaded
    agent of its queue; a ticket with no queue, or no other agent there, stays."""
    policies = None
    done = 0
    for alert in alerts:
        ticket = alert.ticket
        if alert.kind != TicketEvent.Kind.SLA_BREACHED or ticket.queue_id is None:
            continue
        if policies is None:
            policies = sla_policies()
        policy = sla_policy(policies, ticket.priority, ticket.category)
        if not (settings.SLA_ESCALATE_REASSIGN or (policy and policy.reassign_on_breach)):
            continue
        agent = least_loaded_agent(ticket)
        if agent is not None:
            assign_automatically(ticket, assignee=agent)
            done += 1
    return done


def least_loaded_agent(ticket: Ticket):
    """The active agent of the ticket's queue, other than its assignee, holding the fewest
    tickets whose SLA clock runs (the earliest account on a tie)."""
    return (
        get_user_model()
        .objects.filter(
            queues=ticket.queue_id,
            is_active=True,
            is_staff=True,
            groups__name__in=[AGENTS, SUPERVISORS],
        )
        .exclude(pk=ticket.assignee_id or 0)
        .annotate(load=Count("assigned_tickets", filter=Q(assigned_tickets__status__in=RUNNING)))
        .order_by("load", "pk")
        .first()
    )


def _notify(alerts: list[Alert]) -> None:
    """One mail per supervisor listing their alerts of this pass; a refused mail is
    logged (the history keeps the alert)."""
    by_recipient: dict = {}
    for alert in alerts:
        for user in alert.recipients:
            by_recipient.setdefault(user, []).append(alert)
    for user, theirs in by_recipient.items():
        try:
            transmit(_alert_mail(user.email, theirs))
        except DeliveryError:
            logger.warning("SLA alert mail to supervisor #%s refused", user.pk)


def _alert_mail(address: str, alerts: list[Alert]) -> EmailMessage:
    lines = [_alert_line(alert) for alert in alerts]
    subject = _("SLA alerts: %(count)s tickets need attention") % {"count": len(alerts)}
    return EmailMessage(
        subject=subject,
        body="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
    )


def _alert_line(alert: Alert) -> str:
    target = _("first response") if alert.target == FIRST_RESPONSE else _("resolution")
    values = {
        "reference": alert.ticket.reference,
        "target": target,
        "due": timezone.localtime(alert.due).strftime("%Y-%m-%d %H:%M"),
        "queue": alert.ticket.queue.name if alert.ticket.queue else _("no queue"),
    }
    if alert.kind == TicketEvent.Kind.SLA_BREACHED:
        return _("%(reference)s (%(queue)s): %(target)s was due at %(due)s") % values
    return _("%(reference)s (%(queue)s): %(target)s due at %(due)s") % values


# --- tickets pending the customer -----------------------------------------------------------


# Not reminded since the last activity (a new quiet spell, or never reminded).
NOT_REMINDED = Q(reminded_at__isnull=True) | Q(reminded_at__lt=F("last_message_at"))


def remind_pending(now: datetime) -> int:
    """Remind the customer of each ticket pending them with no activity for
    PENDING_REMINDER_DAYS (once for each quiet spell); the number reminded."""
    days = settings.PENDING_REMINDER_DAYS
    if days <= 0:
        return 0
    quiet = _pending(last_message_at__lte=now - timedelta(days=days)).filter(NOT_REMINDED)
    ids = quiet.order_by("last_message_at").values_list("pk", flat=True)
    return sum(_remind(pk, days) for pk in list(ids[: settings.HOUSEKEEPING_BATCH]))


def _pending(**conditions):
    return Ticket.objects.filter(status=Ticket.Status.PENDING, **conditions)


@transaction.atomic
def _remind(pk: int, days: int) -> int:
    """The reminder for one ticket, unless another worker holds it or it changed since."""
    ticket = (
        _pending(pk=pk)
        .filter(NOT_REMINDED)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("customer")
        .first()
    )
    if ticket is None:
        return 0
    with translation.override(customer_language(ticket.customer.language)):
        text = _reminder_text(ticket, days)
    message = post_notice(ticket, text=text, metadata={"kind": "pending_reminder"})
    # The notice moved the last activity: a reminder at or after it means "still quiet".
    ticket.reminded_at = ticket.last_message_at
    ticket.save(update_fields=["reminded_at"])
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.REMINDED,
        data={"message": message.pk, "days": days},
    )
    return 1


def _reminder_text(ticket: Ticket, days: int) -> str:
    values = {"reference": ticket.reference, "days": days}
    text = (
        _(
            "We are still waiting for your answer on %(reference)s (no reply for %(days)s days). "
            "Just answer this message to continue."
        )
        % values
    )
    solve_after = settings.PENDING_AUTO_SOLVE_DAYS - days
    if settings.PENDING_AUTO_SOLVE_DAYS > 0 and solve_after > 0:
        text += " " + _("Without an answer we will consider it solved in %(days)s days.") % {
            "days": solve_after
        }
    return text


def solve_quiet_pending(now: datetime) -> int:
    """Solve the tickets pending the customer with no activity for
    PENDING_AUTO_SOLVE_DAYS (counted from before the reminder); the number solved."""
    days = settings.PENDING_AUTO_SOLVE_DAYS
    if days <= 0:
        return 0
    remind_days = settings.PENDING_REMINDER_DAYS
    if 0 < remind_days < days:  # quiet since the reminder, for the rest of the time
        quiet = _pending(
            reminded_at__gte=F("last_message_at"),
            reminded_at__lte=now - timedelta(days=days - remind_days),
        )
    else:
        quiet = _pending(last_message_at__lte=now - timedelta(days=days))
    reason = {"by": "auto", "reason": "pending_timeout", "days": days}
    return _move(quiet, Ticket.Status.SOLVED, now, reason, solved_at=now)


def close_solved(now: datetime) -> int:
    """Close the tickets solved SOLVED_AUTO_CLOSE_DAYS ago; the number closed."""
    days = settings.SOLVED_AUTO_CLOSE_DAYS
    if days <= 0:
        return 0
    solved = Ticket.objects.filter(
        status=Ticket.Status.SOLVED, solved_at__lte=now - timedelta(days=days)
    )
    reason = {"by": "auto", "reason": "solved_timeout", "days": days}
    return _move(solved, Ticket.Status.CLOSED, now, reason, closed_at=now)


def _move(tickets, status: str, now: datetime, data: dict, **fields) -> int:
    """A batch of ``tickets`` to ``status`` in one UPDATE, each with its status event by
    the system; the rows are locked first so a ticket the customer reopens meanwhile is
    left alone."""
    with transaction.atomic():
        moving = list(
            tickets.select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
            .values_list("pk", "status")[: settings.HOUSEKEEPING_BATCH]
        )
        if not moving:
            return 0
        Ticket.objects.filter(pk__in=[pk for pk, _status in moving]).update(
            status=status, updated_at=now, **fields
        )
        TicketEvent.objects.bulk_create(
            TicketEvent(
                ticket_id=pk,
                kind=TicketEvent.Kind.STATUS,
                data={"from": previous, "to": status, **data},
            )
            for pk, previous in moving
        )
    return len(moving)
