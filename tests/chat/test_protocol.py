"""The frame checks of chat.protocol, pure functions the consumers apply (the sockets
themselves are tested through the ASGI stack in test_consumers.py)."""

import pytest
from django.core.exceptions import ValidationError

from chat import actions
from chat.protocol import (
    MAX_CLIENT_ID,
    MAX_ID,
    is_id,
    message_fields,
    parse_frame,
    resume_after,
    too_big,
)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("a" * 16, 16, False),
        ("a" * 17, 16, True),
        ("é" * 8, 16, False),  # 16 bytes of UTF-8
        ("é" * 9, 16, True),  # 9 characters, 18 bytes
        ("😀" * 4, 16, False),
        ("😀" * 5, 16, True),
    ],
)
def test_a_frame_is_measured_in_bytes_of_utf8(text, limit, expected):
    assert too_big(text, limit) is expected


@pytest.mark.parametrize(
    "text", ["not json", "[1, 2]", '"message"', "{}", '{"type": 1}', '{"type": null}']
)
def test_a_frame_must_be_a_json_object_with_a_string_type(text):
    assert parse_frame(text) is None


def test_a_frame_is_its_json_object():
    assert parse_frame('{"type": "typing", "x": [1]}') == {"type": "typing", "x": [1]}


def test_a_message_gives_its_stripped_text_and_client_id():
    content = {"type": "message", "text": "  hello \n", "client_id": "c1"}
    assert message_fields(content, max_chars=10) == ("hello", "c1")


@pytest.mark.parametrize(
    "content",
    [
        {"text": "hi"},
        {"text": "hi", "client_id": ""},
        {"text": "hi", "client_id": 7},
        {"text": "hi", "client_id": "x" * (MAX_CLIENT_ID + 1)},
        {"text": "   ", "client_id": "c1"},
        {"text": None, "client_id": "c1"},
        {"text": "x" * 11, "client_id": "c1"},
    ],
)
def test_a_message_without_a_client_id_or_text_or_too_long_is_refused(content):
    with pytest.raises(ValidationError):
        message_fields(content, max_chars=10)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, True), (MAX_ID, True), (MAX_ID + 1, False), (-1, False), (True, False), ("1", False)],
)
def test_an_id_is_a_whole_number_the_database_can_compare(value, expected):
    assert is_id(value) is expected
    assert actions.is_id is is_id  # chat.actions checks ids with the same rule


def test_resume_needs_an_id():
    assert resume_after(0) == 0
    with pytest.raises(ValidationError):
        resume_after(10**30)
