"""The chat sockets through the whole ASGI stack (WebsocketCommunicator): the protocol,
who may join what, the limits, idempotent re-sends and resume."""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from chat.models import Conversation
from tests.chat.conftest import (
    agent_client,
    closed_with,
    connect_agent,
    drain,
    receive,
    receive_until,
    socket,
    start_chat,
)
from tests.conftest import verified_client
from tickets.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def run(coroutine_function):
    return async_to_sync(coroutine_function)()


async def customer_socket(client):
    communicator = socket("/ws/chat/", client)
    connected, _ = await communicator.connect()
    assert connected
    status = await receive(communicator)
    assert status["type"] == "status"
    return communicator, status


async def send_message(communicator, text, client_id, **extra):
    await communicator.send_json_to(
        {"type": "message", "text": text, "client_id": client_id, **extra}
    )
    return await receive_until(communicator, lambda f: f["type"] in ("ack", "error"))


# --- who may join ---------------------------------------------------------------------------


def test_a_customer_socket_without_a_conversation_is_closed_with_4403(db):
    async def scenario():
        communicator = socket("/ws/chat/", Client())
        await communicator.connect()
        assert await closed_with(communicator) == 4403

    run(scenario)


def test_a_socket_from_another_origin_is_refused(db):
    client, _data = start_chat()

    async def scenario():
        communicator = socket("/ws/chat/", client, origin=b"https://evil.example")
        connected, _ = await communicator.connect()
        assert not connected

    run(scenario)


def test_a_customer_only_ever_reaches_its_own_conversation(db):
    mine, my_chat = start_chat()
    theirs, their_chat = start_chat()

    async def scenario():
        me, _ = await customer_socket(mine)
        them, _ = await customer_socket(theirs)
        # Naming someone else's conversation in a frame changes nothing.
        ack = await send_message(me, "hello", "c1", conversation=their_chat["conversation"])
        assert ack["type"] == "ack"
        assert await drain(them) == []
        await me.disconnect()
        await them.disconnect()

    run(scenario)
    message = Message.objects.get()
    assert message.ticket.conversation.pk == my_chat["conversation"]


def test_an_ended_conversation_cannot_be_joined_again(db):
    client, data = start_chat()
    Conversation.objects.filter(pk=data["conversation"]).update(state="ended")

    async def scenario():
        communicator = socket("/ws/chat/", client)
        await communicator.connect()
        assert await closed_with(communicator) == 4403

    run(scenario)


@pytest.mark.parametrize(
    "who", ["anonymous", "customer", "unverified_staff", "verified_staff_who_is_no_agent"]
)
def test_the_agent_socket_needs_staff_verified_with_two_factors(who, agent, django_user_model):
    client = Client()
    if who == "customer":
        client.force_login(django_user_model.objects.create_user("wallet", password="x" * 20))
    elif who == "unverified_staff":
        client.force_login(agent)  # password only: no second factor in this session
    elif who == "verified_staff_who_is_no_agent":
        # Two factors, but not an agent (accounts.permissions.is_agent): no ticket permission.
        clerk = django_user_model.objects.create_user("clerk", is_staff=True)
        TOTPDevice.objects.create(user=clerk, name="app", confirmed=True)
        client = verified_client(clerk)

    async def scenario():
        communicator = socket("/ws/agent/", client)
        await communicator.connect()
        assert await closed_with(communicator) == 4403

    run(scenario)


# --- limits ---------------------------------------------------------------------------------


def test_a_frame_over_16_kb_closes_with_1009_and_another_client_goes_on(db):
    big, _ = start_chat()
    other, _ = start_chat()

    async def scenario():
        one, _ = await customer_socket(big)
        two, _ = await customer_socket(other)
        await one.send_to(text_data='{"type": "typing", "pad": "' + "x" * 17000 + '"}')
        assert await closed_with(one) == 1009
        assert (await send_message(two, "still here", "c1"))["type"] == "ack"
        await two.disconnect()

    run(scenario)


def test_multibyte_text_is_measured_in_bytes(db):
    client, _ = start_chat()

    async def scenario():
        one, _ = await customer_socket(client)
        await one.send_to(text_data='{"type": "typing", "pad": "' + "字" * 6000 + '"}')
        assert await closed_with(one) == 1009

    run(scenario)


