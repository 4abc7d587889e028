"""Nobody online: the customer is told, and the agent's later answer reaches them by email
(through the email channel, a real SMTP server) or on their next visit."""

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command

from chat.models import Conversation
from tests.chat.conftest import (
    agent_client,
    connect_agent,
    drain,
    receive,
    receive_until,
    socket,
    start_chat,
)
from tests.tickets.sources.email.smtp_server import running_smtp_server
from tickets import actions as ticket_actions
from tickets.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smtp_server(settings):
    with running_smtp_server() as server:
        settings.MAILERS = {"default": server.mailer()}
        yield server


def run_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


async def customer_writes(client, text):
    communicator = socket("/ws/chat/", client)
    await communicator.connect()
    status = await receive(communicator)
    await communicator.send_json_to({"type": "message", "text": text, "client_id": "c1"})
    await receive_until(communicator, lambda f: f["type"] == "ack")
    await communicator.disconnect()
    return status


def test_an_answer_to_a_customer_who_left_goes_out_by_email(agent, smtp_server):
    """A contact new to us is the guest's own: the answer goes there."""
    client, data = start_chat(contact="zhou.min@example.com")
    assert data["state"] == "offline"
    conversation = data["conversation"]
    console_client = agent_client(agent)

    async def scenario():
        status = await customer_writes(client, "我想绑定一张银行卡")
        assert status == {"type": "status", "state": "offline"}
        console = await connect_agent(console_client)
        await console.send_json_to({"type": "accept", "conversation": conversation})
        await receive_until(console, lambda f: f["type"] == "chat")
        await console.send_json_to(
            {
                "type": "message",
                "conversation": conversation,
                "text": "请检查网络后重试。",
                "client_id": "a1",
            }
        )
        await receive_until(console, lambda f: f["type"] == "ack")
        await console.disconnect()

    async_to_sync(scenario)()
    run_worker()
    reply = Message.objects.get(direction="outbound")
    assert reply.delivery_status == Message.Delivery.SENT, reply.delivery_error
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == ("zhou.min@example.com",)
    parsed = mail.parsed()
    reference = Conversation.objects.get(pk=conversation).ticket.reference
    assert reference in parsed["Subject"]
    assert "请检查网络后重试。" in parsed.get_body(("plain",)).get_content()


def test_the_offline_fallback_never_writes_to_a_claimed_address(customer, agent, smtp_server):
    """A guest who typed Li Wei's address and left: the answer is not mailed to Li Wei."""
    client, data = start_chat(contact="li.wei@example.com")
    conversation = Conversation.objects.get(pk=data["conversation"])
    async_to_sync(customer_writes)(client, "我的余额是多少？")
    reply = ticket_actions.reply(conversation.ticket, acting_user=agent, body="1024.50 元")
    run_worker()
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.QUEUED
    assert smtp_server.messages == []


def test_an_answer_to_an_anonymous_customer_waits_for_their_next_visit(agent, smtp_server):
    client, data = start_chat()
    conversation = Conversation.objects.get(pk=data["conversation"])

    async_to_sync(customer_writes)(client, "hello?")
    reply = ticket_actions.reply(conversation.ticket, acting_user=agent, body="We are back.")
    run_worker()
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.QUEUED  # nowhere to send it yet
    assert smtp_server.messages == []

    async def next_visit():
        communicator = socket("/ws/chat/", client)
        await communicator.connect()
        await receive(communicator)
        await communicator.send_json_to({"type": "resume", "after": 0})
        frames = await drain(communicator, 0.5)
        await communicator.disconnect()
        return [f["text"] for f in frames if f["type"] == "message"]

    assert async_to_sync(next_visit)() == ["hello?", "We are back."]
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.SENT


def test_a_reply_from_the_ticket_page_reaches_a_connected_customer_live(agent):
    client, data = start_chat()
    ticket = Conversation.objects.select_related("ticket").get(pk=data["conversation"]).ticket

    async def scenario():
        from asgiref.sync import sync_to_async

        communicator = socket("/ws/chat/", client)
        await communicator.connect()
        await receive(communicator)
        await sync_to_async(ticket_actions.reply)(
            ticket, acting_user=agent, body="From the ticket page"
        )
        frame = await receive_until(communicator, lambda f: f["type"] == "message")
        await sync_to_async(run_worker)()
        await communicator.disconnect()
        return frame

    frame = async_to_sync(scenario)()
    assert frame["text"] == "From the ticket page" and frame["author"] == "agent"
    assert Message.objects.get(direction="outbound").delivery_status == "sent"


def test_a_message_left_in_an_offline_chat_is_answered_by_email(agent, smtp_server):
    """Leaving a message used to open a second ticket beside the chat's own: the answer
    now goes out from the chat's ticket to the address given in the form."""
    client, data = start_chat()
    response = client.post(
        "/chat/leave-message/",
        {"contact": "zhou.min@example.com", "name": "Zhou Min", "text": "钱包被锁了"},
    )
    assert response.json()["reference"] == data["reference"]
    ticket = Conversation.objects.select_related("ticket").get(pk=data["conversation"]).ticket
    assert ticket.messages.get().text == "钱包被锁了"
    ticket_actions.reply(ticket, acting_user=agent, body="已为您解锁。")
    run_worker()
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == ("zhou.min@example.com",)
    assert data["reference"] in mail.parsed()["Subject"]
