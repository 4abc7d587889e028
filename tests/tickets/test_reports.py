"""The dashboard's reads (tickets.reports), computed live on a controlled set of tickets:
exact counts per day and channel, SLA breaches, medians and 90th percentiles, satisfaction
per week and per category, and the day boundary in Asia/Shanghai against UTC."""

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.tickets.dated import SHANGHAI, live_dashboard, shanghai, ticket
from tickets import reports
from tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db
__all__ = ["ticket"]  # the fixture

# Saturday 5 December 2026, 12:00 in Shanghai (04:00 UTC).
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=SHANGHAI)
WINDOW = reports.Window(now=NOW, tz=SHANGHAI, days=14)


def live(tz=SHANGHAI) -> reports.Dashboard:
    return live_dashboard(now=NOW, tz=tz, days=14)


def test_the_window_is_calendar_days_in_its_time_zone():
    assert WINDOW.today == date(2026, 12, 5)
    assert WINDOW.dates[0] == date(2026, 11, 22)
    assert len(WINDOW.dates) == 14
    assert WINDOW.start == shanghai(22, 0, month=11)
    assert WINDOW.start.astimezone(UTC) == datetime(2026, 11, 21, 16, 0, tzinfo=UTC)


def test_tickets_per_channel_per_day_count_each_ticket_on_its_local_day(ticket):
    ticket(shanghai(5, 9))
    ticket(shanghai(5, 11))
    ticket(shanghai(5, 10), channel="wechat")
    ticket(shanghai(4, 23, 59), channel="wechat")
    ticket(shanghai(22, 0, 0, month=11), channel="chat")  # the window's first instant
    ticket(shanghai(21, 23, 59, month=11), channel="chat")  # the day before: outside

    created = live().created

    assert list(created) == ["email", "chat", "wechat"]  # the channels' own order
    assert created["email"] == [0] * 13 + [2]
    assert created["wechat"] == [0] * 12 + [1, 1]
    assert created["chat"] == [1] + [0] * 13


def test_the_day_boundary_is_the_time_zone_s_not_utc(ticket):
    # 07:30 on the 5th in Shanghai is 23:30 on the 4th in UTC.
    ticket(datetime(2026, 12, 4, 23, 30, tzinfo=UTC))

    in_shanghai = live().created["email"]
    in_utc = live(UTC).created["email"]

    assert in_shanghai[-1] == 1 and in_shanghai[-2] == 0
    assert in_utc[-1] == 0 and in_utc[-2] == 1


def test_open_tickets_by_queue_the_largest_first(ticket):
    hotline = Queue.objects.create(name="Hotline", slug="hotline")
    security = Queue.objects.create(name="Security", slug="security")
    for _ in range(3):
        ticket(shanghai(5), queue=hotline)
    ticket(shanghai(5), queue=security)
    ticket(shanghai(5), queue=security, status=Ticket.Status.SOLVED)
    ticket(shanghai(5))

    assert live().open_by_queue == [("Hotline", 3), ("Security", 1), ("", 1)]


def test_sla_breaches_count_on_the_day_the_due_time_was_missed(ticket):
    due = shanghai(3, 15)
    ticket(shanghai(3, 9), first_response_due=due, first_responded_at=due + timedelta(minutes=1))
    ticket(shanghai(3, 9), first_response_due=due, first_responded_at=due - timedelta(hours=1))
    ticket(shanghai(3, 9), first_response_due=due)  # never answered, and past due
    ticket(shanghai(5, 9), first_response_due=shanghai(5, 17))  # not due yet
    ticket(shanghai(1, 9), resolution_due=shanghai(2, 9), solved_at=shanghai(2, 10))
    ticket(shanghai(1, 9), resolution_due=shanghai(2, 9), solved_at=shanghai(2, 8))

    first = reports.breaches(WINDOW, "first_response_due", "first_responded_at")
    resolution = reports.breaches(WINDOW, "resolution_due", "solved_at")

    assert first == [0] * 11 + [2, 0, 0]  # the 3rd
    assert resolution == [0] * 10 + [1, 0, 0, 0]  # the 2nd


def test_response_times_median_and_90th_percentile_per_day(ticket):
    for minutes in (10, 20, 30, 40):
        opened = shanghai(4, 9)
        ticket(opened, first_responded_at=opened + timedelta(minutes=minutes))
    opened = shanghai(5, 8)
    ticket(opened, first_responded_at=opened + timedelta(hours=3))
    ticket(shanghai(5, 9))  # not answered yet: no time

    times = live().first_response

    assert times.count[-2:] == [4, 1]
    assert times.median[-2] == timedelta(minutes=25)
    assert times.p90[-2] == timedelta(minutes=40)
    assert times.median[-1] == times.p90[-1] == timedelta(hours=3)
    assert times.median[0] is None and times.count[0] == 0


def test_first_response_times_count_on_the_day_answered(ticket):
    ticket(shanghai(3, 22), first_responded_at=shanghai(4, 1))

    times = live().first_response

    assert times.count[-3:] == [0, 1, 0]
    assert times.median[-2] == timedelta(hours=3)


def test_resolution_times_count_on_the_day_solved(ticket):
    ticket(shanghai(1, 9), solved_at=shanghai(3, 9), status=Ticket.Status.SOLVED)

    times = live().resolution

    assert times.median[-3] == timedelta(days=2)


