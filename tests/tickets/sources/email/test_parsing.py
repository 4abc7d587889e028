"""The pure email parser on real-world mail (tests/fixtures/emails/) and on edge cases built
in code. Each fixture is described in tests/fixtures/emails/README.md."""

import random
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tickets.sources.email.parsing import (
    EmailRejected,
    ParsedEmail,
    find_reference,
    parse_email,
    reference_re,
)
from tickets.sources.email.reports import Bounce
from tickets.text import quoted_split

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "emails"
CST = timezone(timedelta(hours=8))


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(name: str, **limits) -> ParsedEmail:
    return parse_email(fixture(name), **limits)


def built(**headers) -> EmailMessage:
    message = EmailMessage()
    message["From"] = headers.pop("From", "Customer <customer@example.com>")
    message["To"] = headers.pop("To", "support@mywallet.example")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return message


# --- the fixture corpus -----------------------------------------------------------------------


def test_a_plain_gmail_message_is_read_exactly():
    parsed = parse("gmail_plain.eml")
    assert parsed.message_id == "CAJ9x8Pq2W+Vb1uT5nGdA=kKfZ6o8sQ-3vYx7g@mail.gmail.com"
    assert parsed.from_address == "alice.chen@gmail.com"
    assert parsed.from_name == "Alice Chen"
    assert parsed.to == ("support@mywallet.example",)
    assert parsed.cc == ()
    assert parsed.reply_to == ""
    assert parsed.delivered_to == ("support@mywallet.example",)
    assert parsed.subject == "Payment failed twice at the supermarket"
    assert parsed.date == datetime(2026, 11, 19, 9, 13, 55, tzinfo=CST)
    assert parsed.in_reply_to == ()
    assert parsed.references == ()
    assert parsed.ticket_reference == ""
    assert parsed.html == ""
    assert parsed.attachments == ()
    assert parsed.auto_submitted is False
    assert parsed.bounce is None
    assert parsed.charset_warnings == ()
    assert parsed.oversized is False
    assert parsed.language == "en"


def test_windows_paths_with_backslashes_in_a_plain_body_are_kept_exactly():
    text = parse("gmail_plain.eml").text
    assert text.startswith("Hello,\n\nMy payment at FreshMart failed twice")
    assert "C:\\Users\\alice\\Pictures\\wallet\\fail-1.png and\n" in text
    assert text.endswith("Thanks,\nAlice")


def test_an_outlook_alternative_gives_the_plain_text_and_the_raw_html():
    parsed = parse("outlook_alternative_html.eml")
    assert parsed.from_address == "bob.li@contoso.example"
    assert parsed.from_name == "Li, Bob"
    assert parsed.cc == ("carol.wang@contoso.example", "bob.li@contoso.example")
    assert parsed.subject == "Cannot bind credit card - error E1043"
    assert parsed.date == datetime(2026, 11, 19, 2, 31, 5, tzinfo=UTC)
    assert parsed.text.startswith(
        "Hi team,\n\nI can\u2019t bind my new credit card & the app shows error E1043."
    )
    # Unsanitised here: receive() cleans it with nh3.
    assert "<script>alert('x')</script>" in parsed.html
    assert 'href="javascript:alert(document.cookie)"' in parsed.html
    assert parsed.attachments == ()
    assert parsed.charset_warnings == ()


def test_qq_mail_gbk_subject_name_and_body_are_decoded_as_gb18030():
    parsed = parse("qq_gbk.eml")
    assert parsed.message_id == "tencent_5F2B8E4AC9D1E3F0A7B6C5D4E3F2A1B0C809@qq.com"
    assert parsed.from_address == "88120357@qq.com"
    assert parsed.from_name == "张喆"  # 喆 is in GBK, not in GB2312
    assert parsed.subject == "钱包账户被锁定，无法付款"
    assert parsed.text == (
        "您好：\n\n我是张喆，今天输错了三次支付密码，钱包账户被锁定了，现在无法付款。\n"
        "请帮我解锁，谢谢！\n\n张喆"
    )
    assert parsed.html.startswith("<div>您好：</div>")  # labelled gb2312, holds 喆
    assert parsed.charset_warnings == ()
    assert parsed.language == "zh-hans"


