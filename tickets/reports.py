"""The dashboard's figures: pure reads over a bounded window of days, in a time zone.

Every figure is kept per day of the event it measures (tickets opened by the day opened,
SLA breaches by the day the due time passed, first responses by the day answered,
resolutions by the day solved, ratings by the day rated), so a day that has ended is
final and can be stored (``tickets.rollups``): ``days`` computes the ``Day`` figures of a
window's days, and ``dashboard`` assembles the admin home from them plus the counts of
right now.

``days`` runs a fixed number of aggregate queries, whatever the number of tickets or days:
one ``Count(filter=...)`` per day of the window, between that day's local midnights
(computed here, so the database compares plain timestamps: a ``TruncDate`` in a time zone
is a Python function per row on SQLite). Only the response times (for their medians and
90th percentiles, which SQLite cannot compute) come back as one duration per answered
ticket of the window. A window is the last ``days`` calendar days in ``tz``, today
included, so a ticket opened at 07:30 on the 5th in Shanghai (23:30 on the 4th in UTC)
counts on the 5th.

Medians over several days (the headline's first response over 7 days) come from each
day's histogram of durations in minutes rounded to two significant figures (within 5 %);
a day's own median and 90th percentile are exact.

The answers are plain values (dates, numbers, channel and category codes), for the
workspace to draw; nothing here renders or translates.
"""

import math
from collections import defaultdict
from dataclasses import astuple, dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncDate

from .models import Channel, Queue, Ticket
from .sla import warning_window

# How far back the headline's satisfaction average and the feedback topics look.
SATISFACTION_DAYS = 30
# Listed rather than "not solved or closed", so that the counts of right now read a range
# of the ``ticket_open_figures`` index alone.
OPEN = Q(
    status__in=[s for s in Ticket.Status if s not in (Ticket.Status.SOLVED, Ticket.Status.CLOSED)]
)


@dataclass(frozen=True)
class Window:
    """The last ``days`` calendar days in ``tz`` up to ``now``, today included."""

    now: datetime
    tz: tzinfo
    days: int

    @classmethod
    def ending(cls, last: date, tz: tzinfo, days: int) -> "Window":
        """The ``days`` days up to ``last``, seen from its last instant."""
        end = _midnight(last + timedelta(days=1), tz) - timedelta(microseconds=1)
        return cls(now=end, tz=tz, days=days)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    @property
    def dates(self) -> list[date]:
        return [self.today - timedelta(days=back) for back in range(self.days - 1, -1, -1)]

    @property
    def start(self) -> datetime:
        """Local midnight of the window's first day."""
        return _midnight(self.dates[0], self.tz)

    @property
    def end(self) -> datetime:
        """Local midnight after the window's last day."""
        return _midnight(self.today + timedelta(days=1), self.tz)

    @property
    def days_bounds(self) -> list[tuple[datetime, datetime]]:
        """Each day of the window as (its local midnight, the next one)."""
        return [
            (_midnight(day, self.tz), _midnight(day + timedelta(days=1), self.tz))
            for day in self.dates
        ]

    def since(self, days: int) -> datetime:
        """Local midnight ``days`` days back, today counted."""
        return _midnight(self.today - timedelta(days=days - 1), self.tz)


@dataclass(frozen=True)
class Times:
    """One day's response times: how many, their exact median and 90th percentile, and a
    histogram (minutes, rounded to two significant figures -> how many) for medians over
    several days."""

    count: int = 0
    median: timedelta | None = None
    p90: timedelta | None = None
    histogram: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Tally:
    """One day's feedback figures for a category or a queue."""

    tickets: int = 0  # opened that day
    rated: int = 0  # rated, by the day rated
    score: int = 0  # the sum of those ratings
    low: int = 0  # rated 1 or 2


@dataclass(frozen=True)
class Day:
    """Every figure of one day, each keyed by the day of the event it measures."""

    created: dict[str, int]  # channel -> tickets opened
    first_response_breaches: int
    resolution_breaches: int
    first_response: Times  # by the day of the first response
    resolution: Times  # by the day solved
    categories: dict[str, Tally]  # category code -> its feedback figures
    queues: dict[str, Tally]  # queue name ("" for none) -> the same


@dataclass(frozen=True)
class Open:
    """The open tickets of one queue (its id; None for no queue) right now."""

    queue: int | None
    open: int
    unassigned: int
    breaching: int


