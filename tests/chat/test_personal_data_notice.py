"""A chat customer who types a full card number is told at once, once per ticket, not to send
such numbers (issue 16, point 4), through the live socket, in their language."""

import pytest

from chat.models import Conversation
from tests.chat.test_payment_diagnosis import app_chat, chat_with
from tickets.actions.pii_notice import PII_NOTICE
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)

CARD = "6222021234567890123"


def test_a_card_number_in_the_chat_gets_one_notice_in_the_customers_language(customer):
    customer.language = "en"
    customer.save(update_fields=["language"])
    client, started = app_chat(customer)

    (notice,) = chat_with(client, "en", f"my card {CARD} is blocked")

    assert "please do not send full bank card, ID or passport numbers" in notice["text"]
    ticket = Conversation.objects.get(pk=started["conversation"]).ticket
    stored = ticket.messages.get(**{f"metadata__{PII_NOTICE}": True})
    assert stored.pk == notice["id"]
    assert ticket.events.filter(kind=TicketEvent.Kind.PII_WARNED).count() == 1
    assert not ticket.messages.filter(text__contains=CARD).exists()