def test_a_foxmail_reply_without_threading_headers_still_names_its_ticket():
    parsed = parse("foxmail_reply_no_references.eml")
    assert parsed.from_address == "lina_1990@foxmail.com"
    assert parsed.from_name == "李娜"
    assert parsed.subject == "回复: [MW-000123] 付款失败"
    assert parsed.in_reply_to == ()
    assert parsed.references == ()
    assert parsed.ticket_reference == "MW-000123"
    new, quoted = quoted_split(parsed.text)
    assert new == "好的，我重新安装了App，现在可以付款了。\n\n李娜"
    assert quoted.startswith("------------------ 原始邮件 ------------------\n发件人:")
    assert quoted.endswith("您好，请清除缓存或重新安装App后再试。")


def test_a_subject_split_across_folded_encoded_words_mid_character_comes_out_whole():
    parsed = parse("rfc2047_folded_subject.eml")
    assert parsed.subject == "我的钱包余额显示不正确，请帮忙核实一下最近的交易记录"
    assert parsed.from_name == "王强"
    assert parsed.text == "你好，\n\n我的余额少了 58.00 元，最近一笔交易是昨天在星巴克。\n\n王强"
    assert parsed.charset_warnings == ()


def test_rfc2231_chinese_file_names_are_decoded_with_their_continuations():
    parsed = parse("rfc2231_chinese_filename.eml")
    assert parsed.subject == "账单有误"
    assert [(a.name, a.content_type, len(a.content)) for a in parsed.attachments] == [
        ("2026年11月账单明细.pdf", "application/pdf", 125),
        ("交易.csv", "text/csv", 83),
    ]
    assert parsed.attachments[0].content.startswith(b"%PDF-1.4")
    # format=flowed: the line ending in a space continues on the next.
    assert (
        parsed.text == "您好，附件是我的账单，其中 11 月 19 日星巴克的扣款重复了， 请核实。\n\n赵敏"
    )


def test_file_names_are_reduced_to_a_safe_base_name():
    parsed = parse("path_traversal_filename.eml")
    assert parsed.text == "See attached."
    assert [(a.name, a.content_type, len(a.content)) for a in parsed.attachments] == [
        ("passwd", "text/plain", 32),
        # The right-to-left override that made it read "invoiceexe.pdf" is gone.
        ("invoicefdp.exe", "application/octet-stream", 32),
        ("win.ini", "application/octet-stream", 9),
    ]


def test_an_inline_cid_image_is_kept_as_an_attachment_with_its_content_id():
    parsed = parse("inline_cid_image.eml")
    assert parsed.text == "The payment page shows this error:\n\n[error]\n\nThanks, Dana"
    assert 'src="cid:image001.png@01DB3A2C.5F1E0B70"' in parsed.html
    [image] = parsed.attachments
    assert (image.name, image.content_type, len(image.content), image.content_id) == (
        "image001.png",
        "image/png",
        70,
        "image001.png@01DB3A2C.5F1E0B70",
    )
    assert image.content.startswith(b"\x89PNG")


def test_an_out_of_office_reply_is_marked_automatic():
    parsed = parse("auto_reply.eml")
    assert parsed.auto_submitted is True
    assert parsed.bounce is None
    assert parsed.subject == "Automatic reply: [MW-000123] Cannot bind credit card - error E1043"
    assert parsed.ticket_reference == "MW-000123"
    assert parsed.in_reply_to == ("mw.000123.2.8f14e45f@mywallet.example",)


def test_a_mailing_list_message_is_marked_automatic():
    parsed = parse("mailing_list.eml")
    assert parsed.auto_submitted is True
    assert parsed.to == ("fintech-cn@googlegroups.com",)
    assert parsed.cc == ("support@mywallet.example",)
    assert quoted_split(parsed.text) == (
        "Does anyone know which wallets let you log in with Weibo?",
        "--\nYou received this message because you are subscribed to the Google Groups "
        '"fintech-cn" group.',
    )


def test_a_delivery_status_bounce_names_our_original_message_and_the_failure():
    parsed = parse("bounce_dsn.eml")
    assert parsed.bounce == Bounce(
        original_message_id="mw.000123.4.c9f0f895@mywallet.example",
        permanent=True,
        recipient="no.such.user@qq.com",
        diagnostic=(
            "550 5.1.1 Mailbox not found. "
            "http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000728"
        ),
        status="5.1.1",
        action="failed",
    )
    assert parsed.auto_submitted is True
    assert parsed.from_address == "mailer-daemon@mail.mywallet.example"
    assert parsed.text.startswith("This is the mail system at host mail.mywallet.example.")


