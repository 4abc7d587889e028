"""The whole fixture corpus (tests/fixtures/emails/) through the real intake: stored raw,
parsed and filed by `intake.store` then `intake.process`, as every transport does.

The first test runs over every .eml in the folder, so a fixture added later is covered
without touching this file; the others say what each kind of mail must become.
"""

import email
import email.policy
import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django_tasks_db.models import DBTaskResult

from accounts.models import CustomerIdentity
from tickets import actions
from tickets.models import InboundMessage, Message, Ticket
from tickets.sources.email import intake

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "emails"
CORPUS = sorted(FIXTURES.glob("*.eml"))
FINAL = (
    InboundMessage.Status.PROCESSED,
    InboundMessage.Status.DUPLICATE,
    InboundMessage.Status.QUARANTINED,
)


@pytest.fixture(autouse=True)
def _attachments_in_a_temporary_folder(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def ingest(raw: bytes) -> InboundMessage:
    stored = intake.store(raw, source="test")
    intake.process(stored)
    stored.refresh_from_db()
    return stored


def the_message(stored: InboundMessage) -> Message:
    assert stored.status == InboundMessage.Status.PROCESSED, stored.reason
    return stored.message


def enqueued(name: str) -> list[list]:
    return [
        result.args_kwargs["args"]
        for result in DBTaskResult.objects.filter(task_path=f"tickets.sources.email.notices.{name}")
    ]


def acknowledgements() -> list[list]:
    """[ticket id, address, language] of each acknowledgement queued, whatever the batch."""
    return [item for args in enqueued("send_acknowledgements") for item in args[0]]


# --- every message ends somewhere, with a reason when it is not filed ----------------------


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.name)
def test_every_message_in_the_corpus_is_filed_or_quarantined_with_a_reason(path):
    raw = path.read_bytes()
    stored = ingest(raw)
    assert stored.status in FINAL, (stored.status, stored.reason)
    assert stored.processed_at is not None
    assert bytes(stored.raw) == raw
    if stored.status == InboundMessage.Status.QUARANTINED:
        assert stored.reason.strip()
    else:
        assert stored.message is not None
    messages = Message.objects.count()
    # The same bytes delivered again (a second transport, a re-read folder) file nothing new.
    again = ingest(raw)
    assert again.status in FINAL
    if stored.status == InboundMessage.Status.QUARANTINED:
        assert again.status == InboundMessage.Status.QUARANTINED
        assert again.reason == stored.reason
    else:
        assert again.status == InboundMessage.Status.DUPLICATE
        assert again.reason.strip()
        assert again.message == stored.message
    assert Message.objects.count() == messages
    assert not InboundMessage.objects.filter(
        status__in=[InboundMessage.Status.PENDING, InboundMessage.Status.FAILED]
    ).exists()


# --- what each kind of mail becomes ---------------------------------------------------------