@dataclass(frozen=True)
class Headline:
    open: int
    unassigned: int
    breaching: int
    first_response_today: timedelta | None  # median of today's first responses
    first_response_week: timedelta | None  # median over the last 7 days
    satisfaction: float | None  # average score of the last 30 days
    rated: int


@dataclass(frozen=True)
class Durations:
    """Median and 90th percentile of a response time per day (None on a day without)."""

    median: list[timedelta | None]
    p90: list[timedelta | None]
    count: list[int]


@dataclass(frozen=True)
class Topic:
    name: str  # a category's code, or a queue's name ("" for no queue)
    tickets: int
    rated: int
    average: float | None
    low: int  # rated 1 or 2


@dataclass(frozen=True)
class Week:
    start: date
    average: float | None
    rated: int
    feedback_tickets: int


@dataclass(frozen=True)
class Comment:
    reference: str
    score: int
    comment: str
    category: str


@dataclass
class Dashboard:
    window: Window
    headline: Headline
    created: dict[str, list[int]]  # channel -> tickets opened per day of the window
    open_by_queue: list[tuple[str, int]]  # (queue name, or "" for none; open tickets)
    first_response_breaches: list[int]
    resolution_breaches: list[int]
    first_response: Durations
    resolution: Durations
    weeks: list[Week]
    topics: list[Topic]  # by category
    queues: list[Topic]  # the same by queue
    comments: list[Comment] = field(default_factory=list)


def figures_window(window: Window) -> Window:
    """The days whose figures the dashboard of ``window`` needs: its own, and the 30 days
    of the satisfaction figures."""
    return Window(now=window.now, tz=window.tz, days=max(window.days, SATISFACTION_DAYS))


def dashboard(window: Window, *, figures: dict[date, Day]) -> Dashboard:
    """Everything the admin home shows for ``window``, from the ``figures`` of each day of
    ``figures_window(window)``, and the counts of right now."""
    shown = [figures[day] for day in window.dates]
    opened = open_now(window.now)
    recent = [figures[day] for day in figures_window(window).dates]
    return Dashboard(
        window=window,
        headline=headline(window, figures, opened),
        created=_created(shown),
        open_by_queue=open_by_queue(opened),
        first_response_breaches=[day.first_response_breaches for day in shown],
        resolution_breaches=[day.resolution_breaches for day in shown],
        first_response=_durations([day.first_response for day in shown]),
        resolution=_durations([day.resolution for day in shown]),
        weeks=satisfaction_weeks(window, figures),
        topics=_topics([day.categories for day in recent]),
        queues=_topics([day.queues for day in recent]),
        comments=recent_comments(window),
    )


def headline(window: Window, figures: dict[date, Day], opened: list[Open]) -> Headline:
    """The counts of right now, today's and the week's first-response medians, and the
    satisfaction of the last 30 days, from the days' figures."""
    week = _merged([figures[day].first_response.histogram for day in window.dates[-7:]])
    rated = _sum(
        [t for day in _satisfaction_days(window) for t in figures[day].categories.values()]
    )
    return Headline(
        open=sum(queue.open for queue in opened),
        unassigned=sum(queue.unassigned for queue in opened),
        breaching=sum(queue.breaching for queue in opened),
        first_response_today=figures[window.today].first_response.median,
        first_response_week=_histogram_median(week),
        satisfaction=_average(rated),
        rated=rated.rated,
    )


def days_figures(window: Window) -> dict[date, Day]:
    """The ``Day`` figures of each day of ``window``: seven queries, whatever the days."""
    created = _counts(Ticket.objects.all(), "created_at", window.days_bounds, by="channel")
    first_breaches = breaches(window, "first_response_due", "first_responded_at")
    resolution_breaches = breaches(window, "resolution_due", "solved_at")
    first_response = response_times(window, "first_responded_at")
    resolution = response_times(window, "solved_at")
    categories = _tallies(window, "category")
    queues = _tallies(window, "queue__name")
    return {
        day: Day(
            created=_on(created, i, 0),
            first_response_breaches=first_breaches[i],
            resolution_breaches=resolution_breaches[i],
            first_response=first_response.get(day, Times()),
            resolution=resolution.get(day, Times()),
            categories=_on(categories, i, Tally()),
            queues=_on(queues, i, Tally()),
        )
        for i, day in enumerate(window.dates)
    }