def test_a_delayed_delivery_report_is_not_permanent():
    raw = fixture("bounce_dsn.eml").replace(b"Action: failed", b"Action: delayed")
    raw = raw.replace(b"Status: 5.1.1", b"Status: 4.4.1")
    bounce = parse_email(raw).bounce
    assert (bounce.permanent, bounce.status, bounce.action) == (False, "4.4.1", "delayed")


def test_an_unknown_charset_is_decoded_best_effort_and_flagged():
    parsed = parse("unknown_charset.eml")
    assert parsed.subject == "Refund request"
    assert parsed.text == "请退还重复扣除的 12.00 元。"
    assert parsed.charset_warnings == (
        "unknown charset x-unknown in the Subject header, decoded as utf-8",
        "unknown charset x-unknown in part 1, decoded as utf-8",
    )


def test_gbk_bytes_labelled_utf8_are_decoded_as_gb18030_and_flagged():
    parsed = parse("wrong_charset_label.eml")
    assert parsed.subject == "更换绑定手机号"
    assert parsed.text == "我想把绑定的手机号换成 139 0000 1234。"
    assert parsed.charset_warnings == ("charset utf-8 in part 1 does not fit, decoded as gb18030",)


def test_latin1_bytes_with_no_charset_are_decoded_as_windows_1252_and_flagged():
    parsed = parse("latin1_no_charset.eml")
    assert parsed.from_name == "José García"
    assert parsed.text == "Mi cuenta está bloqueada después de tres intentos.\nJosé"
    assert parsed.charset_warnings == (
        "raw 8-bit bytes in the From header, decoded as windows-1252",
        "no charset declared in part 1, decoded as windows-1252",
    )


def test_a_message_without_from_is_rejected_with_the_reason():
    with pytest.raises(EmailRejected, match=r"^The message has no From address\.$"):
        parse("no_from.eml")


def test_an_outlook_reply_folds_the_original_message():
    parsed = parse("outlook_original_message.eml")
    assert parsed.subject == "RE: [MW-000123] Cannot bind credit card - error E1043"
    assert parsed.in_reply_to == ("mw.000123.2.8f14e45f@mywallet.example",)
    assert parsed.references == (
        "AM0PR02MB5521A3C0F3E4D7B9C2B1E8A4D2642@AM0PR02MB5521.eurprd02.prod.outlook.com",
        "mw.000123.2.8f14e45f@mywallet.example",
    )
    new, quoted = quoted_split(parsed.text)
    assert new == "Thanks, updating the app fixed it.\n\nBob"
    assert quoted.startswith("-----Original Message-----\nFrom: MY Wallet Support")
    assert quoted.endswith("Please update the app to 5.2.2 and try again.\n\nMY Wallet Support")


def test_a_chinese_reply_folds_the_zai_xiedao_quote():
    parsed = parse("chinese_reply_quoting.eml")
    assert parsed.from_name == "陈静"
    assert parsed.ticket_reference == "MW-000456"
    assert quoted_split(parsed.text) == (
        "已经收到验证码，密码重置成功了，谢谢！",
        "在 2026年11月20日 写道：\n"
        "> 您好，请在App中点击“忘记密码”，输入注册手机号获取验证码。\n> \n> MY钱包客服",
    )
    assert parsed.language == "zh-hans"


def test_a_forwarded_message_is_kept_as_an_eml_attachment():
    parsed = parse("forwarded_rfc822.eml")
    assert parsed.text == "This receipt looks wrong, the amount was charged twice."
    [forwarded] = parsed.attachments
    assert (forwarded.name, forwarded.content_type) == (
        "Your MY Wallet payment receipt.eml",
        "message/rfc822",
    )
    inner = message_from_bytes(forwarded.content, policy=policy.default)
    assert inner["Message-ID"] == "<receipt.8842197@mywallet.example>"
    assert inner.get_content().strip() == "You paid 45.00 to FreshMart."


def test_html_only_mail_gets_text_without_tags_scripts_or_entities():
    parsed = parse("html_only.eml")
    assert parsed.text == (
        "Please freeze my account \u2013 my phone was stolen.\n\n"
        "> Earlier: I lost it at the station.\n\n"
        "Ivan\n+44 20 7946 0000"
    )
    assert "<script>steal()</script>" in parsed.html


