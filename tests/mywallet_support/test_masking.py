"""The masking functions at their boundaries (mywallet_support.masking).

Issue 16 found that a mutant showing a 6-digit number, a two-letter mailbox or a
4-character value in full passed every test: each length where the rule changes is pinned
here, on both sides.
"""

import pytest

from mywallet_support.masking import (
    mask_email,
    mask_id_number,
    mask_identity,
    mask_phone,
    mask_text,
    mask_wallet_number,
)

EVERY_MASK = [mask_phone, mask_email, mask_id_number, mask_wallet_number, mask_text]


@pytest.mark.parametrize("masked", EVERY_MASK)
@pytest.mark.parametrize("nothing", [None, ""])
def test_nothing_masks_to_an_empty_string(masked, nothing):
    assert masked(nothing) == ""


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+8613800138000", "+86 138****8000"),
        ("8613800138000", "+86 138****8000"),  # 13 digits from 86: a Chinese mobile
        ("+86138001380001", "+861****0001"),  # 14 digits: not one, shown as any other
        ("861380013800", "861****3800"),  # 12 digits from 86: not one either
        ("13800138000", "138****8000"),
        ("+442079460958", "+442****0958"),
        ("1234567", "123****4567"),
        ("123456", "******"),  # six digits or fewer: nothing of them
        ("+123456", "+******"),
        ("1", "*"),
    ],
)
def test_a_phone_keeps_its_prefix_and_last_four_beyond_six_digits(phone, expected):
    assert mask_phone(phone) == expected


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("a@example.com", "a***@example.com"),
        ("ab@example.com", "a***@example.com"),  # a two-letter mailbox is never shown whole
        ("abc@example.com", "a***@example.com"),
        ("abcd@example.com", "ab***@example.com"),
        ("li.wei@Example.com", "li***@Example.com"),
        ("abcdef", "ab***ef"),  # no @: masked as any text
    ],
)
def test_an_email_shows_one_or_two_letters_of_its_mailbox_and_the_domain(email, expected):
    assert mask_email(email) == expected


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("110101199003074514", "1101**********4514"),
        ("110101900307451", "1101*******7451"),
        ("123456789", "1234*6789"),
        ("12345678", "********"),  # eight characters or fewer: none shown
        ("1", "*"),
    ],
)
def test_an_id_number_keeps_its_first_four_and_last_four(number, expected):
    assert mask_id_number(number) == expected


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("MW8800000101", "MW88****0101"),
        ("MW6200001", "MW62****0001"),
        ("MW620000", "********"),  # eight characters or fewer: none shown
    ],
)
def test_a_wallet_number_keeps_its_first_and_last_four(number, expected):
    assert mask_wallet_number(number) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("wxid_abcdef", "wx***ef"), ("abcde", "ab***de"), ("abcd", "****"), ("a", "*")],
)
def test_a_text_keeps_two_characters_at_each_end_beyond_four(text, expected):
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("phone", "+8613800138000", "+86 138****8000"),
        ("email", "anna@example.org", "an***@example.org"),
        ("wechat", "wxid_abcdef", "wx***ef"),
        ("web", "abcd", "****"),
    ],
)
def test_an_identity_is_masked_by_its_kind(kind, value, expected):
    assert mask_identity(kind, value) == expected
