"""/webhooks/wechat/ over real HTTP (Django's live server on 127.0.0.1), signed by
`signing` (the published algorithm, written in the test): plaintext and safe mode, and
every bad request refused with nothing stored."""

import http.client
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from accounts.models import CustomerIdentity
from tickets.models import Channel, InboundMessage, Message

from .signing import ENCODING_AES_KEY, TOKEN, plain_request, safe_request, text_xml

pytestmark = pytest.mark.django_db(transaction=True)

OPEN_ID = "oWx_test_liwei_0001"


@pytest.fixture(autouse=True)
def wechat_settings(settings, tasks_at_once):  # filing runs as soon as it is queued
    settings.WECHAT_TOKEN = TOKEN
    settings.WECHAT_ENCODING_AES_KEY = ENCODING_AES_KEY
    settings.WECHAT_APP_ID = "wx-test-app"
    settings.WECHAT_MAX_BODY_BYTES = 16 * 1024
    settings.WECHAT_TIMESTAMP_WINDOW_SECONDS = 300
    settings.WECHAT_API_BASE = ""  # no media fetched from the outside (test_media.py does it)


def call(live_server, qs: str, body: bytes | None = None, *, method: str | None = None):
    request = urllib.request.Request(
        f"{live_server.url}/webhooks/wechat/?{qs}",
        data=body,
        headers={"Content-Type": "text/xml"},
        method=method or ("POST" if body is not None else "GET"),
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def stored_count() -> int:
    return InboundMessage.objects.filter(channel=Channel.WECHAT).count()


def test_url_check_echoes_echostr_only_when_signed(live_server):
    params = urllib.parse.parse_qs(plain_request(b"")[0])
    qs = urllib.parse.urlencode({k: v[0] for k, v in params.items()} | {"echostr": "83742"})
    assert call(live_server, qs) == (200, "83742")
    forged = qs.replace(params["signature"][0], "0" * 40)
    assert call(live_server, forged)[0] == 403


def test_plaintext_message_files_a_ticket_on_the_openid_customer(live_server, customer):
    CustomerIdentity.objects.create(customer=customer, kind="wechat", value=OPEN_ID)
    qs, body = plain_request(text_xml(OPEN_ID, "转账没到账 transfer missing", 1001))
    assert call(live_server, qs, body) == (200, "success")
    message = Message.objects.get(channel=Channel.WECHAT, external_id="1001")
    assert message.text == "转账没到账 transfer missing"
    assert message.ticket.customer == customer
    assert message.ticket.channel == Channel.WECHAT
    raw = InboundMessage.objects.get(channel=Channel.WECHAT)
    assert bytes(raw.raw) == body and raw.status == InboundMessage.Status.PROCESSED


def test_safe_mode_message_is_decrypted_and_filed(live_server):
    qs, body = safe_request(text_xml(OPEN_ID, "安全模式 safe mode", 1002))
    assert call(live_server, qs, body) == (200, "success")
    message = Message.objects.get(channel=Channel.WECHAT, external_id="1002")
    assert message.text == "安全模式 safe mode"
    assert message.sender.kind == "wechat" and message.sender.value == OPEN_ID
    # the body is stored as received, still encrypted
    assert b"<Encrypt>" in bytes(InboundMessage.objects.get(channel=Channel.WECHAT).raw)


def test_conversation_continues_on_the_open_ticket(live_server):
    for msg_id in (2001, 2002):
        qs, body = plain_request(text_xml(OPEN_ID, f"line {msg_id}", msg_id))
        assert call(live_server, qs, body) == (200, "success")
    tickets = {m.ticket_id for m in Message.objects.filter(channel=Channel.WECHAT)}
    assert len(tickets) == 1


def test_wechat_retries_of_one_msgid_store_one_message(live_server):
    xml = text_xml(OPEN_ID, "重试 retry", 3001)
    qs, body = plain_request(xml)
    assert call(live_server, qs, body) == (200, "success")
    # the same request again (its answer was lost): success, nothing new stored
    assert call(live_server, qs, body) == (200, "success")
    assert stored_count() == 1
    # a retry signed afresh: its payload is kept, marked duplicate; still one message
    qs2, body2 = safe_request(xml)
    assert call(live_server, qs2, body2) == (200, "success")
    assert Message.objects.filter(channel=Channel.WECHAT).count() == 1
    statuses = sorted(InboundMessage.objects.values_list("status", flat=True))
    assert statuses == ["duplicate", "processed"]


@pytest.mark.parametrize(
    "tamper",
    ["signature", "msg_signature", "body", "token"],
)
def test_tampered_requests_are_refused_with_nothing_stored(live_server, tamper):
    if tamper == "token":
        qs, body = safe_request(text_xml(OPEN_ID, "x", 4001), token="not-our-token")
    else:
        qs, body = safe_request(text_xml(OPEN_ID, "x", 4001))
    params = dict(urllib.parse.parse_qsl(qs))
    if tamper in ("signature", "msg_signature"):
        params[tamper] = ("1" if params[tamper][0] != "1" else "2") + params[tamper][1:]
    if tamper == "body":  # another message under the captured signatures
        body = safe_request(text_xml(OPEN_ID, "forged", 4002))[1]
    status, _text = call(live_server, urllib.parse.urlencode(params), body)
    assert status == 403
    assert stored_count() == 0
    assert not Message.objects.exists()


def test_stale_timestamp_is_refused(live_server):
    qs, body = plain_request(text_xml(OPEN_ID, "old", 5001), timestamp=int(time.time()) - 301)
    assert call(live_server, qs, body)[0] == 403
    qs, body = plain_request(text_xml(OPEN_ID, "future", 5002), timestamp=int(time.time()) + 301)
    assert call(live_server, qs, body)[0] == 403
    assert stored_count() == 0


def test_reused_nonce_with_another_body_is_refused(live_server):
    qs, body = plain_request(text_xml(OPEN_ID, "first", 6001))
    assert call(live_server, qs, body) == (200, "success")
    # plaintext mode's signature does not cover the body: a captured query, a new message
    status, _text = call(live_server, qs, text_xml(OPEN_ID, "replayed with new text", 6002))
    assert status == 403
    assert stored_count() == 1
    assert list(Message.objects.values_list("external_id", flat=True)) == ["6001"]


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>
<Content>&lol3;</Content><MsgId>7001</MsgId></xml>"""
EXTERNAL = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<xml><FromUserName>o1</FromUserName><Content>&e;</Content></xml>"""
DOCTYPE_ONLY = b"""<!DOCTYPE xml><xml><FromUserName>o1</FromUserName></xml>"""


@pytest.mark.parametrize("body", [BOMB, EXTERNAL, DOCTYPE_ONLY, b"<xml><unclosed></xml>"])
@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_doctype_entities_and_malformed_xml_are_refused(live_server, body, mode):
    qs, sent = plain_request(body) if mode == "plain" else safe_request(body)
    status, _text = call(live_server, qs, sent)
    assert status == 400
    assert stored_count() == 0


def test_oversized_body_is_refused_before_reading(live_server):
    content = "长" * 8000  # 24 000 bytes of UTF-8, over the 16 KiB cap
    qs, body = plain_request(text_xml(OPEN_ID, content, 8001))
    assert call(live_server, qs, body)[0] == 413
    assert stored_count() == 0


def test_unconfigured_endpoint_refuses_everything(live_server, settings):
    settings.WECHAT_TOKEN = ""
    qs, body = plain_request(text_xml(OPEN_ID, "x", 9001))
    assert call(live_server, qs, body)[0] == 503
    assert stored_count() == 0


def test_authentic_but_unsupported_message_is_kept_quarantined_and_answered(live_server):
    xml = (
        f"<xml><FromUserName>{OPEN_ID}</FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        "<MsgType>location</MsgType><Location_X>23.1</Location_X><MsgId>9101</MsgId></xml>"
    ).encode()
    qs, body = plain_request(xml)
    assert call(live_server, qs, body) == (200, "success")
    raw = InboundMessage.objects.get(channel=Channel.WECHAT)
    assert raw.status == InboundMessage.Status.QUARANTINED
    assert "location" in raw.reason
    assert not Message.objects.exists()


def test_image_voice_and_subscription_events(live_server):
    now = int(time.time())
    head = f"<FromUserName>{OPEN_ID}</FromUserName><CreateTime>{now}</CreateTime>"
    bodies = [
        f"<xml>{head}<MsgType>event</MsgType><Event>subscribe</Event></xml>",
        f"<xml>{head}<MsgType>image</MsgType><PicUrl>http://mmbiz.example/p.jpg</PicUrl>"
        "<MediaId>media-1</MediaId><MsgId>9201</MsgId></xml>",
        f"<xml>{head}<MsgType>voice</MsgType><MediaId>media-2</MediaId><Format>amr</Format>"
        "<Recognition>余额不对</Recognition><MsgId>9202</MsgId></xml>",
    ]
    for xml in bodies:
        qs, body = safe_request(xml.encode())
        assert call(live_server, qs, body) == (200, "success")
    identity = CustomerIdentity.objects.get(kind="wechat", value=OPEN_ID)
    assert identity.undeliverable is False
    image, voice = Message.objects.filter(channel=Channel.WECHAT).order_by("external_id")
    assert image.metadata["media_id"] == "media-1" and image.metadata["msg_type"] == "image"
    assert voice.metadata["voice_format"] == "amr" and "余额不对" in voice.text
    qs, body = plain_request(
        f"<xml>{head}<MsgType>event</MsgType><Event>unsubscribe</Event></xml>".encode()
    )
    assert call(live_server, qs, body) == (200, "success")
    identity.refresh_from_db()
    assert identity.undeliverable is True


def test_an_envelope_for_another_app_is_refused(live_server, settings):
    settings.WECHAT_APP_ID = "wx-another-app"  # the test encrypts for wx-test-app
    qs, body = safe_request(text_xml(OPEN_ID, "not for us", 9501))
    status, text = call(live_server, qs, body)
    assert status == 400 and "another app" in text
    assert stored_count() == 0


def test_a_chunked_body_without_a_length_is_refused_unread(live_server):
    qs, body = plain_request(text_xml(OPEN_ID, "chunked", 9601))
    url = urllib.parse.urlsplit(live_server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        connection.request(
            "POST", f"/webhooks/wechat/?{qs}", body=iter([body]), encode_chunked=True
        )
        response = connection.getresponse()
        assert response.status == 413
    finally:
        connection.close()
    assert stored_count() == 0
