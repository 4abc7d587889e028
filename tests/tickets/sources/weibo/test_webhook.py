"""/webhooks/weibo/: requests signed in the test from the platform's published algorithm
(sha1 of the sorted app secret, timestamp and nonce), and every bad request refused
without a side effect."""

import hashlib
import json
import secrets
import time
from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import CustomerIdentity
from tickets.models import InboundMessage, Message, Ticket

from .conftest import SECRET

URL = "/webhooks/weibo/"
pytestmark = pytest.mark.django_db


def signed(secret=SECRET, *, timestamp=None, nonce=None, **extra) -> dict:
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(8)
    joined = "".join(sorted([secret, timestamp, nonce]))
    return {
        "signature": hashlib.sha1(joined.encode()).hexdigest(),  # noqa: S324 - the platform's
        "timestamp": timestamp,
        "nonce": nonce,
        **extra,
    }


def created_at(when: datetime | None = None) -> str:
    when = (when or datetime.now(UTC)).astimezone(UTC)
    return when.strftime("%a %b %d %H:%M:%S +0000 %Y")


def payload(text="我的账户被锁了", *, sender=2489518277, kind="text", when=None, data=None):
    return json.dumps(
        {
            "type": kind,
            "receiver_id": 1902538057,
            "sender_id": sender,
            "created_at": when or created_at(),
            "text": text,
            "data": data or {},
        },
        ensure_ascii=False,
    ).encode()


def post(client, body: bytes, params=None):
    query = "&".join(
        f"{key}={value}" for key, value in (signed() if params is None else params).items()
    )
    return client.post(f"{URL}?{query}", data=body, content_type="application/json")


def nothing_written():
    return not InboundMessage.objects.exists() and not Message.objects.exists()


def test_url_check_echoes_only_when_signed(client):
    answer = client.get(URL, signed(echostr="hello-weibo"))
    assert answer.status_code == 200 and answer.content == b"hello-weibo"
    assert client.get(URL, signed("wrong-secret", echostr="x")).status_code == 403
    assert client.get(URL, {"echostr": "x"}).status_code == 403


def test_message_opens_ticket_on_the_weibo_customer_and_stores_raw_first(client):
    body = payload()
    answer = post(client, body)
    assert answer.status_code == 200 and answer.content == b"success"
    stored = InboundMessage.objects.get()
    assert bytes(stored.raw) == body and stored.status == InboundMessage.Status.PROCESSED
    message = Message.objects.get()
    assert message.channel == "weibo" and message.text == "我的账户被锁了"
    assert stored.message_id == message.pk
    identity = CustomerIdentity.objects.get(kind="weibo", value="2489518277")
    assert message.ticket.customer_id == identity.customer_id
    assert message.ticket.channel == "weibo"
    # The next message continues the same open ticket.
    post(client, payload("还在吗？", when=created_at(datetime.now(UTC) + timedelta(seconds=5))))
    assert Ticket.objects.count() == 1 and Message.objects.count() == 2


def test_platform_retry_of_the_same_message_is_stored_once(client):
    body = payload(when=created_at())
    post(client, body)
    assert post(client, body).content == b"success"  # a new nonce: the platform's retry
    assert Message.objects.count() == 1
    assert list(InboundMessage.objects.values_list("status", flat=True).order_by("pk")) == [
        "processed",
        "duplicate",
    ]


def test_two_messages_in_the_same_second_are_both_kept(client):
    when = created_at()
    post(client, payload("第一条", when=when))
    post(client, payload("第二条", when=when))
    assert Message.objects.count() == 2


def test_events_file_no_message(client):
    body = payload("", kind="event", data={"subtype": "follow"})
    assert post(client, body).content == b"success"
    assert InboundMessage.objects.get().reason == "event follow"
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "params",
    [
        signed("not-the-secret"),
        {**signed(), "signature": "0" * 40},
        signed(timestamp=int(time.time()) - 3600),  # stale
        signed(timestamp=int(time.time()) + 3600),  # from the future
        {},
    ],
    ids=["forged", "tampered", "stale", "future", "unsigned"],
)
def test_bad_signatures_are_refused_without_a_side_effect(client, params):
    answer = post(client, payload(), params)
    assert answer.status_code == 403
    assert nothing_written()


def test_tampered_body_with_a_valid_signature_of_other_values_is_refused(client):
    params = signed()
    params["timestamp"] = str(int(params["timestamp"]) - 1)
    assert post(client, payload(), params).status_code == 403
    assert nothing_written()


def test_replayed_nonce_is_refused(client):
    params = signed()
    assert post(client, payload(), params).status_code == 200
    replay = post(client, payload("另一条"), params)
    assert replay.status_code == 403 and replay.content == b"replayed nonce"
    assert InboundMessage.objects.count() == 1


def test_oversized_body_refused_before_reading(client, settings):
    settings.WEIBO_MAX_BODY_BYTES = 1024
    answer = post(client, payload("长" * 2000))
    assert answer.status_code == 413
    assert nothing_written()


def test_garbage_is_kept_and_quarantined_never_filed(client):
    assert post(client, b"{not json").content == b"success"
    stored = InboundMessage.objects.get()
    assert stored.status == InboundMessage.Status.QUARANTINED and stored.reason == "not JSON"
    assert not Message.objects.exists()


def test_unconfigured_secret_refuses_everything(client, settings):
    settings.WEIBO_APP_SECRET = ""
    assert post(client, payload(), signed("")).status_code == 503
    assert nothing_written()
