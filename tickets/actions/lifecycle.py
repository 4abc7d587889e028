"""A ticket's own life: opening it, who holds it, its status and its details. Each change is
one action, in one transaction, with its TicketEvent (who did what, from what to what).
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, CharField, Value, When
from django.db.models.functions import Cast, Concat, LPad
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from accounts.permissions import WORK_TICKETS, is_agent, require_permission

from .. import personal_data, rollups, survey
from ..models import Channel, Queue, SLAPolicy, Ticket, TicketEvent
from .routing import Router, routed_event
from .survey import ask_for_rating

# --- opening --------------------------------------------------------------------------------


def open_ticket(
    *,
    customer: Customer,
    channel: str,
    subject: str,
    acting_user,
    category: str = Ticket.Category.OTHER,
    priority: int = Ticket.Priority.NORMAL,
    queue: Queue | None = None,
    wallet=None,
    follows_up: Ticket | None = None,
) -> Ticket:
    """Create a ticket with its reference. Without a ``queue``, the routing rules choose one
    (by the channel and the subject). Runs inside the caller's transaction or its own."""
    route = None
    if queue is None:
        route = Router.load().route(
            channel=channel, text=subject, category=category, priority=priority
        )
    if route is not None:
        queue, category, priority = route.queue, route.category, route.priority
    with transaction.atomic(savepoint=False):
        ticket = new_ticket(
            customer=customer,
            channel=channel,
            subject=subject,
            category=category,
            priority=priority,
            queue=queue,
            wallet=wallet,
            follows_up=follows_up,
            now=timezone.now(),
        )
        ticket.save()
        ticket.reference = reference(ticket)
        ticket.save(update_fields=["reference"])
        created_event(ticket, acting_user=acting_user).save()
        if route is not None:
            routed_event(ticket, route).save()
    return ticket


def new_ticket(
    *,
    customer,
    channel,
    subject,
    now,
    priority=Ticket.Priority.NORMAL,
    category=Ticket.Category.OTHER,
    policies=None,
    **fields,
):
    """An unsaved ticket with its SLA due times (saved by `open_ticket`, or in bulk, which
    passes the `sla_policies` it read once)."""
    first_response, resolution = sla_due(now, priority, category, policies=policies)
    return Ticket(
        customer=customer,
        channel=channel,
        # The subject a customer wrote may hold their card or ID number: the ticket keeps
        # its masked form, like the message it comes from (tickets.actions.thread).
        subject=personal_data.protect(str(subject)).text[:255],
        priority=priority,
        category=category,
        last_message_at=now,
        first_response_due=first_response,
        resolution_due=resolution,
        **fields,
    )


def reference(ticket: Ticket) -> str:
    # The primary key is unique by construction, so the reference is too, however many
    # tickets are opened at the same moment.
    return f"{settings.TICKET_REFERENCE_PREFIX}-{ticket.pk:06d}"


# `reference` in SQL, for many new tickets in one UPDATE: the key padded to six digits.
REFERENCE_SQL = Concat(
    Value(f"{settings.TICKET_REFERENCE_PREFIX}-"),
    Case(
        When(pk__lt=10**6, then=LPad(Cast("pk", CharField()), 6, Value("0"))),
        default=Cast("pk", CharField()),
    ),
)


def created_event(ticket: Ticket, *, acting_user) -> TicketEvent:
    follows_up = ticket.follows_up
    return TicketEvent(
        ticket=ticket,
        kind=TicketEvent.Kind.CREATED,
        actor=acting_user,
        data={
            "channel": ticket.channel,
            "follows_up": follows_up.reference if follows_up else None,
        },
    )


def sla_policies() -> dict[tuple[int, str], SLAPolicy]:
    """The active SLA policies by (priority, category), in one query."""
    return {
        (policy.priority, policy.category): policy
        for policy in SLAPolicy.objects.filter(active=True)
    }


def sla_policy(policies: dict, priority: int, category: str) -> SLAPolicy | None:
    """The policy for a ticket: its category's own row first, then the priority's row."""
    return policies.get((priority, category)) or policies.get((priority, ""))


def sla_due(start, priority: int, category: str = "", *, policies: dict | None = None):
    """(first response due, resolution due) for a ticket of ``priority`` and ``category``
    opened at ``start``: by its SLA policy, else by settings.TICKET_SLA_HOURS.

    The setting is looked up by the priority's name, never its label: the label is
    translated, and under the Chinese interface no due time was ever found.
    """
    if policies is None:
        policies = sla_policies()
    policy = sla_policy(policies, priority, category)
    if policy is not None:
        return (
            start + timedelta(minutes=policy.first_response_minutes),
            start + timedelta(minutes=policy.resolution_minutes),
        )
    hours = settings.TICKET_SLA_HOURS.get(Ticket.Priority(priority).name.lower())
    if not hours:
        return None, None
    first_response, resolution = hours
    return start + timedelta(hours=first_response), start + timedelta(hours=resolution)


# --- who holds it ---------------------------------------------------------------------------


@transaction.atomic
def assign(ticket: Ticket, *, acting_user, assignee, queue: Queue | None = None) -> Ticket:
    """Give the ticket to an agent (or to nobody, with ``assignee=None``), and with
    ``queue`` to that queue as well (a chat sent back to a queue to wait there)."""
    require_permission(acting_user, WORK_TICKETS)
    return _assign(ticket, actor=acting_user, assignee=assignee, queue=queue)


@transaction.atomic
def assign_automatically(ticket: Ticket, *, assignee) -> Ticket:
    """The system gives the ticket to ``assignee`` (a chat's auto-assignment): recorded
    with no human actor."""
    return _assign(ticket, actor=None, assignee=assignee, queue=None)


