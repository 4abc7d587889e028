"""Personal data at rest (issue 16): the issue's mail, sent by email, chat and WeChat, is
stored masked, its values encrypted beside it, its raw payload encrypted, and the
database itself (every column of every table, and on SQLite the database file's bytes)
holds no full card or ID number."""

import re
import sqlite3
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import actions as chat_actions
from chat.messages import Pending, store_messages
from tests.tickets.sources.wechat.signing import text_xml
from tickets import actions, selectors
from tickets.models import InboundMessage, Message, SensitiveValue, Ticket
from tickets.sources.email import intake as email_intake
from tickets.sources.wechat import intake as wechat_intake

pytestmark = pytest.mark.django_db

# The mail, and an English one with a valid (Luhn) card and a passport.
CHINESE = "我的身份证号是110101199003074514，银行卡号6222021234567890123，新手机号13912345678"
ENGLISH = "Hello, my Visa card 4539-1488-0343-6467 was charged twice; my passport is E12345678."
FULL_NUMBERS = ["110101199003074514", "6222021234567890123", "4539148803436467"]
# Separators a number may be written with (half- and full-width spaces, dashes).
SEPARATORS = re.compile(r"[\s\-\u3000\uff0d]")


def full_numbers_in(text: str) -> list[str]:
    """The full card and ID numbers in ``text``, written with or without separators."""
    squeezed = SEPARATORS.sub("", text)
    return [number for number in FULL_NUMBERS if number in squeezed]


def mail(*, subject: str, body: str, attachment: str = "") -> bytes:
    message = EmailMessage()
    message["From"] = "Li Wei <li.wei@example.com>"
    message["To"] = "support@mywallet.example"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mail.example.com")
    message.set_content(body)
    if attachment:
        message.add_attachment(b"scan", maintype="image", subtype="png", filename=attachment)
    return message.as_bytes()


def by_email(body: str = f"{CHINESE}\n\n{ENGLISH}") -> Message:
    raw = mail(
        subject="银行卡 6222 0212 3456 7890 123 被冻结",
        body=body,
        attachment="card-6222021234567890123.png",
    )
    stored = email_intake.store(raw, source="test")
    assert email_intake.process(stored) == InboundMessage.Status.PROCESSED
    stored.refresh_from_db()
    return stored.message


def by_chat(text: str = CHINESE):
    conversation = chat_actions.start_conversation(
        session_key="s", contact="li.wei@example.com", name="Li Wei"
    )
    (result,) = store_messages(
        [Pending(conversation_id=conversation.pk, client_id="c1", text=text, kind="customer")]
    )
    return result


def by_wechat(text: str = CHINESE) -> Message:
    stored = wechat_intake.store(text_xml("oWx_test_liwei_0001", text, 4001))
    assert wechat_intake.process(stored) == InboundMessage.Status.PROCESSED
    stored.refresh_from_db()
    return stored.message


def test_a_mail_is_stored_masked_everywhere_and_its_values_kept_encrypted():
    message = by_email()
    assert message.text.startswith(
        "我的身份证号是1101**********4514，银行卡号622202*********0123，新手机号139****5678"
    )
    assert "453914******6467" in message.text
    assert full_numbers_in(message.subject) == []
    ticket = message.ticket
    assert full_numbers_in(ticket.subject) == [] and "*" in ticket.subject
    assert full_numbers_in(ticket.last_message_preview) == []
    (attachment,) = message.attachments.all()
    assert full_numbers_in(attachment.name) == [] and attachment.name.endswith(".png")
    values = {(row.kind, row.value) for row in message.sensitive_values.all()}
    assert values == {
        ("id_number", "110101199003074514"),
        ("card", "6222021234567890123"),
        ("phone", "+8613912345678"),
        ("card", "4539148803436467"),
        ("passport", "E12345678"),
    }
    positions = list(message.sensitive_values.values_list("position", flat=True))
    assert positions == list(range(len(values)))  # each value once, subject first


def test_a_chat_line_is_stored_masked_and_every_viewer_is_sent_the_masked_line():
    result = by_chat()
    message = Message.objects.get(pk=result.message_id)
    assert message.text == (
        "我的身份证号是1101**********4514，银行卡号622202*********0123，新手机号139****5678"
    )
    assert result.frame["text"] == message.text
    assert message.sensitive_values.count() == 3


