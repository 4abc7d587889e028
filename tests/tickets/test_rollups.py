"""The dashboard's stored days (tickets.rollups): the same figures as the live computation,
in Asia/Shanghai and in UTC; ended days computed once, today live, and again after an
action changes them; the command idempotent."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.tickets.dated import SHANGHAI, live_dashboard, shanghai, ticket
from tickets import rollups
from tickets.actions import change_status, record_rating, update_details
from tickets.models import DailyStats, Queue, Ticket

pytestmark = pytest.mark.django_db
__all__ = ["ticket"]  # the fixture

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=SHANGHAI)  # 04:00 UTC
ZONES = [SHANGHAI, UTC]


@pytest.fixture
def history(ticket):
    """Three weeks of tickets in every state the dashboard counts, some near midnight (so
    that Shanghai and UTC put them on different days)."""
    feedback = Queue.objects.create(name="Feedback", slug="feedback")
    for back in range(21):
        day = 5 - back if back < 5 else 35 - back  # December then November
        month = 12 if back < 5 else 11
        for hour, channel in ((1, "email"), (9, "chat"), (23, "wechat")):
            opened = shanghai(day, hour, month=month)
            if opened > NOW:
                continue
            n = back * 3 + hour
            solved = opened + timedelta(hours=n % 40) if n % 2 else None
            ticket(
                opened,
                channel=channel,
                category=Ticket.Category.values[n % 5],
                queue=feedback if n % 3 else None,
                status=Ticket.Status.SOLVED if solved else Ticket.Status.OPEN,
                first_response_due=opened + timedelta(hours=2),
                first_responded_at=opened + timedelta(minutes=7 * (n % 30)) if n % 4 else None,
                resolution_due=opened + timedelta(hours=24),
                solved_at=solved,
                satisfaction_score=n % 5 + 1 if solved else None,
            )


@pytest.mark.parametrize("tz", ZONES, ids=str)
def test_the_stored_days_give_the_live_figures(history, tz):
    live = live_dashboard(now=NOW, tz=tz, days=14)

    first = rollups.dashboard(now=NOW, tz=tz, days=14)  # computes and stores the ended days
    again = rollups.dashboard(now=NOW, tz=tz, days=14)  # reads them back

    assert first == live
    assert again == live
    window = live.window
    opened = Ticket.objects.filter(created_at__gte=window.start, created_at__lt=window.end)
    assert sum(sum(counts) for counts in live.created.values()) == opened.count() > 30
    assert any(live.first_response_breaches) and any(live.resolution_breaches)
    assert live.topics and live.weeks[-1].rated


def test_each_time_zone_has_its_own_days(history, ticket):
    ticket(datetime(2026, 12, 4, 23, 30, tzinfo=UTC), channel="phone")  # the 5th in Shanghai
    for tz in ZONES:
        rollups.dashboard(now=NOW, tz=tz, days=14)

    stored = DailyStats.objects.values_list("time_zone", "day")
    assert stored.filter(time_zone="Asia/Shanghai").count() == 29  # 30 days, today live
    assert stored.filter(time_zone="UTC").count() == 29
    assert not stored.filter(day=date(2026, 12, 5)).exists()
    shanghai_day = DailyStats.objects.get(time_zone="Asia/Shanghai", day=date(2026, 12, 4))
    utc_day = DailyStats.objects.get(time_zone="UTC", day=date(2026, 12, 4))
    assert "phone" not in shanghai_day.figures["created"]
    assert utc_day.figures["created"]["phone"] == 1


def test_a_second_read_computes_nothing_for_the_ended_days(history):
    with CaptureQueriesContext(connection) as first:
        before = rollups.dashboard(now=NOW, tz=SHANGHAI, days=14)
    Ticket.objects.filter(created_at__lt=shanghai(5, 0)).delete()  # the ended days are final

    with CaptureQueriesContext(connection) as again:
        after = rollups.dashboard(now=NOW, tz=SHANGHAI, days=14)

    assert [counts[:-1] for counts in after.created.values()] == [
        counts[:-1] for counts in before.created.values()
    ]
    assert after.first_response.median[:-1] == before.first_response.median[:-1]
    assert after.resolution_breaches[:-1] == before.resolution_breaches[:-1]
    assert len(again) < len(first)
    assert not [q for q in again.captured_queries if "INSERT" in q["sql"]]


def test_today_is_computed_live(history, ticket):
    before = rollups.dashboard(now=NOW, tz=SHANGHAI, days=14)
    ticket(shanghai(5, 11), channel="email", first_responded_at=shanghai(5, 11, 30))

    after = rollups.dashboard(now=NOW, tz=SHANGHAI, days=14)

    assert after.created["email"][-1] == before.created["email"][-1] + 1
    assert after.created["email"][:-1] == before.created["email"][:-1]
    assert after.first_response.count[-1] == before.first_response.count[-1] + 1


@pytest.mark.parametrize("count", [5, 200])
def test_the_query_count_of_a_second_read_is_flat(ticket, count, django_assert_num_queries):
    queue = Queue.objects.create(name="Hotline", slug="hotline")
    for n in range(count):
        ticket(shanghai(5 - n % 4, 9), queue=queue, solved_at=shanghai(5, 11), satisfaction_score=4)
    rollups.dashboard(now=NOW, tz=SHANGHAI, days=14)

    # The stored days, today's seven figures, the open tickets, the queues' names, comments.
    with django_assert_num_queries(11):
        rollups.dashboard(now=NOW, tz=SHANGHAI, days=14)


def test_a_missing_day_is_computed_alone_and_the_others_kept(history):
    rollups.dashboard(now=NOW, tz=SHANGHAI, days=14)
    rollups.forget(since=date(2026, 12, 1), until=date(2026, 12, 1))
    kept = DailyStats.objects.get(time_zone="Asia/Shanghai", day=date(2026, 12, 2)).computed_at

    assert rollups.dashboard(now=NOW, tz=SHANGHAI, days=14) == live_dashboard(
        now=NOW, tz=SHANGHAI, days=14
    )
    assert DailyStats.objects.filter(time_zone="Asia/Shanghai").count() == 29
    assert (
        DailyStats.objects.get(day=date(2026, 12, 2), time_zone="Asia/Shanghai").computed_at == kept
    )


def test_the_command_is_idempotent_and_recomputes_on_request(history, settings, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    settings.TIME_ZONE = "Asia/Shanghai"

    call_command("rollup_dashboard", "--days", "30")
    first = dict(DailyStats.objects.values_list("day", "figures"))
    call_command("rollup_dashboard", "--days", "30")
    assert dict(DailyStats.objects.values_list("day", "figures")) == first
    assert len(first) == 30

    Ticket.objects.filter(created_at__gte=shanghai(3, 0), created_at__lt=shanghai(4, 0)).update(
        channel="phone"
    )
    call_command("rollup_dashboard", "--days", "30")  # a stored day is final
    assert DailyStats.objects.get(day=date(2026, 12, 3)).figures == first[date(2026, 12, 3)]

    call_command("rollup_dashboard", "--days", "30", "--recompute")
    assert DailyStats.objects.get(day=date(2026, 12, 3)).figures["created"] == {"phone": 3}


def test_yesterday_is_stored_only_once_it_has_settled(history):
    just_after_midnight = shanghai(5, 0, 2)

    figures = rollups.dashboard(now=just_after_midnight, tz=SHANGHAI, days=14)

    stored = DailyStats.objects.filter(time_zone="Asia/Shanghai")
    assert not stored.filter(day=date(2026, 12, 4)).exists()
    assert stored.filter(day=date(2026, 12, 3)).exists()
    assert figures == live_dashboard(now=just_after_midnight, tz=SHANGHAI, days=14)


def solved_three_days_ago(ticket):
    return ticket(
        shanghai(2, 9),
        category=Ticket.Category.ACCOUNT,
        status=Ticket.Status.SOLVED,
        first_responded_at=shanghai(2, 9, 30),
        solved_at=shanghai(2, 11),
    )


def test_an_action_that_changes_a_stored_day_has_it_computed_again(history, ticket, agent):
    solved = solved_three_days_ago(ticket)
    reopened = solved_three_days_ago(ticket)
    moved = solved_three_days_ago(ticket)
    rollups.dashboard(now=NOW, tz=SHANGHAI, days=14)

    record_rating(solved, score=1, comment="Late", channel="email")
    change_status(reopened, acting_user=agent, status=Ticket.Status.OPEN)
    update_details(moved, acting_user=agent, category=Ticket.Category.SECURITY)

    assert rollups.dashboard(now=NOW, tz=SHANGHAI, days=14) == live_dashboard(
        now=NOW, tz=SHANGHAI, days=14
    )