def test_a_multipart_whose_boundary_never_appears_is_shown_as_text():
    parsed = parse("malformed_boundary.eml")
    assert "My card was charged but the order failed." in parsed.text
    assert parsed.warnings == ("part 1 is a multipart without parts",)


# --- edge cases built in code -----------------------------------------------------------------


def test_empty_bytes_are_rejected():
    with pytest.raises(EmailRejected, match="empty"):
        parse_email(b"")
    with pytest.raises(EmailRejected, match="empty"):
        parse_email(b"\r\n \r\n")


def test_headers_over_the_limit_are_rejected_before_parsing():
    raw = b"From: a@example.com\r\nX-Junk: " + b"a" * 300_000 + b"\r\n\r\nbody"
    with pytest.raises(EmailRejected, match="headers are larger than 262144 bytes"):
        parse_email(raw)
    # The headers of every part count too.
    message = built(Subject="padded parts")
    message.set_content("body")
    for number in range(20):
        message.add_attachment(
            b"x",
            maintype="application",
            subtype="octet-stream",
            filename=f"{number}.bin",
            headers=[f"X-Pad: {'p' * 200}"],
        )
    with pytest.raises(EmailRejected, match="larger than 4000 bytes"):
        parse_email(message.as_bytes(), max_header_bytes=4000)


def test_pathological_headers_are_refused_or_cut_short_instead_of_taking_seconds():
    raw = b"From: a@example.com\r\nContent-Type: text/plain; " + b"a=b; " * 5000 + b"\r\n\r\nx"
    with pytest.raises(EmailRejected, match="A Content-Type header is too large"):
        parse_email(raw)
    raw = b"From: a@example.com\r\nTo: " + b"x@example.com, " * 10000 + b"\r\n\r\nx"
    parsed = parse_email(raw)
    assert parsed.to == ("x@example.com",)
    assert parsed.warnings == ("the To header is too long; only its start was read",)


@pytest.mark.parametrize(
    "sender",
    [
        "alice@example.org)<bob@example.org>",
        "Alice <alice@example.org>, Bob <bob@example.org>",
        "not an address",
        "Joe <joe@example.com",
        "<>",
        "a@b",
    ],
)
def test_a_from_that_is_not_exactly_one_valid_address_is_rejected(sender):
    raw = b"From: " + sender.encode() + b"\r\nSubject: x\r\n\r\nbody\r\n"
    with pytest.raises(EmailRejected, match="From"):
        parse_email(raw)


def test_two_different_from_headers_are_rejected():
    raw = b"From: a@example.com\r\nFrom: b@example.com\r\n\r\nbody\r\n"
    with pytest.raises(EmailRejected, match="more than one From header"):
        parse_email(raw)


def test_a_raw_gbk_subject_and_display_name_are_decoded():
    """QQ Mail's older servers send 8-bit GBK headers with no encoded words at all."""
    raw = (
        b'From: "'
        + "刘德华".encode("gbk")
        + b'" <ldh@qq.com>\r\nSubject: '
        + "回复: MW-000123 账户冻结".encode("gbk")
        + b"\r\n\r\nbody\r\n"
    )
    parsed = parse_email(raw)
    assert parsed.from_name == "刘德华"
    assert parsed.subject == "回复: MW-000123 账户冻结"
    assert parsed.ticket_reference == "MW-000123"
    assert parsed.charset_warnings == (
        "raw 8-bit bytes in the From header, decoded as gb18030",
        "raw 8-bit bytes in the Subject header, decoded as gb18030",
    )


def test_attachments_beyond_the_size_limit_are_dropped_and_flagged():
    message = built(Subject="big")
    message.set_content("See the files.")
    message.add_attachment(b"a" * 1000, maintype="text", subtype="plain", filename="notes.txt")
    message.add_attachment(
        b"PK" + b"\0" * 15_000_000, maintype="application", subtype="zip", filename="logs.zip"
    )
    message.add_attachment(b"x,y\n1,2\n", maintype="text", subtype="csv", filename="data.csv")
    parsed = parse_email(message.as_bytes())
    assert [(a.name, len(a.content)) for a in parsed.attachments] == [
        ("notes.txt", 1000),
        ("data.csv", 8),
    ]
    assert parsed.oversized is True
    assert parsed.dropped_attachments == ("logs.zip",)
    assert parsed.text == "See the files."