def _assign(ticket: Ticket, *, actor, assignee, queue: Queue | None) -> Ticket:
    if assignee is not None and not is_agent(assignee):
        raise ValidationError(_("Tickets can only be assigned to agents."))
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    to = assignee.pk if assignee else None
    if ticket.assignee_id == to and (queue is None or ticket.queue_id == queue.pk):
        return ticket
    data = {"from": ticket.assignee_id, "to": to}
    fields = ["assignee", "updated_at"]
    ticket.assignee = assignee
    if queue is not None:
        data["queue"] = queue.slug
        ticket.queue = queue
        fields.append("queue")
    if actor is None:
        data["by"] = "auto"
    ticket.save(update_fields=fields)
    TicketEvent.objects.create(
        ticket=ticket, kind=TicketEvent.Kind.ASSIGNED, actor=actor, data=data
    )
    return ticket


# --- status ---------------------------------------------------------------------------------


@transaction.atomic
def change_status(ticket: Ticket, *, acting_user, status: str) -> Ticket:
    """Move the ticket to ``status``. A closed ticket stays closed (a follow-up is opened)."""
    require_permission(acting_user, WORK_TICKETS)
    if status not in Ticket.Status.values:
        raise ValidationError(_("Unknown status %(status)s."), params={"status": status})
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status == status:
        return ticket
    if ticket.status == Ticket.Status.CLOSED:
        raise ValidationError(
            _("A closed ticket cannot be reopened; open a follow-up instead."), code="ticket_closed"
        )
    previous = ticket.status
    if ticket.solved_at is not None and status != Ticket.Status.CLOSED:
        rollups.forget_ticket(ticket)  # reopened: no longer solved on that day
    now = timezone.now()
    ticket.status = status
    ticket.solved_at = (
        now
        if status == Ticket.Status.SOLVED
        else (ticket.solved_at if status == Ticket.Status.CLOSED else None)
    )
    ticket.closed_at = now if status == Ticket.Status.CLOSED else None
    ticket.save(update_fields=["status", "solved_at", "closed_at", "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.STATUS,
        actor=acting_user,
        data={"from": previous, "to": status},
    )
    if status == Ticket.Status.SOLVED:
        ask_for_rating(ticket)
    return ticket


# --- the customer's rating -----------------------------------------------------------------


def validate_rating(score) -> None:
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationError(_("A rating is a whole number from 1 to 5."))


@transaction.atomic
def record_rating(ticket: Ticket, *, score, comment: str = "", channel: str) -> Ticket:
    """The customer rates how they were helped (1 to 5, and a comment), from ``channel``;
    a later rating replaces an earlier one, and each is in the history."""
    validate_rating(score)
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    rollups.forget_ticket(ticket)  # a rating counts on the day solved, perhaps days ago
    ticket.satisfaction_score = score
    ticket.satisfaction_comment = (comment or "").strip()[:2000]
    ticket.satisfaction_rated_at = timezone.now()
    ticket.save(
        update_fields=[
            "satisfaction_score",
            "satisfaction_comment",
            "satisfaction_rated_at",
            "updated_at",
        ]
    )
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.RATED,
        data={
            "score": score,
            "channel": channel,
            **({"comment": ticket.satisfaction_comment} if ticket.satisfaction_comment else {}),
        },
    )
    return ticket


@transaction.atomic
def rate_by_link(ticket: Ticket, *, score, comment: str = "") -> Ticket:
    """The customer's rating from the survey's link (tickets.survey): refused when they
    rated the ticket since it was last solved, so the first answer stands and a replayed
    form changes nothing; a ticket reopened and solved again asks again."""
    validate_rating(score)
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if survey.rated_since_solved(ticket):
        raise ValidationError(_("You have already rated this request."), code="rated")
    return record_rating(ticket, score=score, comment=comment, channel=Channel.EMAIL)


# --- details --------------------------------------------------------------------------------

# The fields an agent edits in the ticket form; status and assignee have their own actions.
DETAILS = ("subject", "category", "priority", "queue", "wallet", "related_transaction")


@transaction.atomic
def update_details(ticket: Ticket, *, acting_user, **values) -> Ticket:
    """An agent corrects the ticket's details (``DETAILS``): one "details changed" event
    naming each field's old and new value; a new priority or category moves the SLA due times
    (from the ticket's opening, as if it had had them from the start)."""
    require_permission(acting_user, WORK_TICKETS)
    unknown = set(values) - set(DETAILS)
    if unknown:
        raise ValueError(f"not a ticket detail: {sorted(unknown)}")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    changes = {}
    for name, value in values.items():
        field = Ticket._meta.get_field(name)
        old = getattr(ticket, field.attname)
        new = value.pk if field.is_relation and value is not None else value
        if old != new:
            changes[name] = [_shown(old), _shown(new)]
            setattr(ticket, field.attname, new)
    if not changes:
        return ticket
    fields = [Ticket._meta.get_field(name).attname for name in changes]
    rollups.forget_ticket(ticket)  # its category, queue or due times on the days that count it
    if "priority" in changes or "category" in changes:
        ticket.first_response_due, ticket.resolution_due = sla_due(
            ticket.created_at, ticket.priority, ticket.category
        )
        fields += ["first_response_due", "resolution_due"]
        rollups.forget_ticket(ticket)
    ticket.save(update_fields=[*fields, "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket, kind=TicketEvent.Kind.CHANGED, actor=acting_user, data=changes
    )
    return ticket


def _shown(value):
    """A field's value as the history keeps it (JSON): ids, choices and text as they are."""
    return value if value is None or isinstance(value, int | str) else str(value)
