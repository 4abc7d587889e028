"""The log filter that masks personal data on every handler (mywallet_support.logging)."""

import io
import logging

import pytest
from django.conf import settings

from mywallet_support.logging import MaskPersonalData, mask_personal_data


@pytest.fixture
def masked(caplog):
    caplog.handler.addFilter(MaskPersonalData())
    caplog.set_level(logging.INFO)
    return caplog


def test_a_log_line_with_a_phone_an_email_and_an_id_comes_out_masked(masked):
    logging.getLogger("accounts.test").info(
        "customer %s at %s, ID %s", "+8613800138000", "li.wei@example.com", "110101199003071234"
    )
    [line] = masked.messages
    assert line == "customer +86 138****8000 at li***@example.com, ID 1101**********1234"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call 13800138000", "call 138****8000"),
        ("call 138 0013 8000.", "call 138****8000."),
        ("call 138-0013-8000", "call 138****8000"),
        ("call +86 138 0013 8000", "call +86 138****8000"),
        ("call 008613800138000", "call +86 138****8000"),
        ("London +44 20 7946 0958", "London +442****0958"),
        ("ID 11010119900307123X", "ID 1101**********123X"),
        ("to Anna.Berg+wallet@mail.example.org", "to An***@mail.example.org"),
    ],
)
def test_each_kind_of_number_and_address_is_masked(text, expected):
    assert mask_personal_data(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ticket MW-000123 opened",
        "at 2026-11-25 12:14:00.123456",
        "transaction T-20261125121400123 of 50000.00 CNY",
        "reference 12345678901234567890",
        "wallet MW6200000001",
        "took 1380013 ms",
    ],
)
def test_other_numbers_are_left_alone(text):
    assert mask_personal_data(text) == text


def test_a_traceback_is_masked_too(masked):
    try:
        raise ValueError("no wallet for li.wei@example.com / 13800138000")
    except ValueError:
        logging.getLogger("accounts.test").exception("lookup failed")
    record = masked.records[-1]
    assert "li.wei@example.com" not in record.exc_text
    assert "13800138000" not in record.exc_text
    assert "li***@example.com" in record.exc_text


def test_every_configured_handler_masks():
    assert settings.LOGGING["handlers"]
    for handler in settings.LOGGING["handlers"].values():
        assert "mask_personal_data" in handler["filters"]
    # The configured console handler, writing somewhere we can read.
    stream = io.StringIO()
    root = logging.getLogger()
    [console] = [h for h in root.handlers if type(h) is logging.StreamHandler]
    assert any(isinstance(f, MaskPersonalData) for f in console.filters)
    old_stream = console.setStream(stream)
    try:
        logging.getLogger("tickets.test").warning("bounce from %s", "anna@example.org")
    finally:
        console.setStream(old_stream)
    assert "anna@example.org" not in stream.getvalue()
    assert "an***@example.org" in stream.getvalue()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("paid with 4111 1111 1111 1111", "paid with 411111******1111"),
        ("card 6222021234567890123 declined", "card 622202*********0123 declined"),
        ("ID １１０１０１１９９００３０７４５１４", "ID 1101**********4514"),
        ("for 110101199003074514.", "for 1101**********4514."),
        ("phone １３８００１３８０００", "phone 138****8000"),
        ("passport E12345678", "passport E*****678"),
    ],
)
def test_cards_full_width_digits_and_passports_are_masked_by_the_detector(text, expected):
    """Issue 16: the filter masks what mywallet_support.pii finds, not its own patterns."""
    assert mask_personal_data(text) == expected


def test_an_id_shaped_number_failing_its_check_is_masked_only_beside_a_keyword():
    assert mask_personal_data("ref 110101199003071234") == "ref 110101199003071234"
    assert mask_personal_data("身份证 110101199003071234") == "身份证 1101**********1234"