def test_a_message_with_500_parts_is_read_up_to_the_part_limit():
    message = built(Subject="many parts")
    message.set_content("body")
    for number in range(499):
        message.add_attachment(
            b"x", maintype="application", subtype="octet-stream", filename=f"{number}.bin"
        )
    parsed = parse_email(message.as_bytes())
    assert parsed.text == "body"
    # 200 parts: the multipart itself, the body and 198 attachments.
    assert len(parsed.attachments) == 198
    assert parsed.warnings == ("the message has more than 200 parts; the rest were not read",)


def test_deeply_nested_multiparts_do_not_escape_as_an_error():
    depth = 3000
    head = b"From: a@example.com\r\n"
    body = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(depth)
    )
    raw = head + body + b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    try:
        parsed = parse_email(raw)
    except EmailRejected:
        return
    assert len(parsed.warnings) <= 1


def test_names_of_unnamed_attachments_come_from_their_content_type():
    message = built(Subject="files")
    message.set_content("body")
    message.add_attachment(b"\x89PNG", maintype="image", subtype="png")
    message.add_attachment(
        b"BEGIN:VCALENDAR", maintype="text", subtype="calendar", disposition="attachment"
    )
    message.add_attachment(b"...", maintype="application", subtype="x-unheard-of")
    names = [a.name for a in parse_email(message.as_bytes()).attachments]
    assert names == ["attachment-1.png", "attachment-2.ics", "attachment-3"]


def test_a_very_long_file_name_is_cut_to_255_characters_keeping_its_extension():
    message = built(Subject="files")
    message.set_content("body")
    message.add_attachment(
        b"%PDF", maintype="application", subtype="pdf", filename="账" * 400 + ".pdf"
    )
    [attachment] = parse_email(message.as_bytes()).attachments
    assert len(attachment.name) == 255
    assert attachment.name.endswith("账.pdf")


def test_a_date_without_zone_is_taken_as_utc_and_a_broken_date_as_missing():
    message = built(Subject="x", Date="Fri, 20 Nov 2026 10:00:00 -0000")
    message.set_content("x")
    assert parse_email(message.as_bytes()).date == datetime(2026, 11, 20, 10, tzinfo=UTC)
    raw = b"From: a@example.com\r\nDate: yesterday, around noon\r\n\r\nx"
    assert parse_email(raw).date is None


def test_auto_submitted_no_is_a_person_and_an_empty_return_path_is_not():
    message = built(Subject="x", Auto_Submitted="no")
    message.set_content("x")
    assert parse_email(message.as_bytes()).auto_submitted is False
    message = built(Subject="x", Return_Path="<>")
    message.set_content("x")
    assert parse_email(message.as_bytes()).auto_submitted is True
    message = built(Subject="x", X_Autoreply="yes")
    message.set_content("x")
    assert parse_email(message.as_bytes()).auto_submitted is True


@pytest.mark.parametrize(
    ("subject", "automatic"),
    [
        ("Automatic reply: [MW-000123] Cannot bind card", True),  # Outlook
        ("Out of Office: Payment failed", True),
        ("Out of Office AutoReply: Payment failed", True),  # Lotus Notes
        ("Auto: 付款失败", True),
        ("AutoReply: hello", True),
        ("[Auto-Reply] hello", True),
        ("自动回复：支付失败", True),  # QQ Mail, Foxmail
        ("自动回复: 支付失败", True),
        ("【自动回复】您好", True),
        ("自動回覆：您好", True),
        ("休假中：支付失败", True),
        ("休假: 12月10日回来", True),
        ("不在办公室: 支付失败", True),
        ("Re: Automatic reply settings in the app", False),
        ("Auto top-up failed", False),
        ("Automobile insurance payment", False),
        ("休假期间无法支付", False),  # a customer writing about their holiday
        ("自动回复功能坏了", False),
        ("Office hours?", False),
    ],
)
def test_the_subjects_of_out_of_office_replies_mark_them_automatic(subject, automatic):
    message = built(Subject=subject)
    message.set_content("x")
    assert parse_email(message.as_bytes()).auto_submitted is automatic


