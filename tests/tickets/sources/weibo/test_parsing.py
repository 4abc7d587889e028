"""The pure parser: real payload shapes to Inbound values, and each refusal's reason."""

import json

import pytest

from tickets.sources.weibo.parsing import WeiboEvent, WeiboRejected, parse

WHEN = "Mon Jul 16 18:09:20 +0800 2012"


def body(**fields) -> bytes:
    base = {"type": "text", "receiver_id": 1, "sender_id": 2489518277, "created_at": WHEN}
    return json.dumps({**base, **fields}).encode()


def test_a_text_message():
    inbound = parse(body(text="  你好  "))
    assert (inbound.channel, inbound.sender_kind, inbound.sender) == (
        "weibo",
        "weibo",
        "2489518277",
    )
    assert inbound.text == "你好" and inbound.continue_open
    assert inbound.external_id.startswith("weibo:2489518277:1342433360:")
    assert inbound.metadata["weibo"]["created_at"] == "2012-07-16T10:09:20+00:00"


def test_an_image_is_described_and_its_file_id_kept():
    inbound = parse(body(type="image", text="", data={"vfid": 821804459, "tovfid": 821804469}))
    assert inbound.text == "[image]"
    assert inbound.metadata["weibo"]["data"]["vfid"] == 821804459


def test_an_event_files_nothing():
    event = parse(body(type="event", data={"subtype": "unfollow"}))
    assert isinstance(event, WeiboEvent) and event.subtype == "unfollow"


def test_same_sender_time_and_content_is_one_id_other_content_another():
    assert parse(body(text="a")).external_id == parse(body(text="a")).external_id
    assert parse(body(text="a")).external_id != parse(body(text="b")).external_id


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (body(sender_id=None), "no sender_id"),
        (body(sender_id="abc"), "no sender_id"),
        (body(created_at="yesterday"), "bad created_at"),
        (body(type="shout", text="x"), "unknown type 'shout'"),
        (body(text="   "), "empty message"),
    ],
)
def test_refusals_say_why(raw, reason):
    with pytest.raises(WeiboRejected) as refused:
        parse(raw)
    assert str(refused.value) == reason
