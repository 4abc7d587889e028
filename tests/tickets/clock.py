"""A controlled clock for timing tests: django.utils.timezone.now returns what the test
sets (``clock.now = ...``, ``clock.advance(days=3)``); nothing sleeps."""

from datetime import UTC, datetime, timedelta

import pytest

START = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.now = START

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    controlled = Clock()
    monkeypatch.setattr("django.utils.timezone.now", lambda: controlled.now)
    return controlled