def open_now(now: datetime) -> list[Open]:
    """The open tickets of right now per queue: one query, which reads the
    ``ticket_open_figures`` index alone (grouped by status first, its order)."""
    late = Q(sla_due__lte=now + warning_window())  # the inbox's "Breaching SLA" (tickets.sla)
    rows = (
        Ticket.objects.filter(OPEN)
        .values("status", "queue_id")
        .annotate(
            open=Count("id"),
            unassigned=Count("id", filter=Q(assignee__isnull=True)),
            breaching=Count("id", filter=late),
        )
        .order_by()
    )
    by_queue: dict[int | None, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        counts = by_queue[row["queue_id"]]
        for i, name in enumerate(("open", "unassigned", "breaching")):
            counts[i] += row[name]
    return [Open(queue, *counts) for queue, counts in by_queue.items()]


def open_by_queue(opened: list[Open]) -> list[tuple[str, int]]:
    """Open tickets per queue name, the largest first; "" for tickets in no queue, last
    of its size."""
    ids = [queue.queue for queue in opened if queue.queue is not None]
    names = dict(Queue.objects.filter(pk__in=ids).values_list("pk", "name"))
    rows = [(names.get(queue.queue, ""), queue.open) for queue in opened]
    return sorted(rows, key=lambda row: (-row[1], row[0] == "", row[0]))


def breaches(window: Window, due: str, met: str) -> list[int]:
    """Per day of the window, the tickets whose ``due`` time fell that day and was missed:
    met after it, or not met and already past."""
    missed = Q(**{f"{met}__gt": F(due)}) | Q(**{f"{met}__isnull": True, f"{due}__lt": window.now})
    return _counts(Ticket.objects.filter(missed), due, window.days_bounds)


def response_times(window: Window, end: str) -> dict[date, Times]:
    """Per day of ``end`` in the window (the first response, or the solving), the times
    from the tickets' opening to it; days without any are left out."""
    took = ExpressionWrapper(F(end) - F("created_at"), output_field=DurationField())
    rows = (
        Ticket.objects.filter(**{f"{end}__gte": window.start, f"{end}__lt": window.end})
        .annotate(day=TruncDate(end, tzinfo=window.tz), took=took)
        .values_list("day", "took")
    )
    by_day: dict[date, list[timedelta]] = defaultdict(list)
    for day, duration in rows:
        by_day[day].append(duration)
    return {day: _times(durations) for day, durations in by_day.items()}


def satisfaction_weeks(window: Window, figures: dict[date, Day]) -> list[Week]:
    """Per week (Monday first) of the last 30 days, the average rating given that week
    with the number rated, and the feedback tickets opened that week."""
    days = _satisfaction_days(window)
    weeks: dict[date, list[dict[str, Tally]]] = defaultdict(list)
    for day in days:
        weeks[_monday(day)].append(figures[day].categories)
    return [_week(monday, weeks[monday]) for monday in _mondays(_monday(days[0]), window.today)]


def recent_comments(window: Window, limit: int = 5) -> list[Comment]:
    """The latest customers' comments with their rating, from the last 30 days."""
    rows = (
        Ticket.objects.filter(
            satisfaction_score__isnull=False,
            satisfaction_rated_at__gte=window.since(SATISFACTION_DAYS),
        )
        .exclude(satisfaction_comment="")
        .order_by("-satisfaction_rated_at", "-id")
        .values_list("reference", "satisfaction_score", "satisfaction_comment", "category")[:limit]
    )
    return [Comment(*row) for row in rows]


def percentile(values: list, fraction: float):
    """The nearest-rank percentile: the smallest value with ``fraction`` of them at or
    below it (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _counts(queryset, field: str, bounds: list[tuple[datetime, datetime]], *, by: str = ""):
    """How many rows of ``queryset`` have ``field`` within each (start, end) of ``bounds``:
    a list, or with ``by`` a dict of lists by that column's values. One query."""
    counts = {
        f"n{i}": Count("id", filter=Q(**{f"{field}__gte": start, f"{field}__lt": end}))
        for i, (start, end) in enumerate(bounds)
    }
    within = queryset.filter(**{f"{field}__gte": bounds[0][0], f"{field}__lt": bounds[-1][1]})
    if not by:
        row = within.aggregate(**counts)
        return [row[name] for name in counts]
    rows = within.values(by).annotate(**counts).order_by()
    return {row[by]: [row[name] for name in counts] for row in rows}


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _mondays(first: date, last: date) -> list[date]:
    weeks = (last - first).days // 7 + 1
    return [first + timedelta(weeks=n) for n in range(weeks)]


def _on(series: dict[str, list], i: int, empty) -> dict:
    """The ``i``-th day of per-key series, keys without anything that day left out."""
    return {key: values[i] for key, values in series.items() if values[i] != empty}


def bucket(duration: timedelta) -> int:
    """A duration in whole minutes rounded to two significant figures: 7, 25, 180, 2900."""
    minutes = round(duration.total_seconds() / 60)
    if minutes < 100:
        return minutes
    return round(minutes, 2 - len(str(minutes)))


def _times(durations: list[timedelta]) -> Times:
    histogram: dict[int, int] = defaultdict(int)
    for duration in durations:
        histogram[bucket(duration)] += 1
    return Times(
        count=len(durations),
        median=_median(durations),
        p90=percentile(durations, 0.9),
        histogram=dict(histogram),
    )


def _merged(histograms: list[dict[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = defaultdict(int)
    for histogram in histograms:
        for minutes, count in histogram.items():
            merged[minutes] += count
    return merged


def _histogram_median(histogram: dict[int, int]) -> timedelta | None:
    """The median of a histogram's durations, as ``_median`` takes it of a list."""
    total = sum(histogram.values())
    if not total:
        return None
    middle = [_nth(histogram, (total - 1) // 2), _nth(histogram, total // 2)]
    return timedelta(minutes=sum(middle) / 2)


def _nth(histogram: dict[int, int], index: int) -> int:
    """The ``index``-th (from 0) smallest duration of a histogram, in minutes."""
    seen = 0
    for minutes in sorted(histogram):
        seen += histogram[minutes]
        if index < seen:
            return minutes
    raise IndexError(index)


def _created(days: list[Day]) -> dict[str, list[int]]:
    """Tickets opened per channel per day; only channels with a ticket in those days, in
    the channels' own order."""
    series = {channel: [day.created.get(channel, 0) for day in days] for channel in Channel.values}
    return {channel: counts for channel, counts in series.items() if any(counts)}


def _durations(days: list[Times]) -> Durations:
    return Durations(
        median=[day.median for day in days],
        p90=[day.p90 for day in days],
        count=[day.count for day in days],
    )


def _topics(days: list[dict[str, Tally]]) -> list[Topic]:
    """Per category or queue, the days' tallies summed; the busiest first, "" last of its
    size."""
    by_key: dict[str, list[Tally]] = defaultdict(list)
    for day in days:
        for key, tally in day.items():
            by_key[key].append(tally)
    sums = {key: _sum(tallies) for key, tallies in by_key.items()}
    topics = [Topic(key, t.tickets, t.rated, _average(t), t.low) for key, t in sums.items()]
    return sorted(topics, key=lambda topic: (-topic.tickets, topic.name == "", topic.name))


def _sum(tallies: list[Tally]) -> Tally:
    return Tally(*(sum(column) for column in zip(*map(astuple, tallies), strict=True)))


def _average(tally: Tally) -> float | None:
    return tally.score / tally.rated if tally.rated else None


def _week(monday: date, days: list[dict[str, Tally]]) -> Week:
    """A week's ratings (by the day solved) and feedback tickets (by the day opened)."""
    total = _sum([tally for day in days for tally in day.values()])
    feedback = sum(day.get(Ticket.Category.FEEDBACK, Tally()).tickets for day in days)
    return Week(monday, _average(total), total.rated, feedback)


def _satisfaction_days(window: Window) -> list[date]:
    return figures_window(window).dates[-SATISFACTION_DAYS:]


def _tallies(window: Window, by: str) -> dict[str, list[Tally]]:
    """Per value of ``by`` (``"category"`` or ``"queue__name"``), a ``Tally`` per day of the
    window: one query."""
    rated = Q(satisfaction_score__isnull=False)
    columns = {}
    for i, (start, end) in enumerate(window.days_bounds):
        solved = rated & Q(satisfaction_rated_at__gte=start, satisfaction_rated_at__lt=end)
        columns |= {
            f"t{i}": Count("id", filter=Q(created_at__gte=start, created_at__lt=end)),
            f"r{i}": Count("id", filter=solved),
            f"s{i}": Sum("satisfaction_score", filter=solved),
            f"l{i}": Count("id", filter=solved & Q(satisfaction_score__lte=2)),
        }
    within = Q(created_at__gte=window.start, created_at__lt=window.end) | rated & Q(
        satisfaction_rated_at__gte=window.start, satisfaction_rated_at__lt=window.end
    )
    rows = Ticket.objects.filter(within).values(by).annotate(**columns).order_by()
    return {
        row[by] or "": [
            Tally(row[f"t{i}"], row[f"r{i}"], row[f"s{i}"] or 0, row[f"l{i}"])
            for i in range(window.days)
        ]
        for row in rows
    }