def test_the_headline_counts_now_and_the_satisfaction_of_30_days(ticket, agent):
    past = NOW - timedelta(hours=1)
    ticket(shanghai(5, 9), first_response_due=past)  # open, unassigned, breaching
    ticket(shanghai(5, 9), assignee=agent, resolution_due=past)  # open, breaching
    ticket(shanghai(5, 9), assignee=agent, first_response_due=past, first_responded_at=past)
    solved = {"status": Ticket.Status.SOLVED, "solved_at": shanghai(4)}
    ticket(shanghai(4, 8), satisfaction_score=5, **solved)
    ticket(shanghai(4, 8), satisfaction_score=2, **solved)
    old = {"status": Ticket.Status.SOLVED, "solved_at": shanghai(1, month=10)}
    ticket(shanghai(1, 8, month=10), satisfaction_score=1, **old)  # before the 30 days

    headline = live().headline

    assert (headline.open, headline.unassigned, headline.breaching) == (3, 1, 2)
    assert headline.satisfaction == 3.5
    assert headline.rated == 2


def test_satisfaction_per_week_with_the_count_and_the_feedback_tickets(ticket):
    def rated(day, score):
        solved = shanghai(day)
        return ticket(solved, status="solved", solved_at=solved, satisfaction_score=score)

    rated(1, 5)  # Tuesday 1 December: the week of Monday 30 November
    rated(2, 4)
    rated(4, 2)
    ticket(shanghai(3), category=Ticket.Category.FEEDBACK)

    weeks = live().weeks

    assert weeks[0].start == date(2026, 11, 2)  # the Monday of the 30 days' first day
    assert weeks[-1].start == date(2026, 11, 30)
    assert weeks[-1].rated == 3
    assert weeks[-1].average == pytest.approx(11 / 3)
    assert weeks[-1].feedback_tickets == 1
    assert weeks[-2].average is None and weeks[-2].rated == 0


def test_feedback_topics_per_category(ticket):
    solved = {"status": Ticket.Status.SOLVED, "solved_at": shanghai(4)}
    ticket(shanghai(4), category="feedback", satisfaction_score=1, **solved)
    ticket(shanghai(4), category="feedback", satisfaction_score=4, **solved)
    ticket(shanghai(4), category="feedback")
    ticket(shanghai(4), category="transaction", satisfaction_score=5, **solved)

    topics = live().topics

    assert topics == [
        reports.Topic("feedback", tickets=3, rated=2, average=2.5, low=1),
        reports.Topic("transaction", tickets=1, rated=1, average=5.0, low=0),
    ]


def test_feedback_topics_per_queue_no_queue_last(ticket):
    feedback = Queue.objects.create(name="Feedback", slug="feedback")
    solved = {"status": Ticket.Status.SOLVED, "solved_at": shanghai(4)}
    ticket(shanghai(4), queue=feedback, satisfaction_score=2, **solved)
    ticket(shanghai(4), satisfaction_score=4, **solved)

    queues = live().queues

    assert queues == [
        reports.Topic("Feedback", tickets=1, rated=1, average=2.0, low=1),
        reports.Topic("", tickets=1, rated=1, average=4.0, low=0),
    ]


def test_the_latest_comments_with_their_scores(ticket):
    solved = {"status": Ticket.Status.SOLVED}
    ticket(
        shanghai(3),
        satisfaction_score=2,
        satisfaction_comment="Too slow",
        solved_at=shanghai(3),
        **solved,
    )
    ticket(
        shanghai(4),
        satisfaction_score=5,
        satisfaction_comment="Great",
        solved_at=shanghai(4),
        **solved,
    )
    ticket(shanghai(4), satisfaction_score=4, solved_at=shanghai(4), **solved)  # no comment

    comments = reports.recent_comments(WINDOW)

    assert [(c.score, c.comment) for c in comments] == [(5, "Great"), (2, "Too slow")]


def test_the_week_s_first_response_median_merges_the_days_histograms(ticket):
    for day, minutes in ((28, 10), (1, 20), (2, 30), (5, 40)):  # the 28th: outside
        opened = shanghai(day, 9, month=12 if day < 28 else 11)
        ticket(opened, first_responded_at=opened + timedelta(minutes=minutes))

    headline = live().headline

    assert headline.first_response_week == timedelta(minutes=30)
    assert headline.first_response_today == timedelta(minutes=40)


@pytest.mark.parametrize(
    ("took", "minutes"),
    [
        (timedelta(seconds=20), 0),
        (timedelta(minutes=99, seconds=20), 99),
        (timedelta(minutes=184), 180),
        (timedelta(days=2), 2900),
    ],
)
def test_durations_bucket_to_two_significant_figures_of_minutes(took, minutes):
    assert reports.bucket(took) == minutes


def test_percentile_is_the_nearest_rank():
    assert reports.percentile([], 0.9) is None
    assert reports.percentile([7], 0.9) == 7
    assert reports.percentile(list(range(1, 11)), 0.9) == 9
    assert reports.percentile(list(range(1, 11)), 0.5) == 5


def test_the_dashboard_holds_every_figure_for_its_window(ticket):
    ticket(shanghai(5))

    figures = live()

    assert figures.window.dates[-1] == date(2026, 12, 5)
    assert figures.created == {"email": [0] * 13 + [1]}
    assert figures.headline.open == 1
    assert len(figures.first_response.median) == 14