def test_a_wechat_message_is_stored_masked_and_its_payload_encrypted():
    message = by_wechat()
    assert full_numbers_in(message.text) == []
    assert message.sensitive_values.count() == 3
    stored = InboundMessage.objects.get(channel="wechat")
    assert CHINESE.encode() in bytes(stored.raw)  # read back through the field: as received
    with connection.cursor() as cursor:
        cursor.execute("SELECT raw FROM tickets_inboundmessage WHERE id = %s", [stored.pk])
        (column,) = cursor.fetchone()
    assert b"6222021234567890123" not in bytes(column)
    assert bytes(column).startswith(b"gAAAAA")  # a Fernet token


def test_an_answer_masks_a_card_but_keeps_the_desks_phone_as_written(agent):
    ticket = by_email("Please help").ticket
    answer = actions.reply(
        ticket,
        acting_user=agent,
        body="Your card 6222021234567890123 is blocked; call 13912345678 or help@mywallet.cn.",
    )
    answer.refresh_from_db()
    assert "622202*********0123" in answer.text
    assert "13912345678" in answer.text and "help@mywallet.cn" in answer.text
    assert [row.kind for row in answer.sensitive_values.all()] == ["card"]


def test_a_note_masks_every_kind(agent):
    ticket = by_email("Please help").ticket
    note = actions.reply(
        ticket, acting_user=agent, body="He called from 13912345678", internal=True
    )
    note.refresh_from_db()
    assert "139****5678" in note.text


def test_search_finds_a_message_by_the_number_however_the_agent_types_it():
    ticket = by_email().ticket
    by_chat("hello")  # another ticket, which no number finds
    for term in ["6222 0212 3456 7890 123", "110101199003074514", "139-1234-5678", "E12345678"]:
        found = selectors.search_tickets(Ticket.objects.all(), term)
        assert list(found.values_list("pk", flat=True)) == [ticket.pk], term
    assert not selectors.search_tickets(Ticket.objects.all(), "6222021234567890124").exists()


def test_a_batch_of_chat_lines_with_numbers_takes_as_many_queries_whatever_its_size():
    conversation = chat_actions.start_conversation(
        session_key="s", contact="li.wei@example.com", name="Li Wei"
    )

    def queries_for(size: int, prefix: str) -> int:
        batch = [
            Pending(conversation.pk, f"{prefix}{index}", f"{CHINESE} {index}", "customer")
            for index in range(size)
        ]
        with CaptureQueriesContext(connection) as queries:
            results = store_messages(batch)
        assert all(result.frame for result in results)
        return len(queries)

    # Warm: the conversation's first line with a number also warns the customer, once
    # (tickets.actions.pii_notice); the batches measured after it do the same work.
    queries_for(1, "warm")
    assert queries_for(3, "a") == queries_for(30, "b")
    assert SensitiveValue.objects.count() == 34 * 3


def database_dump() -> str:
    """Every column of every row of every table, as text (bytes read as Latin-1, so any
    ASCII digits in them show)."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        parts.append(bytes(value).decode("latin-1"))
                    elif value is not None:
                        parts.append(str(value))
    return "\n".join(parts)


def ingest_everywhere() -> None:
    by_email()
    by_chat()
    by_wechat(f"{CHINESE} {ENGLISH}")


def test_no_column_of_any_table_holds_a_full_card_or_id_number():
    ingest_everywhere()
    dump = database_dump()
    assert "622202*********0123" in dump  # the dump reads the messages
    assert full_numbers_in(dump) == []


@pytest.mark.django_db(transaction=True)  # committed: the backup waits for no transaction
def test_the_sqlite_database_file_holds_no_full_card_or_id_number(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite file; PostgreSQL is read column by column above")
    ingest_everywhere()
    # The test database lives in memory: the backup API copies its every page (free pages
    # included) into a file in WAL mode, read after a checkpoint with its -wal file.
    connection.ensure_connection()
    path = tmp_path / "copy.sqlite3"
    copy = sqlite3.connect(path)
    copy.execute("PRAGMA journal_mode=WAL")
    connection.connection.backup(copy)
    copy.execute("PRAGMA wal_checkpoint(FULL)")
    files = [path, tmp_path / "copy.sqlite3-wal"]
    content = b"".join(file.read_bytes() for file in files if file.exists())
    copy.close()
    assert b"622202*********0123" in content
    text = content.decode("latin-1") + content.decode("utf-16-le", errors="ignore")
    assert full_numbers_in(text) == []
