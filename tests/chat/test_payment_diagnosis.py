"""The chat explains a failed payment at once (issue 14, point 4): a customer the MY Wallet
app's token proved gets their own payment's cause and steps as a system message, in the
socket's language and local time; a guest, even one who typed a wallet's contact, gets the
general causes and nothing of any wallet."""

from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from accounts.app_identity import AUDIENCE_CHAT, sign
from accounts.models import Transaction
from chat.models import Conversation
from tests.chat.conftest import drain, receive_until, socket
from tests.chat.test_api import csrf_client, post
from tests.chat.test_consumers import send_message
from tickets.actions.payments import EXPLAINED
from tickets.models import Message, Ticket, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def failed(customer):
    return Transaction.objects.create(
        account=customer.wallets.get(),
        reference="T-CHAT-1",
        amount=Decimal("128.00"),
        merchant="Metro Coffee",
        status=Transaction.Status.FAILED,
        failure_reason=Transaction.FailureReason.INSUFFICIENT_BALANCE,
        occurred_at=timezone.now() - timedelta(minutes=4),
    )


def chat_with(client, language: str, *lines: str, expect: int = 1) -> list[dict]:
    """The customer writes ``lines``; the ``expect`` system messages the chat answers with
    (and no more)."""
    headers = [(b"accept-language", language.encode())]

    def system(frame):
        return frame["type"] == "message" and frame["author"] == "system"

    async def scenario():
        communicator = socket("/ws/chat/", client, headers=headers)
        connected, _ = await communicator.connect()
        assert connected
        for number, line in enumerate(lines):
            assert (await send_message(communicator, line, f"c{number}"))["type"] == "ack"
        answers = [await receive_until(communicator, system) for _ in range(expect)]
        assert not [frame for frame in await drain(communicator, 0.5) if system(frame)]
        await communicator.disconnect()
        return answers

    return async_to_sync(scenario)()


def app_chat(customer) -> tuple:
    client = csrf_client()
    token = sign(customer.wallets.get(), audience=AUDIENCE_CHAT)
    response = post(client, "/chat/start/", {"app_token": token})
    return client, response.json()


def test_an_app_verified_customer_gets_their_payment_explained_at_once(customer, failed):
    client, started = app_chat(customer)

    (answer,) = chat_with(client, "en", "Hello", "My payment failed at the coffee shop")

    local = timezone.localtime(failed.occurred_at).strftime("%H:%M")
    assert answer["text"].startswith(
        f"Your payment of ¥128.00 to Metro Coffee at {local} failed because your wallet "
        "balance was not enough."
    )
    assert "Top up your wallet" in answer["text"]
    ticket = Conversation.objects.get(pk=started["conversation"]).ticket
    message = ticket.messages.get(pk=answer["id"])
    assert message.direction == Message.Direction.OUTBOUND and message.author is None
    assert message.metadata[EXPLAINED] == "private" and message.metadata["system"] is True
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.category == Ticket.Category.TRANSACTION and ticket.related_transaction == failed
    assert ticket.events.filter(kind=TicketEvent.Kind.CHANGED, actor=None).exists()


def test_the_explanation_is_in_the_sockets_language_and_given_once(customer, failed):
    client, started = app_chat(customer)

    (answer,) = chat_with(client, "zh-CN", "支付失败了", "Payment failed again")

    assert "Metro Coffee" in answer["text"] and "¥128.00" in answer["text"]
    assert "余额不足" in answer["text"]
    ticket = Conversation.objects.get(pk=started["conversation"]).ticket
    assert ticket.messages.filter(metadata__has_key=EXPLAINED).count() == 1


def test_a_guest_claiming_the_wallets_contact_gets_only_the_general_causes(customer, failed):
    client = csrf_client()
    started = post(client, "/chat/start/", {"contact": "li.wei@example.com"}).json()
    assert started["verified_by_app"] is False

    (answer,) = chat_with(client, "en", "payment failed, what happened?")

    text = answer["text"]
    assert text.startswith("A payment usually fails for one of these reasons:")
    assert "open this chat from the MY Wallet app" in text
    for private in ("Metro Coffee", "128.00", "¥", "T-CHAT-1", "Li Wei"):
        assert private not in text
    ticket = Conversation.objects.get(pk=started["conversation"]).ticket
    assert ticket.messages.get(pk=answer["id"]).metadata[EXPLAINED] == "general"
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.related_transaction is None  # nothing of the claimed wallet on the ticket


def test_an_ordinary_line_gets_no_explanation(customer, failed):
    client, started = app_chat(customer)
    chat_with(client, "en", "I want to pay my bill", "payment succeeded, thanks", expect=0)
    ticket = Conversation.objects.get(pk=started["conversation"]).ticket
    assert not ticket.messages.filter(metadata__has_key=EXPLAINED).exists()
