"""The admin home: the support team's dashboard, above Django's list of models.

The figures are ``tickets.rollups.dashboard`` for the last 14 days in the agent's time
zone: the ended days stored once, today and the counts of right now computed on each
visit (a fixed number of queries, whatever the data); this module turns them into headline
cards, the charts of ``workspace.charts`` (labels in the agent's language) and the
feedback report. Agents see the team's figures, read only; supervisors (who manage the
queues) also get links into the ticket list behind them. Staff without the ticket
permissions see the models list only.
"""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import npgettext, pgettext

from accounts.permissions import is_agent
from tickets.models import Channel, Ticket
from tickets.rollups import dashboard

from . import charts

DAYS = 14
# Who gets the links into the ticket lists behind the figures: supervisors, who manage the
# queues whose load the dashboard shows.
REPORT_LINKS_PERMISSION = "tickets.change_queue"
WIDE, NARROW = 960, 480  # the charts' drawing widths, about their size on a 1366 px screen
NONE = "\N{EN DASH}"  # a figure with no data yet


def context(request) -> dict:
    """The template's context for the admin home; nothing for staff who are not agents."""
    if not is_agent(request.user):
        return {}
    figures = dashboard(now=timezone.now(), tz=timezone.get_current_timezone(), days=DAYS)
    days = [_day(day) for day in figures.window.dates]
    return {
        "cards": _cards(figures.headline),
        "charts": _charts(figures, days),
        "topics": [
            _topic(topic, str(Ticket.Category(topic.name).label)) for topic in figures.topics
        ],
        "queues": [
            _topic(topic, topic.name or pgettext("dashboard", "No queue"))
            for topic in figures.queues
        ],
        "comments": figures.comments,
        "report_links": _report_links() if request.user.has_perm(REPORT_LINKS_PERMISSION) else [],
        "window_days": DAYS,
    }


def duration_text(value: timedelta | None) -> str:
    """A response time as people say it: 12 min, 3 h 05 min, 2 d 4 h; a dash for none."""
    if value is None:
        return NONE
    minutes = round(value.total_seconds() / 60)
    if minutes < 60:
        return pgettext("dashboard", "%(minutes)d min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return pgettext("dashboard", "%(hours)d h %(minutes)02d min") % {
            "hours": hours,
            "minutes": minutes,
        }
    days, hours = divmod(hours, 24)
    return pgettext("dashboard", "%(days)d d %(hours)d h") % {"days": days, "hours": hours}


def _hours_tick(hours: float) -> str:
    """A time axis' tick, short: 0, 30 min, 2.5 h."""
    if not hours:
        return "0"
    if hours < 1:
        return pgettext("dashboard", "%(minutes)d min") % {"minutes": round(hours * 60)}
    return pgettext("dashboard", "%(hours)s h") % {"hours": charts.compact(hours)}


def _cards(headline) -> list[dict]:
    today, week = headline.first_response_today, headline.first_response_week
    trend = ""
    if today is not None and week is not None and today != week:
        trend = "better" if today < week else "worse"
    score = headline.satisfaction
    return [
        {
            "label": pgettext("dashboard", "Open tickets"),
            "value": headline.open,
            "css": "card-open",
        },
        {
            "label": pgettext("dashboard", "Unassigned"),
            "value": headline.unassigned,
            "css": "card-unassigned",
        },
        {
            "label": pgettext("dashboard", "Breaching SLA now"),
            "value": headline.breaching,
            "css": "card-breaching" if headline.breaching else "card-ok",
        },
        {
            "label": pgettext("dashboard", "First response today (median)"),
            "value": duration_text(today),
            "note": pgettext("dashboard", "7 days: %(median)s") % {"median": duration_text(week)},
            "css": f"card-trend-{trend}" if trend else "card-neutral",
        },
        {
            "label": pgettext("dashboard", "Satisfaction, 30 days"),
            "value": f"{score:.1f} / 5" if score is not None else NONE,
            "note": npgettext("dashboard", "%(count)d rating", "%(count)d ratings", headline.rated)
            % {"count": headline.rated},
            "css": "card-satisfaction",
        },
    ]


