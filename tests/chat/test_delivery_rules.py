"""Where an agent's answer on the chat channel goes (tickets.actions.delivery with the chat's
sender, chat.delivery): live to a connected customer; by email to one who is away and has a
deliverable address (a real SMTP server); otherwise kept for their return (AWAY), shown and
marked sent when they resume; a chat ticket without a conversation (GONE) goes by email or
fails at once with the reason. Tasks run as soon as they are queued."""

import pytest
from asgiref.sync import async_to_sync

from accounts.app_identity import AUDIENCE_CHAT, sign, verify
from chat import actions
from chat.messages import Pending, store_messages
from chat.models import AgentPresence, Conversation
from tests.chat.conftest import drain, receive, socket, start_chat
from tests.tickets import factories
from tests.tickets.sources.email.smtp_server import running_smtp_server
from tickets import actions as ticket_actions
from tickets.inbound import Inbound
from tickets.models import Message

# Sockets and the task run outside the test's transaction: these tests commit for real.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tasks_at_once")]


@pytest.fixture
def smtp_server(settings):
    with running_smtp_server() as server:
        settings.MAILERS = {"default": server.mailer()}
        yield server


def accepted(conversation: Conversation, agent) -> Conversation:
    AgentPresence.objects.create(user=agent, status="online", sockets=1)
    return actions.accept(conversation, acting_user=agent)


def answer(conversation: Conversation, agent, text: str) -> Message:
    """The agent writes in the console while the customer has no socket open."""
    [stored] = store_messages([Pending(conversation.pk, "a1", text, "agent", agent=agent)])
    return Message.objects.get(pk=stored.message_id)


def test_a_chat_answer_to_a_customer_who_is_away_goes_by_email(customer, agent, smtp_server):
    """Delivery (AWAY, by email): the app proved who the customer is, whose address we know."""
    app = verify(sign(customer.wallets.get(), audience=AUDIENCE_CHAT), audience=AUDIENCE_CHAT)
    conversation = actions.start_conversation(session_key="s", app=app)
    reply = answer(accepted(conversation, agent), agent, "请检查网络后重试。")
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.SENT, reply.delivery_error
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == ("li.wei@example.com",)
    parsed = mail.parsed()
    assert "请检查网络后重试。" in parsed.get_body(("plain",)).get_content()
    # Found here: the mail went out as "Message-ID: <12" (the chat's own id of the line,
    # "conversation:client id", is no Message-ID). The line keeps the chat's id, which
    # tells a re-sent line from a new one; the mail has one of its own.
    assert reply.external_id == f"{conversation.pk}:a1"
    assert parsed["Message-ID"] == f"<{reply.metadata['message_id']}>"
    assert reply.metadata["message_id"].endswith("@mywallet.example")
    resent = Pending(conversation.pk, "a1", "请检查网络后重试。", "agent", agent=agent)
    [again] = store_messages([resent])
    assert again.duplicate and again.message_id == reply.pk


def test_a_chat_answer_never_goes_to_a_claimed_address(customer, agent, smtp_server):
    """Delivery (AWAY, a claim): a guest typed Li Wei's address; until verified the answer
    waits for the guest's return and nothing is written to Li Wei's mailbox."""
    conversation = actions.start_conversation(session_key="s", contact="li.wei@example.com")
    reply = answer(accepted(conversation, agent), agent, "您的余额是 1024.50 元")
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.QUEUED
    assert smtp_server.messages == []


def test_a_chat_answer_to_an_away_customer_without_email_waits_and_is_sent_on_resume(
    agent, smtp_server
):
    """Delivery (AWAY, no address): queued until the customer resumes, then marked sent
    (tickets.actions.mark_shown)."""
    client, data = start_chat()
    conversation = Conversation.objects.get(pk=data["conversation"])
    reply = answer(accepted(conversation, agent), agent, "We are back.")
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.QUEUED and reply.delivered_at is None
    assert smtp_server.messages == []

    async def resume():
        communicator = socket("/ws/chat/", client)
        await communicator.connect()
        await receive(communicator)  # the status
        await communicator.send_json_to({"type": "resume", "after": 0})
        frames = await drain(communicator, 0.5)
        await communicator.disconnect()
        return [(f["id"], f["text"]) for f in frames if f["type"] == "message"]

    assert async_to_sync(resume)() == [(reply.pk, "We are back.")]
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.SENT and reply.delivered_at is not None


def test_an_answer_on_a_chat_ticket_without_a_conversation_or_email_fails_at_once(agent):
    """Delivery (GONE, no address): failed permanently, with the reason the agent sees."""
    ticket = ticket_actions.receive(factories.chat()).ticket  # a web visitor, no email
    reply = ticket_actions.reply(ticket, acting_user=agent, body="Hello, how can I help?")
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.FAILED
    assert "has no deliverable email address" in reply.delivery_error
    assert "delivery_attempts" not in reply.metadata  # permanent: never retried


def test_an_answer_on_a_chat_ticket_without_a_conversation_goes_by_email(
    customer, agent, smtp_server
):
    """Delivery (GONE, with an address): the answer goes by email instead."""
    chat_by_mail = Inbound(
        channel="chat", sender_kind="email", sender="li.wei@example.com", text="Hello?"
    )
    ticket = ticket_actions.receive(chat_by_mail).ticket
    reply = ticket_actions.reply(ticket, acting_user=agent, body="Hello, how can I help?")
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.SENT, reply.delivery_error
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == ("li.wei@example.com",)
