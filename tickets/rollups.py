"""The dashboard's past days, computed once and stored.

Every figure of ``tickets.reports`` is keyed by the day of the event it measures, so a day
that has ended is final: its figures are computed by the first dashboard read that misses
them (every missing day at once, in a fixed number of queries), stored as one
``DailyStats`` row per (time zone, day) — the day's boundaries depend on the time zone —
and read ever after. Only today, and the counts of right now, are computed on each read:
the dashboard's cost follows one day's tickets, not the table's.

The actions that change a ticket's past (a rating given days after the solving, which
counts on the day solved; a solved ticket reopened; new details: category, queue, the due
times of a new priority) call ``forget_ticket``, which drops the stored days that may
count it; the next read computes them again. A change made outside the actions (a direct
update, the demo's back-dated history) is not seen until ``forget`` or ``manage.py
rollup_dashboard --recompute``.
"""

from datetime import UTC, date, datetime, timedelta, tzinfo

from . import reports
from .models import DailyStats, Ticket
from .reports import Day, Tally, Times

# How long after its midnight a day is stored: the writes still open at midnight have
# committed by then. Until then yesterday is computed live with today.
SETTLE = timedelta(minutes=5)


def dashboard(*, now: datetime, tz: tzinfo, days: int = 14) -> reports.Dashboard:
    """The admin home's figures: the stored ended days (computed first where missing),
    today computed live."""
    window = reports.Window(now=now, tz=tz, days=days)
    dates = reports.figures_window(window).dates
    settled = (now - SETTLE).astimezone(tz).date()
    ended = [day for day in dates if day < settled]
    figures = ensure(tz, ended)
    live = reports.Window(now=now, tz=tz, days=len(dates) - len(ended))
    return reports.dashboard(window, figures=figures | reports.days_figures(live))


def ensure(tz: tzinfo, days: list[date]) -> dict[date, Day]:
    """The figures of ``days`` (ended days, in order) in ``tz``: those stored, the missing
    ones computed and stored. One query when none is missing."""
    rows = DailyStats.objects.filter(time_zone=str(tz), day__gte=days[0], day__lte=days[-1])
    stored = {row.day: decode(row.figures) for row in rows}
    missing = [day for day in days if day not in stored]
    if not missing:
        return stored
    return compute(tz, missing[0], missing[-1]) | stored


def compute(tz: tzinfo, first: date, last: date) -> dict[date, Day]:
    """Compute the figures of the ended days ``first`` to ``last`` in ``tz``, and store
    those not stored yet (a concurrent read may have stored them first)."""
    window = reports.Window.ending(last, tz, days=(last - first).days + 1)
    figures = reports.days_figures(window)
    DailyStats.objects.bulk_create(
        [DailyStats(day=day, time_zone=str(tz), figures=encode(f)) for day, f in figures.items()],
        ignore_conflicts=True,
    )
    return figures


def forget(*, since: date, until: date | None = None) -> int:
    """Drop the stored days from ``since`` (to ``until``), in every time zone: the next
    read computes them again. How many were dropped."""
    rows = DailyStats.objects.filter(day__gte=since)
    if until is not None:
        rows = rows.filter(day__lte=until)
    return rows.delete()[0]


def forget_ticket(ticket: Ticket) -> None:
    """Drop the stored days that may count ``ticket`` (around each of its moments, in any
    time zone): an action changes it after the fact, and the next read computes them
    again. Call it with the ticket as it was."""
    moments = [
        ticket.created_at,
        ticket.first_responded_at,
        ticket.solved_at,
        ticket.first_response_due,
        ticket.resolution_due,
    ]
    days = {
        moment.astimezone(UTC).date() + timedelta(days=shift)
        for moment in moments
        if moment is not None
        for shift in (-1, 0, 1)  # the local day is within one of the UTC day
    }
    DailyStats.objects.filter(day__in=days).delete()


def encode(day: Day) -> dict:
    """A day's figures as JSON: durations in seconds, tallies as lists."""
    return {
        "created": day.created,
        "first_response_breaches": day.first_response_breaches,
        "resolution_breaches": day.resolution_breaches,
        "first_response": _encode_times(day.first_response),
        "resolution": _encode_times(day.resolution),
        "categories": _encode_tallies(day.categories),
        "queues": _encode_tallies(day.queues),
    }


def decode(figures: dict) -> Day:
    return Day(
        created=figures["created"],
        first_response_breaches=figures["first_response_breaches"],
        resolution_breaches=figures["resolution_breaches"],
        first_response=_decode_times(figures["first_response"]),
        resolution=_decode_times(figures["resolution"]),
        categories={key: Tally(*values) for key, values in figures["categories"].items()},
        queues={key: Tally(*values) for key, values in figures["queues"].items()},
    )


def _encode_times(times: Times) -> dict:
    return {
        "count": times.count,
        "median": _seconds(times.median),
        "p90": _seconds(times.p90),
        "histogram": {str(minutes): n for minutes, n in times.histogram.items()},
    }


def _decode_times(times: dict) -> Times:
    return Times(
        count=times["count"],
        median=_duration(times["median"]),
        p90=_duration(times["p90"]),
        histogram={int(minutes): n for minutes, n in times["histogram"].items()},
    )


def _encode_tallies(tallies: dict[str, Tally]) -> dict[str, list[int]]:
    return {key: [t.tickets, t.rated, t.score, t.low] for key, t in tallies.items()}


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _duration(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)