def test_a_flooding_client_is_told_and_disconnected_and_others_are_unaffected(db):
    flood, _ = start_chat()
    calm, _ = start_chat()

    async def scenario():
        one, _ = await customer_socket(flood)
        two, _ = await customer_socket(calm)
        for _ in range(25):
            await one.send_json_to({"type": "typing"})
        error = await receive_until(one, lambda f: f["type"] == "error")
        assert error["code"] == "rate_limited"
        assert await closed_with(one) == 4429
        assert (await send_message(two, "hello", "c1"))["type"] == "ack"
        await two.disconnect()

    run(scenario)


def test_malformed_frames_get_an_error_not_a_crash(db):
    client, _ = start_chat()

    async def scenario():
        one, _ = await customer_socket(client)
        await one.send_to(text_data="not json")
        assert (await receive(one))["code"] == "bad_frame"
        await one.send_json_to({"type": "message", "text": "  ", "client_id": "c"})
        assert (await receive(one))["type"] == "error"
        await one.send_json_to({"type": "resume", "after": "x"})
        assert (await receive(one))["type"] == "error"
        # JSON takes numbers no database column holds (SQLite raised OverflowError)
        await one.send_json_to({"type": "resume", "after": 10**30})
        assert (await receive(one))["code"] == "invalid"
        assert (await send_message(one, "fine", "c2"))["type"] == "ack"
        await one.disconnect()

    run(scenario)


def test_an_agent_frame_naming_an_impossible_chat_gets_an_error_not_a_crash(agent):
    console_client = agent_client(agent)

    async def scenario():
        console = await connect_agent(console_client)
        for conversation in (10**30, -1, True, "7"):
            await console.send_json_to({"type": "accept", "conversation": conversation})
            error = await receive_until(console, lambda f: f["type"] == "error")
            assert error["code"] == "invalid"
        await console.send_json_to({"type": "presence", "status": "away"})
        await console.disconnect()

    run(scenario)


# --- storage before ack, idempotency, resume -------------------------------------------------


def test_a_message_re_sent_with_the_same_client_id_is_stored_once(db):
    client, _ = start_chat()

    async def scenario():
        one, _ = await customer_socket(client)
        first = await send_message(one, "hello", "same-id")
        await one.disconnect()
        two, _ = await customer_socket(client)  # a reconnect that re-sends what it had
        again = await send_message(two, "hello", "same-id")
        await two.disconnect()
        return first, again

    first, again = run(scenario)
    assert first["id"] == again["id"]
    assert Message.objects.filter(text="hello").count() == 1
    assert Message.objects.get().external_id.endswith(":same-id")


def test_resume_returns_every_message_after_the_id_exactly_once(agent):
    client, data = start_chat()
    conversation = data["conversation"]
    console_client = agent_client(agent)

    async def scenario():
        console = await connect_agent(console_client)
        await console.send_json_to({"type": "accept", "conversation": conversation})
        await receive_until(console, lambda f: f["type"] == "chat")
        one, _ = await customer_socket(client)
        ids = [(await send_message(one, f"m{i}", f"c{i}"))["id"] for i in range(3)]
        await one.disconnect()  # the customer is away while the agent writes
        for i in range(2):
            await console.send_json_to(
                {
                    "type": "message",
                    "conversation": conversation,
                    "text": f"a{i}",
                    "client_id": f"a{i}",
                }
            )
        await console.send_json_to(
            {"type": "note", "conversation": conversation, "text": "secret", "client_id": "n1"}
        )
        acks = [await receive_until(console, lambda f: f["type"] == "ack") for _ in range(3)]
        assert all(ack["conversation"] == conversation for ack in acks)

        two, _ = await customer_socket(client)
        await two.send_json_to({"type": "resume", "after": ids[0]})
        frames = await drain(two, 0.5)
        texts = [f["text"] for f in frames if f["type"] == "message"]
        assert texts == ["m1", "m2", "a0", "a1"]  # never the note, nothing twice
        await two.send_json_to({"type": "resume", "after": ids[0]})
        assert [f for f in await drain(two, 0.3) if f["type"] == "message"] == []

        await console.send_json_to({"type": "resume", "conversation": conversation, "after": 0})
        frames = await drain(console, 0.5)
        authors = [f["author"] for f in frames if f["type"] == "message"]
        assert authors == ["customer"] * 3 + ["agent", "agent", "note"]
        await two.disconnect()
        await console.disconnect()

    run(scenario)
    # shown on the customer's return: the queued replies count as sent
    assert set(
        Message.objects.filter(direction="outbound").values_list("delivery_status", flat=True)
    ) == {"sent"}


