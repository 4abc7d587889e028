"""Tickets made at a given time, and the dashboard computed from them alone, for the
dashboard's tests (tickets.reports, rollups)."""

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

import pytest

from tickets import reports
from tickets.models import Ticket

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(day: int, hour: int = 10, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def ticket(customer):
    """Make a ticket opened at ``created`` (back-dated: the field is set on insert). A rated
    ticket was rated when it was solved, unless ``satisfaction_rated_at`` says otherwise."""

    def make(created: datetime, *, channel="email", **fields) -> Ticket:
        if fields.get("satisfaction_score") is not None:
            fields.setdefault("satisfaction_rated_at", fields.get("solved_at"))
        made = Ticket.objects.create(customer=customer, channel=channel, **fields)
        Ticket.objects.filter(pk=made.pk).update(created_at=created)
        made.refresh_from_db()
        return made

    return make


def live_dashboard(*, now: datetime, tz: tzinfo, days: int = 14) -> reports.Dashboard:
    """The dashboard computed from the tickets alone, every day afresh (nothing stored)."""
    window = reports.Window(now=now, tz=tz, days=days)
    return reports.dashboard(window, figures=reports.days_figures(reports.figures_window(window)))
