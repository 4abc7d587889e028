"""Protecting a message's text before it is stored: masked in place, the values kept."""

import pytest
from django.db import connection

from tickets.actions.lifecycle import open_ticket
from tickets.models import Message, SensitiveValue
from tickets.personal_data import OUTBOUND_KINDS, protect, value_rows

SAMPLE = "我的身份证号是110101199003074514，银行卡号6222021234567890123，新手机号13912345678"


def test_each_value_is_masked_in_place_and_kept():
    protected = protect(SAMPLE)
    assert protected.text == (
        "我的身份证号是1101**********4514，银行卡号622202*********0123，新手机号139****5678"
    )
    assert [(f.kind, f.normalised) for f in protected.found] == [
        ("id_number", "110101199003074514"),
        ("card", "6222021234567890123"),
        ("phone", "+8613912345678"),
    ]
    assert len({f.fingerprint for f in protected.found}) == 3


def test_protecting_twice_changes_nothing():
    once = protect(SAMPLE + " li.wei@example.com").text
    again = protect(once)
    assert again.text == once
    assert again.found == []


def test_an_answer_keeps_phones_and_emails_but_never_a_card():
    answer = protect(
        "Call 13912345678 or write to help@mywallet.cn; card 4111 1111 1111 1111", OUTBOUND_KINDS
    )
    assert "13912345678" in answer.text
    assert "help@mywallet.cn" in answer.text
    assert "4111 1111 1111 1111" not in answer.text
    assert [f.kind for f in answer.found] == ["card"]


def test_empty_text():
    assert protect("").text == ""
    assert protect("").found == []


@pytest.mark.django_db
def test_rows_keep_the_value_encrypted(customer):
    ticket = open_ticket(customer=customer, channel="email", subject="Card", acting_user=None)
    message = Message.objects.create(ticket=ticket, direction="inbound", channel="email", text="x")
    rows = SensitiveValue.objects.bulk_create(value_rows(message.pk, protect(SAMPLE).found, 2))
    assert [row.position for row in rows] == [2, 3, 4]
    stored = SensitiveValue.objects.values_list("value", flat=True)
    assert sorted(stored) == sorted(["110101199003074514", "6222021234567890123", "+8613912345678"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM tickets_sensitivevalue")
        raw = " ".join(row[0] for row in cursor.fetchall())
    assert "110101199003074514" not in raw
    assert "6222021234567890123" not in raw
