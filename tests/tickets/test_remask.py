"""`manage.py remask_personal_data` on a copy of data stored before personal data was
protected (issue 16, point 5): rows written directly, in clear, as the old code wrote them.
Runs on SQLite and in the PostgreSQL pass; the columns are read back with raw SQL."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets import search
from tickets.models import Attachment, InboundMessage, Message, SensitiveValue, Ticket

pytestmark = pytest.mark.django_db

ID_NUMBER, CARD, PHONE = "110101199003074514", "6222021234567890123", "13912345678"
SAMPLE = f"我的身份证号是{ID_NUMBER}，银行卡号{CARD}，新手机号{PHONE}"
FULL = (ID_NUMBER, CARD)

COLUMNS = {
    "tickets_message": ("subject", "text", "html"),
    "tickets_ticket": ("subject", "last_message_preview"),
    "tickets_attachment": ("name",),
}
RAW = f"From: li.wei@example.com\nSubject: card\n\n{SAMPLE}\n".encode()


@pytest.fixture
def old_data(customer):
    """Two tickets as the old code stored them: every value in clear everywhere."""
    ticket = Ticket.objects.create(
        customer=customer,
        channel="email",
        subject=f"卡号 {CARD}",
        last_message_preview=SAMPLE[:200],
    )
    inbound = Message.objects.create(
        ticket=ticket,
        direction=Message.Direction.INBOUND,
        channel="email",
        subject=f"卡号 {CARD}",
        text=SAMPLE,
        html=f"<p>{SAMPLE}</p>",
    )
    answer = Message.objects.create(
        ticket=ticket,
        direction=Message.Direction.OUTBOUND,
        channel="email",
        text=f"Your card {CARD} is blocked; call us or reach you on {PHONE}",
    )
    note = Message.objects.create(
        ticket=ticket, direction=Message.Direction.NOTE, channel="email", text=f"phone {PHONE}"
    )
    Attachment.objects.create(
        message=inbound,
        file="attachments/old",
        name=f"身份证{ID_NUMBER}.jpg",
        content_type="image/jpeg",
        size=10,
        sha256="0" * 64,
    )
    raw = InboundMessage.objects.create(channel="email", raw=b"", sha256="1" * 64, message=inbound)
    with connection.cursor() as cursor:  # as stored before payloads were encrypted
        cursor.execute("UPDATE tickets_inboundmessage SET raw = %s WHERE id = %s", [RAW, raw.pk])
    quiet = Ticket.objects.create(customer=customer, channel="chat", subject="Hello")
    Message.objects.create(
        ticket=quiet, direction=Message.Direction.INBOUND, channel="chat", text="支付失败了"
    )
    return {"ticket": ticket, "inbound": inbound, "answer": answer, "note": note, "raw": raw}


def remask(*arguments) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("remask_personal_data", *arguments, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def stored_columns() -> list[str]:
    """Every column the command protects, as the database holds it (the raw payloads'
    bytes read as Latin-1: one character a byte)."""
    values = []
    with connection.cursor() as cursor:
        for table, columns in COLUMNS.items():
            cursor.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id")  # noqa: S608
            values.extend(value for row in cursor.fetchall() for value in row)
        cursor.execute("SELECT raw FROM tickets_inboundmessage ORDER BY id")
        values.extend(bytes(raw).decode("latin-1") for (raw,) in cursor.fetchall())
    return values


def test_no_full_card_or_id_number_remains_in_any_column(old_data):
    assert any(CARD in value for value in stored_columns())
    remask()
    for value in stored_columns():
        assert not any(number in value for number in FULL), value


def test_each_value_is_masked_in_place(old_data):
    remask()
    inbound = Message.objects.get(pk=old_data["inbound"].pk)
    assert inbound.text == (
        "我的身份证号是1101**********4514，银行卡号622202*********0123，新手机号139****5678"
    )
    assert inbound.subject == "卡号 622202*********0123"
    assert inbound.attachments.get().name == "身份证1101**********4514.jpg"
    ticket = Ticket.objects.get(pk=old_data["ticket"].pk)
    assert ticket.subject == "卡号 622202*********0123"
    assert PHONE not in ticket.last_message_preview


def test_an_answer_keeps_its_phone_numbers_as_thread_append_does(old_data):
    remask()
    answer = Message.objects.get(pk=old_data["answer"].pk)
    assert (
        answer.text == f"Your card 622202*********0123 is blocked; call us or reach you on {PHONE}"
    )
    assert Message.objects.get(pk=old_data["note"].pk).text == "phone 139****5678"


def test_the_values_are_recoverable_from_their_encrypted_rows(old_data):
    remask()
    rows = SensitiveValue.objects.filter(message=old_data["inbound"]).order_by("position")
    assert [(row.position, row.kind, row.value) for row in rows] == [
        (0, "card", CARD),
        (1, "id_number", ID_NUMBER),
        (2, "phone", "+86" + PHONE),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM tickets_sensitivevalue")
        assert not any(CARD in value or ID_NUMBER in value for (value,) in cursor.fetchall())


def test_a_raw_payload_in_clear_is_encrypted_and_reads_back_whole(old_data):
    remask()
    assert InboundMessage.objects.get(pk=old_data["raw"].pk).raw == RAW


def test_positions_continue_after_the_values_a_message_already_has(old_data):
    inbound = old_data["inbound"]
    SensitiveValue.objects.create(
        message=inbound, kind="email", position=0, masked="l***@example.com", value="x@y.cn"
    )
    remask()
    positions = SensitiveValue.objects.filter(message=inbound).values_list("position", flat=True)
    assert sorted(positions) == [0, 1, 2, 3]


def test_a_second_run_changes_nothing(old_data):
    first, _ = remask()
    assert first.strip() == (
        "changed: 3 messages (5 values kept encrypted), 1 attachment names, 1 tickets, "
        "1 raw payloads"
    )
    columns, values = stored_columns(), SensitiveValue.objects.count()
    second, _ = remask()
    assert second.strip() == (
        "changed: 0 messages (0 values kept encrypted), 0 attachment names, 0 tickets, "
        "0 raw payloads"
    )
    assert stored_columns() == columns
    assert SensitiveValue.objects.count() == values


def test_a_dry_run_writes_nothing_and_reports_what_it_would_change(old_data):
    columns = stored_columns()
    out, _ = remask("--dry-run")
    assert out.strip() == (
        "would change: 3 messages (5 values kept encrypted), 1 attachment names, 1 tickets, "
        "1 raw payloads (dry run: nothing written)"
    )
    assert stored_columns() == columns
    assert not SensitiveValue.objects.exists()


def test_batches_report_their_progress_on_stderr(old_data):
    _out, err = remask("--batch-size", "3")
    assert err.splitlines() == [
        "messages 0/4 (0%)",
        "messages 3/4 (75%)",
        "messages 4/4 (100%)",
        "tickets 0/2 (0%)",
        "tickets 2/2 (100%)",
        "raw payloads 0/1 (0%)",
        "raw payloads 1/1 (100%)",
    ]


def test_a_batch_costs_the_same_queries_whatever_its_size(old_data):
    def old_tickets(count):
        for index in range(count):
            ticket = Ticket.objects.create(
                customer=old_data["ticket"].customer, channel="email", subject=f"card {CARD}"
            )
            message = Message.objects.create(
                ticket=ticket, direction="inbound", channel="email", text=f"{index} card {CARD}"
            )
            Attachment.objects.create(
                message=message, file="a", name=f"{ID_NUMBER}.pdf", size=1, sha256="0" * 64
            )
            stored = InboundMessage.objects.create(channel="email", raw=b"", sha256="2" * 64)
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE tickets_inboundmessage SET raw = %s WHERE id = %s", [RAW, stored.pk]
                )

    with CaptureQueriesContext(connection) as small:
        remask("--batch-size", "1000")
    old_tickets(40)
    with CaptureQueriesContext(connection) as large:
        remask("--batch-size", "1000")
    assert len(large.captured_queries) == len(small.captured_queries)
    assert not Message.objects.filter(text__contains=CARD).exists()


def test_the_search_no_longer_finds_the_full_number(old_data):
    ticket = old_data["ticket"]
    assert ticket.pk in set(search.tickets_with_text(CARD).values_list("ticket_id", flat=True))
    remask()
    assert not search.tickets_with_text(CARD).exists()
    assert ticket.pk in set(search.tickets_with_text("0123").values_list("ticket_id", flat=True))


def test_a_bad_batch_size_is_refused():
    with pytest.raises(CommandError):
        remask("--batch-size", "0")