def _charts(figures, days: list[str]) -> list[dict]:
    channel_series = [
        charts.Series(str(Channel(code).label), f"series-{code}", counts)
        for code, counts in figures.created.items()
    ]
    queues = [
        (name or pgettext("dashboard", "No queue"), count) for name, count in figures.open_by_queue
    ]
    breaches = [
        charts.Series(
            pgettext("dashboard", "First response"), "series-first", figures.first_response_breaches
        ),
        charts.Series(
            pgettext("dashboard", "Resolution"), "series-resolution", figures.resolution_breaches
        ),
    ]
    weeks = [_day(week.start) for week in figures.weeks]
    scores = [
        charts.Series(
            pgettext("dashboard", "Average score"),
            "series-score",
            [week.average for week in figures.weeks],
        )
    ]
    ratings = [
        charts.Series(
            pgettext("dashboard", "Ratings"), "series-rated", [w.rated for w in figures.weeks]
        ),
        charts.Series(
            pgettext("dashboard", "Feedback tickets"),
            "series-feedback",
            [w.feedback_tickets for w in figures.weeks],
        ),
    ]
    return [
        _wide(
            charts.stacked_bars,
            pgettext("dashboard", "Tickets per channel per day"),
            days,
            channel_series,
        ),
        _narrow(
            charts.horizontal_bars,
            pgettext("dashboard", "Open tickets by queue"),
            queues,
            "series-queue",
        ),
        _narrow(charts.grouped_bars, pgettext("dashboard", "SLA breaches per day"), days, breaches),
        _times(pgettext("dashboard", "First response time"), days, figures.first_response),
        _times(pgettext("dashboard", "Resolution time"), days, figures.resolution),
        _narrow(
            charts.lines,
            pgettext("dashboard", "Satisfaction per week (average score)"),
            weeks,
            scores,
            maximum=5,
        ),
        _narrow(
            charts.grouped_bars,
            pgettext("dashboard", "Ratings and feedback per week"),
            weeks,
            ratings,
        ),
    ]


def _times(title: str, days: list[str], durations) -> dict:
    """A response-time chart: median and 90th percentile per day, in hours."""

    def hours(values):
        return [None if v is None else v.total_seconds() / 3600 for v in values]

    series = [
        charts.Series(pgettext("dashboard", "Median"), "series-median", hours(durations.median)),
        charts.Series(pgettext("dashboard", "90th percentile"), "series-p90", hours(durations.p90)),
    ]
    return _narrow(charts.lines, title, days, series, tick=_hours_tick)


def _topic(topic, name: str) -> dict:
    average = topic.average
    return {
        "name": name,
        "tickets": topic.tickets,
        "rated": topic.rated,
        "average": f"{average:.1f}" if average is not None else NONE,
        "score_css": _score_css(average),
        "low": topic.low,
    }


def _score_css(average: float | None) -> str:
    if average is None:
        return "score-none"
    return "score-good" if average >= 4 else "score-fair" if average >= 3 else "score-poor"


def _report_links() -> list[tuple[str, str]]:
    tickets = reverse("admin:tickets_ticket_changelist")
    return [
        (pgettext("dashboard", "Open tickets"), f"{tickets}?status__exact=open"),
        (pgettext("dashboard", "New tickets"), f"{tickets}?status__exact=new"),
        (pgettext("dashboard", "Unassigned"), f"{tickets}?assignee__isnull=True"),
        (pgettext("dashboard", "Feedback and suggestions"), f"{tickets}?category__exact=feedback"),
        (pgettext("dashboard", "Solved tickets"), f"{tickets}?status__exact=solved"),
    ]


def _day(day) -> str:
    return f"{day.month}/{day.day}"


def _wide(draw, *args, **options) -> dict:
    """A chart across the whole main column."""
    return {"chart": draw(*args, width=WIDE, **options), "css": "chart-wide"}


def _narrow(draw, *args, **options) -> dict:
    """A chart in one of the main column's two halves."""
    return {"chart": draw(*args, width=NARROW, **options), "css": "chart-narrow"}