def test_typing_is_relayed_and_not_stored(agent):
    client, data = start_chat()
    console_client = agent_client(agent)

    async def scenario():
        console = await connect_agent(console_client)
        await console.send_json_to({"type": "accept", "conversation": data["conversation"]})
        await receive_until(console, lambda f: f["type"] == "chat")
        one, _ = await customer_socket(client)
        await one.send_json_to({"type": "typing"})
        typing = await receive_until(console, lambda f: f["type"] == "typing")
        assert typing == {
            "type": "typing",
            "conversation": data["conversation"],
            "author": "customer",
        }
        await console.send_json_to({"type": "typing", "conversation": data["conversation"]})
        assert await receive_until(one, lambda f: f["type"] == "typing") == {
            "type": "typing",
            "author": "agent",
        }
        await one.disconnect()
        await console.disconnect()

    run(scenario)
    assert Message.objects.count() == 0


# --- the agent's side ------------------------------------------------------------------------


def test_a_new_chat_is_announced_waiting_accepted_and_closed_with_a_rating(agent):
    console_client = agent_client(agent)

    async def scenario():
        console = await connect_agent(console_client)
        client, data = await sync_to_async(start_chat)()
        conversation = data["conversation"]
        assert data["state"] == "waiting" and data["agents_online"] is True
        new = await receive_until(console, lambda f: f["type"] == "new_chat")
        assert new["conversation"] == conversation and new["reference"].startswith("MW-")
        waiting = await receive_until(console, lambda f: f["type"] == "waiting_change")
        assert [c["conversation"] for c in waiting["added"]] == [conversation]
        assert waiting["count"] == 1

        one, status = await customer_socket(client)
        assert status == {"type": "status", "state": "waiting", "position": 1}
        await send_message(one, "my payment failed", "c1")
        await console.send_json_to({"type": "accept", "conversation": conversation})
        chat = await receive_until(console, lambda f: f["type"] == "chat")
        assert chat["conversation"] == conversation and chat["state"] == "active"
        assert chat["ticket_url"].startswith("/admin/tickets/ticket/")
        joined = await receive_until(one, lambda f: f["type"] == "status")
        assert joined["state"] == "active" and joined["agent"] == "agent"

        await console.send_json_to({"type": "close", "conversation": conversation})
        assert (await receive_until(one, lambda f: f["type"] == "status"))["state"] == "closed"
        closed = await receive_until(console, lambda f: f["type"] == "status")
        assert closed == {"type": "status", "conversation": conversation, "state": "closed"}
        await one.send_json_to({"type": "rating", "score": 4, "comment": "谢谢"})
        await asyncio.sleep(0.1)
        await one.disconnect()
        await console.disconnect()
        return conversation

    conversation = Conversation.objects.get(pk=run(scenario))
    assert conversation.state == "ended"
    assert conversation.ticket.status == "solved"
    assert conversation.ticket.satisfaction_score == 4


def test_an_agent_cannot_write_in_a_chat_they_do_not_hold(agent):
    _client, data = start_chat()
    console_client = agent_client(agent)

    async def scenario():
        console = await connect_agent(console_client)
        await console.send_json_to(
            {
                "type": "message",
                "conversation": data["conversation"],
                "text": "hi",
                "client_id": "a",
            }
        )
        error = await receive_until(console, lambda f: f["type"] == "error")
        assert error["code"] == "not_yours" and error["client_id"] == "a"
        await console.disconnect()

    run(scenario)


def test_transfer_moves_the_chat_and_tells_everyone(agent, other_agent):
    client, data = start_chat()
    conversation = data["conversation"]
    first_client, second_client = agent_client(agent), agent_client(other_agent)

    async def scenario():
        first = await connect_agent(first_client)
        second = await connect_agent(second_client)
        await first.send_json_to({"type": "accept", "conversation": conversation})
        await receive_until(first, lambda f: f["type"] == "chat")
        one, _ = await customer_socket(client)
        await first.send_json_to(
            {"type": "transfer", "conversation": conversation, "agent": other_agent.pk}
        )
        released = await receive_until(first, lambda f: f["type"] == "status")
        assert released == {"type": "status", "conversation": conversation, "state": "transferred"}
        chat = await receive_until(second, lambda f: f["type"] == "chat")
        assert chat["conversation"] == conversation
        left = await receive_until(one, lambda f: f["type"] == "status")
        assert left["state"] == "left" and left["agent"] == "agent"
        joined = await receive_until(one, lambda f: f["type"] == "status")
        assert joined["state"] == "active" and joined["agent"] == "other_agent"
        # the new agent writes; the old one no longer may
        await second.send_json_to(
            {
                "type": "message",
                "conversation": conversation,
                "text": "I take over",
                "client_id": "x",
            }
        )
        assert (await receive_until(one, lambda f: f["type"] == "message"))["text"] == "I take over"
        for communicator in (one, first, second):
            await communicator.disconnect()

    run(scenario)


