"""The ticket page reads as a help desk's (templates/admin/tickets/includes/history.html,
rating.html): history in sentences in the agent's language and time zone (chosen on the
user menu's "Time zone" page, workspace/time_zone.py), system notes by "System", the
rating as stars with its comment."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from tests.tickets import factories
from tickets import actions
from tickets.actions import wallets
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    return actions.receive(factories.phone("13800138000")).ticket


def change_url(ticket) -> str:
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def test_a_system_note_is_the_systems_not_the_customers(
    agent_client, ticket, agent, django_capture_on_commit_callbacks
):
    wallet = ticket.customer.wallets.get()
    with django_capture_on_commit_callbacks(execute=False):
        wallets.freeze_wallet(wallet, acting_user=agent, reason="lost phone", ticket=ticket)
    note = ticket.messages.get(metadata__system=True)
    page = agent_client.get(change_url(ticket)).text
    meta = page[page.index(f'id="message-{note.pk}"') :]
    author = meta[meta.index('class="mw-author"') :]
    assert author[: author.index("</strong>")].split(">", 1)[1].strip() == "System"
    assert "Notice sent by SMS to +86 138****8000 and by email to li***@example.com" in page


def test_the_rating_shows_as_stars_on_top_and_in_the_history(agent_client, ticket):
    actions.record_rating(ticket, score=4, comment="quick help", channel="chat")
    page = agent_client.get(change_url(ticket)).text
    assert '<span class="mw-stars">★★★★☆ 4/5</span> <q>quick help</q>' in page
    assert "Li Wei rated ★★★★☆ 4/5: “quick help”" in page


def test_the_history_speaks_chinese_to_a_chinese_agent(agent_client, ticket, agent):
    actions.change_status(ticket, acting_user=agent, status="pending")
    page = agent_client.get(change_url(ticket), HTTP_ACCEPT_LANGUAGE="zh-Hans").text
    assert "agent更改了状态：新建 → 等待客户" in page


def test_an_agent_chooses_their_time_zone_and_the_history_follows(agent_client, ticket):
    TicketEvent.objects.filter(ticket=ticket).update(
        created_at=datetime(2026, 12, 3, 23, 52, tzinfo=UTC)
    )
    zone_url = reverse("admin:time_zone")
    assert "Asia/Shanghai" in agent_client.get(zone_url).text  # the default, selected
    assert '<time datetime="2026-12-04T07:52:00+08:00">2026-12-04 07:52</time>' in (
        agent_client.get(change_url(ticket)).text
    )
    response = agent_client.post(
        zone_url, {"time_zone": "Europe/London", "next": change_url(ticket)}
    )
    assert response["Location"] == change_url(ticket)
    page = agent_client.get(change_url(ticket)).text
    assert '<time datetime="2026-12-03T23:52:00+00:00">2026-12-03 23:52</time>' in page


def test_a_zone_that_does_not_exist_is_refused(agent_client):
    response = agent_client.post(reverse("admin:time_zone"), {"time_zone": "Mars/Olympus"})
    assert response.status_code == 400


def test_the_next_page_must_be_ours(agent_client):
    response = agent_client.post(
        reverse("admin:time_zone"), {"time_zone": "UTC", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("admin:index")