def test_message_ids_lose_their_brackets_and_keep_their_order():
    raw = (
        b"From: a@example.com\r\nMessage-ID:   <abc@x.example> \r\n"
        b"In-Reply-To: <two@x.example>\r\n"
        b"References: <one@x.example>\r\n <two@x.example> <one@x.example>\r\n\r\nx"
    )
    parsed = parse_email(raw)
    assert parsed.message_id == "abc@x.example"
    assert parsed.in_reply_to == ("two@x.example",)
    assert parsed.references == ("one@x.example", "two@x.example")


def test_nul_characters_never_reach_the_text():
    """PostgreSQL refuses NUL in text columns; one stray byte must not fail the message."""
    raw = b"From: a@example.com\r\nSubject: a\x00b\r\n\r\nline\x00one\r\n"
    parsed = parse_email(raw)
    assert (parsed.subject, parsed.text) == ("ab", "lineone")


# --- references -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "reference"),
    [
        ("[MW-000123] Payment failed", "MW-000123"),
        ("Re: 回复: MW-000123 付款失败", "MW-000123"),
        ("回复:MW-000123付款失败", "MW-000123"),
        ("re: [mw-000123]", "MW-000123"),
        # Full-width, as a Chinese input method types it.
        ("Fwd: 【\uff2d\uff37\uff0d\uff10\uff10\uff10\uff11\uff12\uff13】", "MW-000123"),
        ("Ticket MW-1234567", "MW-1234567"),
        ("XMW-000123", ""),
        ("MW-123", ""),
        ("MW-0001234567890", ""),
        ("no reference", ""),
    ],
)
def test_the_ticket_reference_is_found_in_the_subject(subject, reference):
    assert find_reference(subject, "MW") == reference


def test_the_reference_prefix_is_an_argument():
    assert find_reference("Re: [HD-000042] hello", prefix="HD") == "HD-000042"
    assert find_reference("Re: [MW-000042] hello", prefix="HD") == ""
    assert reference_re("MW").search("[MW-000042]").group(1) == "000042"
    assert reference_re("HD") is reference_re("HD")


def test_parse_email_looks_for_the_prefix_it_is_given():
    message = built(Subject="Re: [HD-000042] Card binding")
    message.set_content("Still failing.")
    assert parse_email(message.as_bytes(), reference_prefix="HD").ticket_reference == "HD-000042"
    message.replace_header("Subject", "Re: [MW-000042] Card binding")
    assert parse_email(message.as_bytes(), reference_prefix="HD").ticket_reference == ""


# --- never anything but EmailRejected ---------------------------------------------------------


def _mutate(data: bytes, rng: random.Random) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        kind = rng.random()
        position = rng.randrange(len(data) + 1)
        if kind < 0.3 and data:
            del data[position : position + rng.randint(1, 64)]
        elif kind < 0.6:
            data[position:position] = rng.randbytes(rng.randint(1, 16))
        elif kind < 0.8:
            snippet = rng.choice(
                [
                    b"\r\n",
                    b"\n\n",
                    b"--",
                    b"=?",
                    b"?=",
                    b"=?gbk?B?",
                    b"<",
                    b">",
                    b";",
                    b'"',
                    b"Content-Type: multipart/mixed; boundary=x\r\n",
                    b"\xff\xfe",
                    b"\x00",
                    b"filename*=UTF-8''%E2%80%AE",
                    b"charset=rot13",
                    b"Content-Transfer-Encoding: base64\r\n",
                ]
            )
            data[position:position] = snippet
        else:
            data = data[: rng.randrange(len(data) + 1)]
    return bytes(data)


def _parses_or_rejects(raw: bytes) -> None:
    try:
        parsed = parse_email(raw)
    except EmailRejected as exc:
        assert str(exc)
    else:
        assert isinstance(parsed, ParsedEmail)
        assert parsed.from_address == parsed.from_address.lower()


def test_mutated_fixtures_parse_or_are_rejected_and_nothing_else():
    rng = random.Random(20261125)
    corpus = [path.read_bytes() for path in sorted(FIXTURES.glob("*.eml"))]
    for _ in range(200):
        _parses_or_rejects(_mutate(rng.choice(corpus), rng))


def test_random_bytes_and_truncated_fixtures_parse_or_are_rejected():
    rng = random.Random(3)
    for _ in range(50):
        _parses_or_rejects(rng.randbytes(rng.randint(0, 2000)))
    for path in sorted(FIXTURES.glob("*.eml")):
        data = path.read_bytes()
        for cut in range(0, len(data), max(1, len(data) // 10)):
            _parses_or_rejects(data[:cut])
