"""mywallet_support.db.insert_many: what bulk_create stores, with less work per row."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mywallet_support.db import db_value, insert_many
from tickets.models import Channel, Message, Ticket


@pytest.fixture
def ticket(customer):
    return Ticket.objects.create(customer=customer, subject="Chat", channel=Channel.CHAT)


def test_rows_are_stored_with_defaults_and_shared_values_and_their_ids_come_back(
    ticket, django_user_model
):
    now = timezone.now()
    agent = django_user_model.objects.create_user(username="insert-agent")
    ids = insert_many(
        Message,
        [
            {"ticket_id": ticket.pk, "direction": "inbound", "text": "hi", "author_id": None},
            {
                "ticket_id": ticket.pk,
                "direction": "outbound",
                "text": "你好",
                "author_id": agent.pk,
            },
        ],
        same={"channel": Channel.CHAT, "created_at": now},
    )
    first, second = (Message.objects.get(pk=pk) for pk in ids)
    assert ids == sorted(ids)
    assert (first.text, first.direction, first.author_id) == ("hi", "inbound", None)
    assert (second.text, second.author) == ("你好", agent)
    for message in (first, second):
        assert message.channel == "chat" and message.created_at == now
        # every other field holds its default, as bulk_create would store it
        assert (message.subject, message.external_id, message.metadata) == ("", "", {})
        assert (message.delivered_at, message.sender_id, message.delivery_status) == (
            None,
            None,
            "",
        )


def test_a_prepared_time_may_vary_by_row(ticket):
    now = timezone.now()
    [pk] = insert_many(
        Message,
        [
            {
                "ticket_id": ticket.pk,
                "direction": "outbound",
                "delivered_at": db_value(Message, "delivered_at", now),
            }
        ],
        same={"channel": Channel.CHAT, "created_at": now},
    )
    assert Message.objects.get(pk=pk).delivered_at == now


def test_more_rows_than_one_statement_takes_go_in_chunks_in_order(ticket, monkeypatch):
    monkeypatch.setattr(connection.ops, "bulk_batch_size", lambda fields, objs: 7)
    rows = [{"ticket_id": ticket.pk, "direction": "inbound", "text": str(i)} for i in range(30)]
    with CaptureQueriesContext(connection) as queries:
        ids = insert_many(Message, rows, same={"channel": "chat", "created_at": timezone.now()})
    assert sum("INSERT" in query["sql"] for query in queries) == 5
    assert [Message.objects.get(pk=pk).text for pk in ids] == [str(i) for i in range(30)]


def test_a_required_field_without_a_value_or_an_unknown_field_is_refused(ticket):
    row = {"ticket_id": ticket.pk, "direction": "inbound"}
    with pytest.raises(ValueError, match="created_at needs a value"):
        insert_many(Message, [row], same={"channel": "chat"})
    with pytest.raises(ValueError, match="no fields"):
        insert_many(Message, [{**row, "colour": "red"}], same={"created_at": timezone.now()})
    with pytest.raises(ValueError, match="same fields"):
        insert_many(Message, [row, {**row, "text": "x"}], same={"created_at": timezone.now()})
    assert not Message.objects.exists()
    assert insert_many(Message, [], same={}) == []
