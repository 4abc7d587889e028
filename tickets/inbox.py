"""The agents' inbox: its saved views, their order and their counts (how near each
ticket is to its SLA due time is tickets.sla's).

A saved view is a filter on tickets (open ones mine, unassigned, breaching the SLA,
waiting on the customer, all open, all). The inbox reads them in one order: SLA due
first (the generated column ``Ticket.sla_due``, empty while the clock stops: pending,
solved or closed), then priority, highest first, then last activity. The indexes on
``sla_due`` (tickets.models) serve that order behind each view's filter, so a page of
50 costs the same at a thousand tickets or fifty thousand.

Counts never scan the whole table: each is counted up to ``COUNT_CAP`` (shown as
"999+"), all views in one query. An agent needs to know that a view has work in it and
roughly how much, not the exact size of a backlog of thousands.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from .models import Ticket
from .sla import warning_window

# "Open" is said as "not done": a NOT IN is no index key, so the database reads the
# order's index and skips the few done tickets, instead of gathering every open ticket
# by status and sorting them all (SQLite chose that, 5x slower at 50,000 tickets).
DONE = Q(status__in=[Ticket.Status.SOLVED, Ticket.Status.CLOSED])
OPEN = ~DONE
COUNT_CAP = 1000

# The inbox's order; the indexes inbox_due, inbox_assignee_due and inbox_status_due follow it.
ORDER = [
    F("sla_due").asc(nulls_last=True),
    F("priority").desc(),
    F("last_message_at").desc(),
    F("id").desc(),
]


@dataclass(frozen=True)
class View:
    slug: str
    label: str
    condition: Callable[[object, datetime], Q]  # (the agent, now) -> the view's filter


VIEWS = [
    View("mine", _("Mine"), lambda user, now: OPEN & Q(assignee=user)),
    View("unassigned", _("Unassigned"), lambda user, now: OPEN & Q(assignee__isnull=True)),
    # Late, or due within the warning window (tickets.sla.breaching's condition).
    View("breaching", _("Breaching SLA"), lambda user, now: Q(sla_due__lte=now + warning_window())),
    View("pending", _("Waiting on customer"), lambda user, now: Q(status=Ticket.Status.PENDING)),
    View("open", _("All open"), lambda user, now: OPEN),
    View("all", _("All"), lambda user, now: Q()),
]
BY_SLUG = {view.slug: view for view in VIEWS}
DEFAULT_VIEW = "open"
ALL = "all"


def view_for(slug: str | None) -> View:
    """The saved view named ``slug``; the default (all open) for none or an unknown one."""
    return BY_SLUG.get(slug or DEFAULT_VIEW, BY_SLUG[DEFAULT_VIEW])


def in_view(queryset: QuerySet[Ticket], slug: str | None, user, now: datetime) -> QuerySet:
    return queryset.filter(view_for(slug).condition(user, now))


def counts(queryset: QuerySet[Ticket], user, now: datetime) -> dict[str, int]:
    """Each view's number of tickets, up to COUNT_CAP, in one query: a count of each
    view's first COUNT_CAP rows (read from an index), never of the whole table."""
    parts, params = [], []
    for view in VIEWS:
        capped = queryset.filter(view.condition(user, now)).order_by().values("pk")[:COUNT_CAP]
        sql, view_params = capped.query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS {view.slug}_rows)")  # noqa: S608
        params.extend(view_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return {view.slug: number for view, number in zip(VIEWS, row, strict=True)}
