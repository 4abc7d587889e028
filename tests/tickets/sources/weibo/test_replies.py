"""Answers on Weibo tickets go out through the reply API (a local stand-in that checks the
token and the window and records what it receives), within the reply window; refusals
are shown to the agent, not retried for ever; the agent may answer through another of the
customer's channels."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import CustomerIdentity
from tickets import actions
from tickets.actions import delivery
from tickets.inbound import Inbound
from tickets.models import Message
from tickets.sources import window_for

pytestmark = pytest.mark.django_db
UID = "2489518277"


def weibo_ticket(text="账户被锁了", *, uid=UID):
    received = actions.receive(
        Inbound(
            channel="weibo",
            sender_kind="weibo",
            sender=uid,
            text=text,
            external_id=f"weibo:{uid}:{text}",
            continue_open=True,
        )
    )
    return received.ticket


@pytest.fixture
def send_now(tasks_at_once, django_capture_on_commit_callbacks):
    """Answers are delivered as their transaction commits (the task runs at once)."""

    def reply(ticket, agent, body, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            message = actions.reply(ticket, acting_user=agent, body=body, **kwargs)
        message.refresh_from_db()
        return message

    return reply


def age_messages(ticket, hours: int) -> None:
    Message.objects.filter(ticket=ticket).update(created_at=timezone.now() - timedelta(hours=hours))


def test_answer_reaches_the_weibo_api(agent, weibo_api, send_now):
    message = send_now(weibo_ticket(), agent, "您好，请重设支付密码。")
    assert message.delivery_status == Message.Delivery.SENT, message.delivery_error
    assert [(s.receiver_id, s.text) for s in weibo_api.sent] == [(UID, "您好，请重设支付密码。")]


def test_the_window_is_registered_and_follows_the_last_message(agent, settings):
    ticket = weibo_ticket()
    closes = window_for("weibo")(ticket)
    last = Message.objects.get(ticket=ticket).created_at
    assert closes == last + timedelta(hours=settings.WEIBO_REPLY_WINDOW_HOURS)
    assert window_for("email") is None


def test_outside_the_window_the_answer_is_refused_and_nothing_is_sent(agent, weibo_api):
    ticket = weibo_ticket()
    age_messages(ticket, 49)
    with pytest.raises(ValidationError) as refused:
        actions.reply(ticket, acting_user=agent, body="太晚了")
    assert refused.value.code == "window_closed"
    assert not Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()
    assert weibo_api.requests == 0
    # A note is still fine.
    actions.add_note(ticket, acting_user=agent, body="Customer wrote two days ago")


def test_window_passing_while_queued_fails_permanently_without_a_call(agent, weibo_api, settings):
    ticket = weibo_ticket()
    message = actions.reply(ticket, acting_user=agent, body="稍后")  # queued, not run yet
    age_messages(ticket, 49)
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now())
    assert delivery.deliver(message.pk) == Message.Delivery.FAILED
    message.refresh_from_db()
    assert "48 hours" in message.delivery_error
    assert weibo_api.requests == 0


def test_platform_refusal_is_shown_to_the_agent_once(agent, weibo_api, send_now):
    weibo_api.window_closed.add(UID)
    message = send_now(weibo_ticket(), agent, "您好")
    assert message.delivery_status == Message.Delivery.FAILED
    assert "21331" in message.delivery_error
    assert weibo_api.requests == 1  # permanent: not retried


def test_rate_limit_is_retried_later(agent, weibo_api):
    ticket = weibo_ticket()
    message = actions.reply(ticket, acting_user=agent, body="您好")
    weibo_api.fail_with = (403, 10023)
    assert delivery.deliver(message.pk) == Message.Delivery.QUEUED
    message.refresh_from_db()
    assert message.metadata["delivery_attempts"] == 1
    weibo_api.fail_with = None
    assert delivery.deliver(message.pk) == Message.Delivery.SENT
    assert len(weibo_api.sent) == 1


def test_wrong_token_fails_permanently(agent, weibo_api, settings, send_now):
    settings.WEIBO_ACCESS_TOKEN = "wrong"
    message = send_now(weibo_ticket(), agent, "您好")
    assert message.delivery_status == Message.Delivery.FAILED
    assert "21332" in message.delivery_error and not weibo_api.sent


def test_development_backend_records_and_marks_sent(agent, settings, send_now):
    settings.WEIBO_SEND = "development"
    settings.WEIBO_API_BASE = "http://127.0.0.1:9"  # nothing may be called
    message = send_now(weibo_ticket(), agent, "演示回复")
    assert message.delivery_status == Message.Delivery.SENT
    assert message.metadata["sent_in_development"] is True


def test_outside_the_window_the_customer_email_is_offered_and_used(
    agent, weibo_api, smtp_server, send_now
):
    ticket = weibo_ticket()
    CustomerIdentity.objects.create(
        customer=ticket.customer, kind="email", value="fang@example.com"
    )
    age_messages(ticket, 49)
    routes = {route.channel: route for route in actions.reply_routes(ticket)}
    assert not routes["weibo"].open and routes["weibo"].own
    assert routes["email"].open
    message = send_now(ticket, agent, "邮件回复", via="email")
    assert message.channel == "email"
    assert message.delivery_status == Message.Delivery.SENT, message.delivery_error
    assert [m.rcpt_tos for m in smtp_server.messages] == [("fang@example.com",)]
    assert weibo_api.requests == 0


def test_a_channel_the_customer_has_no_identity_on_is_refused(agent):
    ticket = weibo_ticket()
    with pytest.raises(ValidationError) as refused:
        actions.reply(ticket, acting_user=agent, body="x", via="email")
    assert refused.value.code == "no_route"
    assert not Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()
