"""The reply form says which channel a reply takes, offers the customer's other channels,
and never offers one whose reply window has closed (tickets.sources.WINDOWS)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import CustomerIdentity
from tickets import actions
from tickets.inbound import Inbound
from tickets.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def weibo_ticket(db):
    received = actions.receive(
        Inbound(
            channel="weibo",
            sender_kind="weibo",
            sender="2489518277",
            text="账户被锁了",
            external_id="weibo:2489518277:1",
            continue_open=True,
        )
    )
    return received.ticket


def page(client, ticket) -> str:
    response = client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    assert response.status_code == 200
    return response.content.decode()


def reply_url(ticket):
    return reverse("admin:tickets_ticket_reply", args=[ticket.pk])


def close_window(ticket):
    Message.objects.filter(ticket=ticket).update(created_at=timezone.now() - timedelta(hours=49))


def test_within_the_window_the_form_names_weibo(agent_client, weibo_ticket):
    html = page(agent_client, weibo_ticket)
    assert "A reply is sent to the customer through Weibo" in html
    assert 'name="via" value="weibo"' in html


def test_the_customer_other_channels_are_offered(agent_client, weibo_ticket):
    CustomerIdentity.objects.create(
        customer=weibo_ticket.customer, kind="email", value="fang@example.com"
    )
    html = page(agent_client, weibo_ticket)
    assert 'type="radio" name="via" value="weibo"' in html
    assert 'type="radio" name="via" value="email"' in html


def test_outside_the_window_weibo_is_not_offered(agent_client, weibo_ticket):
    CustomerIdentity.objects.create(
        customer=weibo_ticket.customer, kind="email", value="fang@example.com"
    )
    close_window(weibo_ticket)
    html = page(agent_client, weibo_ticket)
    assert 'value="weibo"' not in html
    assert 'name="via" value="email"' in html
    assert "Weibo stopped taking replies on this ticket" in html
    assert "A reply is sent to the customer through Weibo" not in html


def test_outside_the_window_with_no_other_channel_nothing_is_promised(agent_client, weibo_ticket):
    close_window(weibo_ticket)
    html = page(agent_client, weibo_ticket)
    assert 'name="via"' not in html
    assert "No channel of this customer can take a reply now" in html
    response = agent_client.post(reply_url(weibo_ticket), {"kind": "reply", "body": "晚了"})
    assert response.status_code == 302
    assert not Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()


def test_the_chosen_channel_is_the_one_the_reply_takes(agent_client, weibo_ticket):
    CustomerIdentity.objects.create(
        customer=weibo_ticket.customer, kind="email", value="fang@example.com"
    )
    agent_client.post(
        reply_url(weibo_ticket), {"kind": "reply", "body": "邮件回复", "via": "email"}
    )
    message = Message.objects.get(direction=Message.Direction.OUTBOUND)
    assert message.channel == "email"


def test_a_channel_not_offered_is_refused(agent_client, weibo_ticket):
    close_window(weibo_ticket)
    agent_client.post(reply_url(weibo_ticket), {"kind": "reply", "body": "x", "via": "weibo"})
    agent_client.post(reply_url(weibo_ticket), {"kind": "reply", "body": "x", "via": "email"})
    assert not Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()


def test_an_email_ticket_keeps_its_form(agent_client, customer):
    received = actions.receive(
        Inbound(channel="email", sender_kind="email", sender="li.wei@example.com", text="hi")
    )
    html = page(agent_client, received.ticket)
    assert "A reply is sent to the customer through Email" in html


def test_a_development_send_is_shown_as_such(
    agent_client, agent, weibo_ticket, settings, tasks_at_once, django_capture_on_commit_callbacks
):
    settings.WEIBO_SEND = "development"
    with django_capture_on_commit_callbacks(execute=True):
        actions.reply(weibo_ticket, acting_user=agent, body="演示回复")
    message = Message.objects.get(direction=Message.Direction.OUTBOUND)
    assert message.delivery_status == Message.Delivery.SENT
    html = page(agent_client, weibo_ticket)
    assert "(development: recorded, not sent)" in html
    assert "Not delivered" not in html


def test_an_answer_through_another_channel_says_so(agent_client, agent, weibo_ticket):
    CustomerIdentity.objects.create(
        customer=weibo_ticket.customer, kind="email", value="fang@example.com"
    )
    actions.reply(weibo_ticket, acting_user=agent, body="邮件回复", via="email")
    assert "via Email" in page(agent_client, weibo_ticket)
