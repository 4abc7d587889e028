"""Plain text of a message for people: HTML turned into text, and the quoted earlier mail
and signatures that the agent's view folds away, as real mail clients write them."""

from tickets.text import html_to_text, quoted_split


def test_gmail_attribution_wrapped_over_two_lines_is_folded():
    text = (
        "Yes, that worked.\n\nOn Thu, 19 Nov 2026 at 10:02, MY Wallet Support <\n"
        "support@mywallet.example> wrote:\n\n> Please try again.\n"
    )
    assert quoted_split(text) == (
        "Yes, that worked.",
        "On Thu, 19 Nov 2026 at 10:02, MY Wallet Support <\n"
        "support@mywallet.example> wrote:\n\n> Please try again.",
    )


def test_outlook_from_sent_block_is_folded_from_its_rule():
    text = (
        "Done.\n\n________________________________\n"
        "From: MY Wallet Support <support@mywallet.example>\n"
        "Sent: Thursday, November 19, 2026 10:02\nSubject: x\n\nold\n"
    )
    assert quoted_split(text) == (
        "Done.",
        "________________________________\nFrom: MY Wallet Support "
        "<support@mywallet.example>\nSent: Thursday, November 19, 2026 10:02\nSubject: x\n\nold",
    )


def test_chinese_outlook_header_block_and_qq_original_mail_are_folded():
    text = "好的\n\n发件人: MY钱包客服\n发送时间: 2026年11月20日 9:30\n主题: x\n\n旧内容"
    assert quoted_split(text)[0] == "好的"
    text = "收到\n-------- 原始邮件 --------\n发件人：客服\n旧内容"
    assert quoted_split(text) == ("收到", "-------- 原始邮件 --------\n发件人：客服\n旧内容")


def test_a_signature_and_a_trailing_quote_are_folded():
    assert quoted_split("Thanks\n-- \nBob Li\nContoso") == ("Thanks", "-- \nBob Li\nContoso")
    assert quoted_split("Sure.\n\n> old line\n>\n> older\n") == ("Sure.", "> old line\n>\n> older")
    assert quoted_split("谢谢\n\n发自我的iPhone") == ("谢谢", "发自我的iPhone")


def test_interleaved_replies_stay_visible():
    text = "> Which card?\nThe Visa.\n> Which app version?\n5.2.1\n"
    assert quoted_split(text) == (text.rstrip(), "")


def test_a_forwarded_message_is_not_folded():
    text = (
        "See below.\n\n---------- Forwarded message ---------\n"
        "From: MY Wallet <receipts@mywallet.example>\nDate: Wed, 25 Nov 2026\n\nYou paid 45.00"
    )
    assert quoted_split(text) == (text, "")


def test_nothing_is_folded_when_nothing_new_would_be_left():
    text = "On Thu, 19 Nov 2026, Alice wrote:\n> only a quote"
    assert quoted_split(text) == (text, "")
    assert quoted_split("") == ("", "")


def test_html_to_text_keeps_breaks_and_list_items():
    html = "<p>One<br>Two</p><ul><li>A &amp; B</li><li>C</li></ul><style>p{}</style><div>End</div>"
    assert html_to_text(html) == "One\nTwo\n\n- A & B\n- C\n\nEnd"
