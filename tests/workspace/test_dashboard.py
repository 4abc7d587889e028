"""The admin home's dashboard (workspace.dashboard): what agents, supervisors and other staff
see, in English and Chinese, and a query count that does not grow with the tickets."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.conftest import verified_client
from tickets.models import DailyStats, Queue, Ticket
from workspace.dashboard import duration_text

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")
CHARTS = 7


def tickets(customer, agent, count: int) -> None:
    """``count`` tickets over the last 14 days, in every state the dashboard counts."""
    queues = [Queue.objects.create(name=f"Queue {n}", slug=f"queue-{n}") for n in range(3)]
    now = timezone.now()
    made = Ticket.objects.bulk_create(
        Ticket(
            customer=customer,
            channel=["email", "chat", "wechat", "phone"][n % 4],
            category=Ticket.Category.values[n % 5],
            status=Ticket.Status.values[n % 6],
            queue=queues[n % 3],
            assignee=agent if n % 2 else None,
            first_response_due=now - timedelta(days=n % 14, hours=1),
            first_responded_at=now - timedelta(days=n % 14) if n % 3 else None,
            resolution_due=now - timedelta(days=n % 14),
            solved_at=now - timedelta(days=n % 14) if n % 6 == 4 else None,
            satisfaction_score=n % 5 + 1 if n % 6 == 4 else None,
            satisfaction_rated_at=now - timedelta(days=n % 14) if n % 6 == 4 else None,
            satisfaction_comment="Thanks" if n % 12 == 4 else "",
        )
        for n in range(count)
    )
    for n, ticket in enumerate(made):
        Ticket.objects.filter(pk=ticket.pk).update(created_at=now - timedelta(days=n % 14, hours=3))


def test_the_agent_sees_the_team_figures_and_the_models(agent_client, agent, customer):
    tickets(customer, agent, 12)

    response = agent_client.get(INDEX)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('class="headline-card ') == 5
    assert page.count('<svg class="chart"') == CHARTS
    assert "Tickets per channel per day" in page
    assert 'class="series-email"' in page
    assert "Feedback: topics and scores" in page
    assert 'class="module models-list"' in page
    assert reverse("admin:tickets_ticket_changelist") in page  # in the models list
    assert 'class="report-links"' not in page  # agents: figures only


def test_supervisors_also_get_the_links_to_the_reports(supervisor_client):
    response = supervisor_client.get(INDEX)

    links = [url for _label, url in response.context["report_links"]]
    assert 'class="report-links"' in response.content.decode()
    assert any("?category__exact=feedback" in url for url in links)
    for url in links:  # each a filter the ticket list knows (an unknown one redirects)
        assert supervisor_client.get(url).status_code == 200, url


def test_the_dashboard_in_chinese(agent_client, agent, customer):
    tickets(customer, agent, 12)

    page = agent_client.get(INDEX, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "每天各渠道的工单" in page
    assert "未解决工单" in page
    assert "首次响应时间" in page
    assert "反馈：近 30 天的主题与评分" in page
    assert "数据模型" in page


def test_staff_without_the_ticket_permissions_see_the_models_only(django_user_model):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    staff = django_user_model.objects.create_user(username="clerk", password="x", is_staff=True)
    TOTPDevice.objects.create(user=staff, name="app", confirmed=True)

    response = verified_client(staff).get(INDEX)

    assert response.status_code == 200
    assert b"headline-card" not in response.content


def test_an_empty_desk_shows_empty_charts(agent_client):
    page = agent_client.get(INDEX).content.decode()

    assert page.count('<svg class="chart"') == CHARTS
    assert "No data in this period" in page


def test_the_query_count_does_not_grow_with_the_tickets(agent_client, agent, customer):
    tickets(customer, agent, 5)
    agent_client.get(INDEX)  # warm: the session, content types, the ended days stored
    with CaptureQueriesContext(connection) as few:
        assert agent_client.get(INDEX).status_code == 200

    Ticket.objects.all().delete()
    Queue.objects.all().delete()
    DailyStats.objects.all().delete()
    tickets(customer, agent, 200)
    agent_client.get(INDEX)
    with CaptureQueriesContext(connection) as many:
        assert agent_client.get(INDEX).status_code == 200

    assert len(many) == len(few)


def test_a_visit_reads_only_today_s_tickets_and_the_stored_days(agent_client, agent, customer):
    tickets(customer, agent, 5)
    with CaptureQueriesContext(connection) as first:
        agent_client.get(INDEX)

    with CaptureQueriesContext(connection) as again:
        assert agent_client.get(INDEX).status_code == 200

    assert DailyStats.objects.count() == 29  # 30 days for the satisfaction figures, less today
    assert not [q for q in again.captured_queries if "INSERT" in q["sql"]]
    assert len(again) < len(first)


def test_the_dashboard_stays_within_its_query_budget(
    agent_client, agent, customer, django_assert_max_num_queries
):
    tickets(customer, agent, 200)
    agent_client.get(INDEX)  # stores the ended days
    # The request's own (session, user, device, permissions) and the figures' eleven.
    with django_assert_max_num_queries(16):
        agent_client.get(INDEX)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "\N{EN DASH}"),
        (timedelta(minutes=12, seconds=20), "12 min"),
        (timedelta(hours=3, minutes=5), "3 h 05 min"),
        (timedelta(days=2, hours=4), "2 d 4 h"),
    ],
)
def test_durations_read_as_people_say_them(value, text):
    assert duration_text(value) == text
