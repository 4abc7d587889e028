"""Agents' answers on WeChat tickets, delivered to a local WeChat API (wechat_api) that
checks the access token, the 48-hour rule and the follower, and records what it gets."""

import io
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from tickets import actions
from tickets.actions import delivery
from tickets.models import Message, Ticket
from tickets.sources import window_for
from tickets.sources.wechat import outbound
from tickets.sources.wechat.parsing import WeChatMessage, to_inbound

from .wechat_api import APP_ID, APP_SECRET, running_wechat_api

pytestmark = pytest.mark.django_db

OPEN_ID = "oWx_test_liwei_0001"


@pytest.fixture
def api(settings):
    cache.delete(outbound.TOKEN_KEY)
    with running_wechat_api() as server:
        settings.WECHAT_API_BASE = server.base
        settings.WECHAT_APP_ID = APP_ID
        settings.WECHAT_APP_SECRET = APP_SECRET
        settings.WECHAT_API_TIMEOUT = 5
        yield server
    cache.delete(outbound.TOKEN_KEY)


def wechat_ticket(msg_id: int = 1, text: str = "钱包被冻结了 wallet frozen"):
    message = WeChatMessage(
        to_user="gh_mywallet",
        open_id=OPEN_ID,
        created=int(time.time()),
        msg_type="text",
        msg_id=str(msg_id),
        content=text,
    )
    return actions.receive(to_inbound(message)).ticket


def answer(ticket, agent, body="您好，我们正在处理。Hello, we are on it.") -> Message:
    message = actions.reply(ticket, acting_user=agent, body=body)
    delivery.deliver(message.pk)
    message.refresh_from_db()
    return message


def test_answer_reaches_wechat_with_a_cached_token(api, agent):
    api.customer_wrote(OPEN_ID)
    ticket = wechat_ticket()
    first = answer(ticket, agent)
    second = answer(ticket, agent, body="第二条 second")
    assert first.delivery_status == second.delivery_status == Message.Delivery.SENT
    assert api.sent == [
        {"touser": OPEN_ID, "content": "您好，我们正在处理。Hello, we are on it."},
        {"touser": OPEN_ID, "content": "第二条 second"},
    ]
    assert api.token_requests == 1


def test_an_expired_token_is_fetched_again_once(api, agent):
    api.customer_wrote(OPEN_ID)
    ticket = wechat_ticket()
    answer(ticket, agent)
    api.expire_tokens()  # WeChat answers 40001 to the cached token
    message = answer(ticket, agent, body="after expiry")
    assert message.delivery_status == Message.Delivery.SENT
    assert api.token_requests == 2
    assert api.sent[-1]["content"] == "after expiry"


def test_outside_the_48_hour_window_fails_for_good_with_a_reason(api, agent):
    api.customer_wrote(OPEN_ID, ago=49 * 3600)
    message = answer(wechat_ticket(), agent)
    assert message.delivery_status == Message.Delivery.FAILED
    assert "45015" in message.delivery_error and "48" in message.delivery_error
    assert "another of the customer's channels" in message.delivery_error
    assert api.sent == []
    assert "delivery_attempts" not in message.metadata  # not retried


def test_the_48_hour_reason_reads_in_chinese():
    with translation.override("zh-hans"):
        text = outbound.reason_for(45015, "response out of time limit")
    assert "48" in text and "45015" in text
    assert "微信" in text


def test_an_unfollowed_account_fails_for_good(api, agent):
    message = answer(wechat_ticket(), agent)  # OPEN_ID never followed the stand-in
    assert message.delivery_status == Message.Delivery.FAILED
    assert "43004" in message.delivery_error


def test_a_busy_wechat_is_retried(api, agent):
    api.customer_wrote(OPEN_ID)
    api.busy = True
    message = answer(wechat_ticket(), agent)
    assert message.delivery_status == Message.Delivery.QUEUED
    assert message.metadata["delivery_attempts"] == 1
    assert "-1" in message.delivery_error


def test_an_unreachable_api_is_retried(settings, agent):
    cache.delete(outbound.TOKEN_KEY)
    with running_wechat_api() as server:
        base = server.base
    settings.WECHAT_API_BASE = base  # closed: connection refused
    message = answer(wechat_ticket(), agent)
    assert message.delivery_status == Message.Delivery.QUEUED
    assert "could not be reached" in message.delivery_error


def test_development_backend_records_and_shows_sent_in_development(settings, agent):
    settings.DEBUG = True
    settings.WECHAT_API_BASE = ""
    message = answer(wechat_ticket(), agent)
    assert message.delivery_status == Message.Delivery.SENT
    assert message.metadata[outbound.DEVELOPMENT]["touser"] == OPEN_ID
    assert message.metadata[outbound.DEVELOPMENT]["text"]["content"] == message.text


def test_without_debug_an_unconfigured_api_fails_with_a_reason(settings, agent):
    settings.DEBUG = False
    settings.WECHAT_API_BASE = ""
    message = answer(wechat_ticket(), agent)
    assert message.delivery_status == Message.Delivery.FAILED
    assert "WECHAT_API_BASE" in message.delivery_error


def test_window_closes_48_hours_after_the_customers_last_wechat_message():
    ticket = wechat_ticket()
    window_closes_at = window_for("wechat")
    last = ticket.messages.get().created_at
    assert window_closes_at(ticket) == last + timedelta(hours=48)
    assert window_closes_at(ticket) > timezone.now()
    assert window_for("email") is None


def test_the_ticket_page_shows_an_answer_sent_in_development(settings, agent, agent_client):
    settings.DEBUG = True
    settings.WECHAT_API_BASE = ""
    ticket = wechat_ticket()
    answer(ticket, agent)
    page = agent_client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    assert page.status_code == 200
    assert "development: recorded, not sent" in page.content.decode()


def test_the_demos_wechat_tickets_can_be_answered_in_make_run(settings, agent):
    # make run: DJANGO_DEBUG=true and no WECHAT_API_BASE (its default with debug on)
    settings.DEBUG = True
    settings.WECHAT_API_BASE = ""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=io.StringIO())
    tickets = Ticket.objects.filter(channel="wechat")
    assert tickets.count() >= 2
    for ticket in tickets:  # every demo WeChat ticket
        message = answer(ticket, agent, body="演示回复 demo answer")
        assert message.delivery_status == Message.Delivery.SENT, message.delivery_error
        assert message.metadata[outbound.DEVELOPMENT]["text"]["content"] == "演示回复 demo answer"