@pytest.mark.parametrize("target", ["abc", [1], {"x": 1}, True, 10**9])
def test_a_transfer_to_a_malformed_or_unknown_agent_gets_an_error_frame(agent, target):
    # Found in review: "abc", [1] or {"x": 1} raised inside the consumer and closed it.
    _client, data = start_chat()
    conversation = data["conversation"]
    logged_in = agent_client(agent)

    async def scenario():
        console = await connect_agent(logged_in)
        await console.send_json_to({"type": "accept", "conversation": conversation})
        await receive_until(console, lambda f: f["type"] == "chat")
        await console.send_json_to(
            {"type": "transfer", "conversation": conversation, "agent": target}
        )
        error = await receive_until(console, lambda f: f["type"] == "error")
        assert error["code"] == "invalid" and error["conversation"] == conversation
        await console.send_json_to({"type": "presence", "status": "away"})  # still open
        await console.disconnect()

    run(scenario)


def test_an_agent_console_closing_sets_the_agent_offline(agent):
    console_client = agent_client(agent)

    async def scenario():
        console = await connect_agent(console_client)
        await console.disconnect()

    run(scenario)
    assert agent.chat_presence.status == "offline"
    assert agent.chat_presence.sockets == 0


def test_the_hello_frame_carries_the_queues(agent):
    from tickets.models import Queue

    Queue.objects.create(name="Security", slug="security")
    console_client = agent_client(agent)

    async def scenario():
        communicator = socket("/ws/agent/", console_client)
        await communicator.connect()
        hello = await receive(communicator)
        await communicator.disconnect()
        return hello

    hello = run(scenario)
    assert hello["agent"]["id"] == agent.pk and hello["agent"]["max_chats"] == 3
    assert hello["queues"] == [{"slug": "security", "name": "Security"}]
    assert "canned" not in hello  # macros come with each chat, rendered for its customer


def test_the_chat_frame_carries_the_macros_rendered_for_its_customer(agent):
    from tickets.models import Macro, Queue

    security = Queue.objects.create(name="Security", slug="security")
    Macro.objects.create(
        title="Greeting",
        body_en="Hello {customer_name}, I am {agent_name}.",
        body_zh="{customer_name}您好，我是{agent_name}，工单 {ticket_reference}。",
    )
    Macro.objects.create(title="Frozen", body_en="Frozen.", body_zh="已冻结。", queue=security)
    Macro.objects.create(title="Old", body_en="x", body_zh="x", active=False)
    console_client = agent_client(agent)

    async def scenario():
        console = await connect_agent(console_client)
        chinese = Client(headers={"accept-language": "zh-CN"})
        _client, data = await sync_to_async(start_chat)(chinese, name="李雷")
        await console.send_json_to({"type": "accept", "conversation": data["conversation"]})
        chat = await receive_until(console, lambda f: f["type"] == "chat")
        await console.disconnect()
        return data, chat

    data, chat = run(scenario)
    # A general chat: the general macros only, in the customer's language (Chinese).
    assert chat["macros"] == [
        {"title": "Greeting", "text": f"李雷您好，我是agent，工单 {data['reference']}。"}
    ]


def test_a_guest_chatting_in_english_gets_the_macros_in_english(agent):
    from tickets.models import Macro

    Macro.objects.create(
        title="Hi", body_en="Hello {customer_name}.", body_zh="{customer_name}您好。"
    )
    console_client = agent_client(agent)

    async def scenario():
        console = await connect_agent(console_client)
        english = Client(headers={"accept-language": "en"})
        _client, data = await sync_to_async(start_chat)(english, name="Emily")
        await console.send_json_to({"type": "accept", "conversation": data["conversation"]})
        chat = await receive_until(console, lambda f: f["type"] == "chat")
        await console.disconnect()
        return data, chat

    data, chat = run(scenario)
    assert chat["macros"] == [{"title": "Hi", "text": "Hello Emily."}]
    # the page's language is kept on the guest's own customer: mail speaks it too
    assert Conversation.objects.get(pk=data["conversation"]).ticket.customer.language == "en"
