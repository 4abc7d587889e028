"""The demo's two weeks of history (demo/history.py): spread over the days, answered,
solved, rated, some late; told once however often the seed runs."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from demo.data import QUEUES
from demo.history import COUNT, DAYS, seed_history, story
from tickets.models import Message, Queue, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def queues(db):
    for slug, name in QUEUES:
        Queue.objects.create(slug=slug, name=name)


def test_the_history_spreads_over_two_weeks_in_every_state(queues, agent):
    assert seed_history(agent=agent) == COUNT

    history = Ticket.objects.filter(messages__external_id__startswith="demo-history-").distinct()
    now = timezone.now()
    days = {timezone.localdate(t.created_at) for t in history}
    assert len(days) >= DAYS - 3
    assert all(now - timedelta(days=DAYS) <= t.created_at <= now for t in history)
    assert history.filter(status=Ticket.Status.SOLVED, solved_at__isnull=False).count() >= 10
    assert history.filter(satisfaction_score__isnull=False).count() >= 5
    assert history.filter(first_responded_at__gt=F("first_response_due")).exists()  # late
    assert history.filter(first_responded_at__isnull=True).exists()  # still waiting
    # Each message carries its story's time, not the seed's.
    first = Message.objects.get(external_id="demo-history-0")
    assert first.created_at == first.ticket.created_at


def test_a_second_run_tells_nothing_again(queues, agent):
    seed_history(agent=agent)
    counts = (Ticket.objects.count(), Message.objects.count())

    assert seed_history(agent=agent) == 0
    assert (Ticket.objects.count(), Message.objects.count()) == counts


def test_each_story_is_the_same_every_time_and_in_order():
    now = timezone.now()
    for number in range(COUNT):
        told = story(number, now)
        assert told == story(number, now)
        assert told.opened <= now
        assert told.answered is None or told.opened < told.answered <= now
        assert told.solved is None or told.answered < told.solved <= now
        assert told.score is None or told.solved is not None