# fixture: (customer address, customer name, ticket subject)
TICKETS = {
    "apple_mail_alternative.eml": ("xiaoyu.lin.mw@icloud.com", "林晓雨", "转账一直显示处理中"),
    "attachments_txt_csv_zip.eml": (
        "sam.okafor@web.example",
        "Sam Okafor",
        "Card binding error logs",
    ),
    "chinese_reply_quoting.eml": ("chenjing@126.com", "陈静", "Re: [MW-000456] 忘记支付密码"),
    "forwarded_rfc822.eml": (
        "henry.gao@gmail.com",
        "Henry Gao",
        "Fwd: Your MY Wallet payment receipt",
    ),
    "foxmail_reply_no_references.eml": (
        "lina_1990@foxmail.com",
        "李娜",
        "回复: [MW-000123] 付款失败",
    ),
    "gbk_8bit_no_charset.eml": ("zhou.peng@shop-cn.example", "", "账户被冻结"),
    "gmail_plain.eml": (
        "alice.chen@gmail.com",
        "Alice Chen",
        "Payment failed twice at the supermarket",
    ),
    "html_only.eml": ("ivan@example.com", "Ivan Petrov", "Freeze my account"),
    "html_script_javascript.eml": (
        "oscar.wu@shop.example",
        "Oscar Wu",
        "Double charge on order 8842197",
    ),
    "inline_cid_image.eml": ("dana.zhou@hotmail.com", "Dana Zhou", "Error screenshot"),
    "latin1_no_charset.eml": ("jose.garcia@example.es", "José García", "Cuenta bloqueada"),
    "malformed_boundary.eml": ("kim.lee@example.kr", "Kim Lee", "broken mime"),
    "outlook_alternative_html.eml": (
        "bob.li@contoso.example",
        "Li, Bob",
        "Cannot bind credit card - error E1043",
    ),
    "outlook_original_message.eml": (
        "bob.li@contoso.example",
        "Li, Bob",
        "RE: [MW-000123] Cannot bind credit card - error E1043",
    ),
    "path_traversal_filename.eml": ("mallory@evil.example", "Mallory", "Please check my documents"),
    "qq_gbk.eml": ("88120357@qq.com", "张喆", "钱包账户被锁定，无法付款"),
    "rfc2047_folded_subject.eml": (
        "wang.qiang@icloud.com",
        "王强",
        "我的钱包余额显示不正确，请帮忙核实一下最近的交易记录",
    ),
    "rfc2231_chinese_filename.eml": ("zhaomin@outlook.com", "Zhao Min", "账单有误"),
    "unknown_charset.eml": ("frank.xu@163.com", "Frank Xu", "Refund request"),
    "wrong_charset_label.eml": ("grace_ma@sina.com", "Grace Ma", "更换绑定手机号"),
}


@pytest.mark.parametrize("name", sorted(TICKETS))
def test_customer_mail_opens_a_ticket_for_the_sender_with_its_subject(name):
    address, customer_name, subject = TICKETS[name]
    message = the_message(ingest(fixture(name)))
    ticket = Ticket.objects.get()
    assert message.ticket == ticket
    assert ticket.channel == "email"
    assert ticket.subject == subject
    assert message.subject == subject
    assert message.sender.value == address
    assert ticket.customer.identities.get(kind="email").value == address
    assert ticket.customer.name == customer_name
    # Chinese (and Latin-1) decoded, not replaced: no U+FFFD anywhere an agent reads.
    for shown in (ticket.subject, message.text, message.html, ticket.customer.name):
        assert "\ufffd" not in shown


@pytest.mark.parametrize(
    ("name", "excerpt"),
    [
        ("qq_gbk.eml", "我是张喆，今天输错了三次支付密码，钱包账户被锁定了，现在无法付款。"),
        ("gbk_8bit_no_charset.eml", "我的钱包账户被冻结了，提示“账户存在风险”。"),
        ("apple_mail_alternative.eml", "我在 iPhone 上转账给朋友 200.00 元，页面一直显示“处理中”"),
        # The phone number is stored masked (issue 16: tickets.actions.thread).
        ("wrong_charset_label.eml", "我想把绑定的手机号换成 139****1234。"),
        ("foxmail_reply_no_references.eml", "好的，我重新安装了App，现在可以付款了。"),
        ("chinese_reply_quoting.eml", "已经收到验证码，密码重置成功了，谢谢！"),
        ("latin1_no_charset.eml", "Mi cuenta está bloqueada después de tres intentos."),
    ],
)
def test_chinese_and_undeclared_charsets_are_decoded_into_the_message(name, excerpt):
    assert excerpt in the_message(ingest(fixture(name))).text


def test_raw_gbk_without_any_charset_is_decoded_and_flagged():
    message = the_message(ingest(fixture("gbk_8bit_no_charset.eml")))
    assert message.text.startswith("客服你好：\n\n")
    assert message.metadata["charset_warnings"]  # a guess, for the agent to know


def test_windows_paths_with_backslashes_are_kept_byte_for_byte():
    text = the_message(ingest(fixture("windows_paths_plain.eml"))).text
    assert "I saved it to C:\\Users\\li\\Documents\\账单.pdf\n" in text
    assert "on the office share at \\\\server\\share\\file.txt\n" in text
    # Backslash sequences that look like escapes (\n, \t, \x41) stay as typed.
    assert "cannot open D:\\new\\table\\2026\\x41.csv\n" in text
    assert "Config folder: %APPDATA%\\MYWallet\\ (trailing backslash)" in text


