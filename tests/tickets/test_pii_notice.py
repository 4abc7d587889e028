"""The notice to a customer who wrote a full card, ID or passport number (issue 16, point 4):
once per ticket, in their language, from every channel, in flat queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets import actions
from tickets.actions.pii_notice import PII_NOTICE
from tickets.history import ticket_history
from tickets.models import Message, TicketEvent

from . import factories

pytestmark = pytest.mark.django_db

CARD = "我的银行卡号6222021234567890123，请帮我查一下"
ID_NUMBER = "My ID number is 110101199003074514, please unlock my wallet"
PASSPORT = "Passport E12345678, card blocked"


def notices(ticket):
    return list(ticket.messages.filter(**{f"metadata__{PII_NOTICE}": True}))


def test_a_card_number_by_email_gets_one_notice_in_the_mails_language(customer):
    received = actions.receive(factories.email(text=CARD, language="en"))
    (notice,) = notices(received.ticket)
    assert notice.direction == Message.Direction.OUTBOUND
    assert notice.delivery_status == Message.Delivery.QUEUED
    assert notice.author_id is None and notice.metadata["system"] is True
    assert "do not send full bank card, ID or passport numbers" in notice.text
    assert "masked" in notice.text
    event = received.ticket.events.get(kind=TicketEvent.Kind.PII_WARNED)
    assert event.data == {"message": notice.pk}


def test_without_a_language_from_the_channel_the_customer_is_told_in_theirs(customer):
    received = actions.receive(factories.wechat("oLiWei", text=ID_NUMBER))
    (notice,) = notices(received.ticket)
    assert received.ticket.customer.language == "zh-hans"
    assert "请不要" in notice.text and "完整的银行卡号" in notice.text


def test_the_notice_asks_for_nothing(customer):
    received = actions.receive(factories.email(text=CARD, language="en"))
    (notice,) = notices(received.ticket)
    assert "code" not in notice.text.lower()
    assert "验证码" not in notice.text
    # the notice repeats no number, masked or not
    assert not any(character.isdigit() for character in notice.text)


def test_a_ticket_is_warned_once_whatever_its_customer_sends_next(customer):
    first = actions.receive(factories.wechat("oLiWei", text=CARD))
    again = actions.receive(factories.wechat("oLiWei", text=ID_NUMBER))
    passport = actions.receive(factories.wechat("oLiWei", text=PASSPORT))
    assert again.ticket == first.ticket == passport.ticket
    assert len(notices(first.ticket)) == 1
    assert first.ticket.events.filter(kind=TicketEvent.Kind.PII_WARNED).count() == 1


def test_a_passport_number_gets_the_notice():
    received = actions.receive(factories.email(text=PASSPORT))
    assert len(notices(received.ticket)) == 1


def test_a_phone_number_or_an_address_gets_no_notice():
    received = actions.receive(
        factories.email(text="My new phone is 13912345678, mail me at li.wei@example.com")
    )
    assert notices(received.ticket) == []
    assert not received.ticket.events.filter(kind=TicketEvent.Kind.PII_WARNED).exists()


def test_a_masked_number_the_customer_typed_gets_no_notice():
    received = actions.receive(factories.email(text="my card 622202*********0123 was blocked"))
    assert notices(received.ticket) == []


def test_an_automatic_reply_holding_a_number_gets_no_notice(customer):
    first = actions.receive(factories.email(text="Payment failed"))
    actions.receive(
        factories.email(
            text=f"Out of office. {CARD}",
            automatic=True,
            thread_ids=(first.message.external_id,),
        )
    )
    assert notices(first.ticket) == []


def test_a_number_in_the_subject_counts_too():
    received = actions.receive(factories.email(subject="ID 110101199003074514", text="see subject"))
    assert len(notices(received.ticket)) == 1


def test_a_live_chat_line_gets_the_notice_on_its_own_ticket(customer):
    opened = actions.receive(factories.chat(text="hello"))
    line = actions.receive(factories.chat(text=CARD, ticket_id=opened.ticket.pk))
    (notice,) = notices(line.ticket)
    assert notice.channel == "chat"


def test_the_history_says_the_customer_was_warned_in_one_line(customer):
    received = actions.receive(factories.email(text=CARD))
    (notice,) = notices(received.ticket)
    sentences = [entry.sentence for entry in ticket_history(received.ticket)]
    mentions = [sentence for sentence in sentences if f"message #{notice.pk}" in sentence]
    assert mentions == [
        f"The system told the customer not to send full card or ID numbers (message #{notice.pk})"
    ]


def test_the_inbox_keeps_showing_the_customers_words(customer):
    received = actions.receive(factories.email(text=CARD))
    received.ticket.refresh_from_db()
    assert received.ticket.last_message_preview.startswith("我的银行卡号622202")
    assert received.ticket.first_responded_at is None


def test_a_hotline_call_written_down_by_an_agent_warns_nobody(customer):
    received = actions.receive(factories.phone("+8613800138000", text=f"Caller read card {CARD}"))
    assert notices(received.ticket) == []


def test_a_batch_warns_each_of_its_tickets_once_in_a_fixed_number_of_queries():
    def batch(size, start):
        return [
            factories.wechat(f"oSender{start + i}", text=text)
            for i in range(size)
            for text in (CARD, ID_NUMBER)
        ]

    actions.receive_many(batch(2, 0))  # warm: both sizes do the same kinds of work
    with CaptureQueriesContext(connection) as small:
        small_results = actions.receive_many(batch(3, 100))
    with CaptureQueriesContext(connection) as large:
        large_results = actions.receive_many(batch(30, 200))
    assert len(large.captured_queries) == len(small.captured_queries)
    for results in (small_results, large_results):
        tickets = {result.ticket.pk for result in results}
        assert len(tickets) == len(results) // 2
        assert Message.objects.filter(
            ticket_id__in=tickets, **{f"metadata__{PII_NOTICE}": True}
        ).values("ticket_id").distinct().count() == len(tickets)
        assert TicketEvent.objects.filter(
            ticket_id__in=tickets, kind=TicketEvent.Kind.PII_WARNED
        ).count() == len(tickets)


def test_a_batch_without_such_numbers_costs_no_extra_query():
    actions.receive_many([factories.wechat("oWarm", text="hi")])
    with CaptureQueriesContext(connection) as queries:
        actions.receive_many([factories.wechat(f"oPlain{i}", text="支付失败了") for i in range(5)])
    assert not any("sensitivevalue" in query["sql"].lower() for query in queries.captured_queries)