def test_windows_paths_in_gmail_plain_text_are_kept_too():
    text = the_message(ingest(fixture("gmail_plain.eml"))).text
    assert "C:\\Users\\alice\\Pictures\\wallet\\fail-1.png and\n" in text


def stdlib_attachments(raw: bytes) -> dict[str, bytes]:
    """File name -> decoded bytes, as the standard library reads them (the reference)."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    return {
        part.get_filename(): part.get_payload(decode=True) for part in parsed.iter_attachments()
    }


def test_txt_csv_and_zip_attachments_next_to_a_plain_body_are_all_kept():
    raw = fixture("attachments_txt_csv_zip.eml")
    message = the_message(ingest(raw))
    assert message.text.startswith("Hello, the card binding still fails with E1043.")
    expected = stdlib_attachments(raw)
    kept = {attachment.name: attachment for attachment in message.attachments.all()}
    assert set(kept) == {"device.txt", "statement.csv", "logs.zip"} == set(expected)
    for name, attachment in kept.items():
        assert attachment.size == len(expected[name]) > 0
        with attachment.file.open("rb") as stored:
            assert stored.read() == expected[name]
    assert kept["device.txt"].content_type == "text/plain"
    assert kept["statement.csv"].content_type == "text/csv"
    assert kept["logs.zip"].content_type == "application/zip"
    with kept["logs.zip"].file.open("rb") as stored:
        archive = zipfile.ZipFile(io.BytesIO(stored.read()))
        assert archive.testzip() is None
        assert archive.namelist() == ["app-log.txt"]
    assert not message.metadata["oversized"]


def test_chinese_rfc2231_file_names_are_kept_with_their_sizes():
    raw = fixture("rfc2231_chinese_filename.eml")
    message = the_message(ingest(raw))
    expected = stdlib_attachments(raw)
    sizes = {attachment.name: attachment.size for attachment in message.attachments.all()}
    assert sizes == {name: len(content) for name, content in expected.items()}
    assert set(sizes) == {"2026年11月账单明细.pdf", "交易.csv"}


def test_path_traversal_file_names_are_reduced_to_safe_base_names():
    message = the_message(ingest(fixture("path_traversal_filename.eml")))
    attachments = list(message.attachments.order_by("pk"))
    assert [attachment.name for attachment in attachments] == [
        "passwd",
        "invoicefdp.exe",
        "win.ini",
    ]
    assert [attachment.size for attachment in attachments] == [32, 32, 9]
    for attachment in attachments:
        assert "/" not in attachment.name
        assert "\\" not in attachment.name
        assert ".." not in attachment.name
        assert "\u202e" not in attachment.name


def test_a_forwarded_message_keeps_the_original_as_an_eml_attachment():
    message = the_message(ingest(fixture("forwarded_rfc822.eml")))
    assert message.text == "This receipt looks wrong, the amount was charged twice."
    forwarded = message.attachments.get()
    assert forwarded.name == "Your MY Wallet payment receipt.eml"
    assert forwarded.content_type == "message/rfc822"
    with forwarded.file.open("rb") as stored:
        inner = email.message_from_bytes(stored.read(), policy=email.policy.default)
    assert inner["Message-ID"] == "<receipt.8842197@mywallet.example>"
    assert inner.get_content().strip() == "You paid 45.00 to FreshMart."


def test_a_message_whose_boundary_never_appears_is_filed_as_text():
    message = the_message(ingest(fixture("malformed_boundary.eml")))
    assert "My card was charged but the order failed." in message.text


@pytest.mark.parametrize(
    "name", ["html_script_javascript.eml", "outlook_alternative_html.eml", "html_only.eml"]
)
def test_scripts_javascript_links_and_event_handlers_are_gone_from_the_stored_html(name):
    html = the_message(ingest(fixture(name))).html.lower()
    assert html
    assert "<script" not in html
    assert "javascript:" not in html
    assert "onerror" not in html
    assert "onload" not in html
    assert "<iframe" not in html
    assert "cookie" not in html  # what the scripts tried to read


def test_sanitising_keeps_the_harmless_html():
    html = the_message(ingest(fixture("html_script_javascript.eml"))).html
    assert "<p>Hello, I was charged twice for order <b>8842197</b>." in html
    assert 'href="https://shop.example/orders/8842197"' in html
    assert '<img src="x" alt="receipt">' in html
    assert "phish.example" not in html


def test_inline_cid_images_are_kept_and_still_referenced():
    message = the_message(ingest(fixture("inline_cid_image.eml")))
    image = message.attachments.get()
    assert image.content_id == "image001.png@01DB3A2C.5F1E0B70"
    assert image.name == "image001.png"
    assert image.content_type == "image/png"
    assert image.size == 70
    assert 'src="cid:image001.png@01DB3A2C.5F1E0B70"' in message.html


def test_apple_mail_quoted_printable_gives_both_the_text_and_the_html():
    message = the_message(ingest(fixture("apple_mail_alternative.eml")))
    assert message.text.endswith("交易单号：T2026112708153321\n\n林晓雨")
    assert "<div>交易单号：T2026112708153321</div>" in message.html
    assert "=E6" not in message.text + message.html  # no quoted-printable left over
    assert message.metadata["charset_warnings"] == []
    assert acknowledgements() == [[message.ticket.pk, "xiaoyu.lin.mw@icloud.com", "zh-hans"]]


# --- mail that opens no ticket, or is never answered ----------------------------------------


def test_a_bounce_for_a_message_we_did_not_send_marks_nothing_and_is_quarantined(agent):
    # An earlier conversation with a reply of ours on its way: the bounce is not about it.
    ingest(fixture("gmail_plain.eml"))
    ticket = Ticket.objects.get()
    reply = actions.reply(ticket, acting_user=agent, body="Which supermarket was it?")
    Message.objects.filter(pk=reply.pk).update(
        external_id="mw.000001.2.1a2b3c4d@mywallet.example", delivery_status=Message.Delivery.SENT
    )
    messages = Message.objects.count()

    stored = ingest(fixture("bounce_dsn.eml"))

    assert stored.status == InboundMessage.Status.QUARANTINED
    assert stored.reason == "Delivery report for a message we did not send."
    assert stored.message is None
    assert Ticket.objects.count() == 1
    assert Message.objects.count() == messages
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.SENT
    assert not CustomerIdentity.objects.filter(undeliverable=True).exists()


@pytest.mark.parametrize("name", ["auto_reply.eml", "mailing_list.eml"])
def test_automatic_mail_answering_no_ticket_is_quarantined_and_never_acknowledged(name):
    stored = ingest(fixture(name))
    assert stored.status == InboundMessage.Status.QUARANTINED
    assert stored.reason.startswith("Automatic reply")
    assert bytes(stored.raw) == fixture(name)  # kept as received, reprocessable
    assert not Ticket.objects.exists()
    assert acknowledgements() == []
    assert not DBTaskResult.objects.filter(
        task_path__startswith="tickets.sources.email.notices.send_"
    ).exists()


def test_customer_mail_is_acknowledged_once():
    message = the_message(ingest(fixture("gmail_plain.eml")))
    assert acknowledgements() == [[message.ticket.pk, "alice.chen@gmail.com", "en"]]


def original_from(sender: str) -> bytes:
    """The first mail of the conversation the Foxmail reply continues."""
    original = EmailMessage()
    original["From"] = sender
    original["To"] = "support@mywallet.example"
    original["Subject"] = "付款失败"
    original["Date"] = "Fri, 20 Nov 2026 09:05:12 +0800"
    original["Message-ID"] = "<202611200905124471023@foxmail.com>"
    original.set_content("我在超市付款时一直失败，提示网络错误。")
    return original.as_bytes()


def file_original_as_mw_000123(sender: str) -> Ticket:
    ingest(original_from(sender))
    ticket = Ticket.objects.get()
    # References come from primary keys; the fixture's reply quotes MW-000123.
    Ticket.objects.filter(pk=ticket.pk).update(reference="MW-000123")
    ticket.refresh_from_db()
    return ticket


def test_a_foxmail_reply_without_references_threads_by_the_reference_in_its_subject():
    ticket = file_original_as_mw_000123('"李娜" <lina_1990@foxmail.com>')
    DBTaskResult.objects.all().delete()

    message = the_message(ingest(fixture("foxmail_reply_no_references.eml")))

    assert message.ticket == ticket
    assert Ticket.objects.count() == 1
    assert ticket.messages.count() == 2
    assert message.text.startswith("好的，我重新安装了App，现在可以付款了。")
    assert acknowledgements() == []  # a follow-up, not a new ticket


def test_the_same_reference_quoted_by_a_stranger_opens_a_linked_ticket():
    ticket = file_original_as_mw_000123("Someone Else <someone.else@example.net>")

    message = the_message(ingest(fixture("foxmail_reply_no_references.eml")))

    assert message.ticket != ticket
    assert message.ticket.follows_up == ticket
    assert ticket.messages.count() == 1


def test_a_foxmail_reply_to_an_unknown_reference_opens_a_new_ticket():
    message = the_message(ingest(fixture("foxmail_reply_no_references.eml")))
    assert message.ticket.reference != "MW-000123"
    assert message.ticket.follows_up is None


def test_mail_without_a_from_header_is_quarantined_with_the_reason():
    stored = ingest(fixture("no_from.eml"))
    assert stored.status == InboundMessage.Status.QUARANTINED
    assert "From" in stored.reason
    assert stored.message is None
    assert not Ticket.objects.exists()
    assert not DBTaskResult.objects.exists()


# --- size limits --------------------------------------------------------------------------


def test_a_15_mb_attachment_is_dropped_and_the_sender_told_but_the_message_is_filed():
    assert django_settings.EMAIL_MAX_MESSAGE_BYTES == 10 * 1024 * 1024
    mail = EmailMessage()
    mail["From"] = "Ruth Tan <ruth.tan@example.com>"
    mail["To"] = "support@mywallet.example"
    mail["Subject"] = "Screen recording of the failed payment"
    mail["Message-ID"] = "<screen-recording-1@mail.example.com>"
    mail.set_content("The recording of the failure is attached, and my receipt.")
    mail.add_attachment(
        bytes(range(256)) * (15 * 1024 * 1024 // 256),
        maintype="video",
        subtype="mp4",
        filename="recording.mp4",
    )
    mail.add_attachment(b"receipt 45.00", maintype="text", subtype="plain", filename="receipt.txt")

    message = the_message(ingest(mail.as_bytes()))

    assert message.text == "The recording of the failure is attached, and my receipt."
    assert message.metadata["oversized"] is True
    assert [(a.name, a.size) for a in message.attachments.all()] == [("receipt.txt", 13)]
    ticket = message.ticket
    assert enqueued("send_too_large_notice") == [
        [ticket.pk, "ruth.tan@example.com", 10 * 1024 * 1024, "en"]
    ]
    assert acknowledgements() == [[ticket.pk, "ruth.tan@example.com", "en"]]


def test_a_raw_8bit_gbk_file_name_is_decoded():
    """Older Foxmail and Outlook Express put the GBK bytes of a name in the header as is."""
    name = "账单.pdf".encode("gbk")
    raw = (
        b"From: Zhou Peng <zhou.peng@shop-cn.example>\r\n"
        b"To: support@mywallet.example\r\n"
        b"Subject: statement\r\n"
        b"Message-ID: <raw-gbk-name-1@shop-cn.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee attached.\r\n"
        b'--b1\r\nContent-Type: application/pdf; name="' + name + b'"\r\n'
        b'Content-Disposition: attachment; filename="' + name + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n"
    )
    message = the_message(ingest(raw))
    assert [attachment.name for attachment in message.attachments.all()] == ["账单.pdf"]
