"""Pictures and voice notes sent on WeChat: fetched from the temporary-media API of a local
WeChat (wechat_api) while the signed webhook message is filed, stored as the message's
attachment; a media WeChat will not give (40007, too large, unreachable) leaves its reason
on the message, which is filed all the same."""

import urllib.request

import pytest
from django.core.cache import cache
from django.urls import reverse

from tickets.models import Attachment, Channel, InboundMessage, Message
from tickets.sources.wechat import intake, outbound

from .signing import ENCODING_AES_KEY, TOKEN, plain_request, safe_request
from .wechat_api import APP_ID, APP_SECRET, running_wechat_api

pytestmark = pytest.mark.django_db(transaction=True)

OPEN_ID = "oWx_test_media_0001"
JPEG = b"\xff\xd8\xff\xe0" + b"picture-bytes" * 100
AMR = b"#!AMR\n" + b"voice-bytes" * 50


@pytest.fixture(autouse=True)
def wechat(settings, tasks_at_once, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.WECHAT_TOKEN = TOKEN
    settings.WECHAT_ENCODING_AES_KEY = ENCODING_AES_KEY
    settings.WECHAT_APP_ID = APP_ID
    settings.WECHAT_APP_SECRET = APP_SECRET
    settings.WECHAT_API_TIMEOUT = 5
    settings.WECHAT_MEDIA_MAX_BYTES = 64 * 1024
    cache.delete(outbound.TOKEN_KEY)
    with running_wechat_api() as api:
        settings.WECHAT_API_BASE = api.base
        yield api
    cache.delete(outbound.TOKEN_KEY)


def post(live_server, xml: str, *, safe: bool = False) -> tuple[int, str]:
    qs, body = (safe_request if safe else plain_request)(xml.encode())
    request = urllib.request.Request(
        f"{live_server.url}/webhooks/wechat/?{qs}", data=body, headers={"Content-Type": "text/xml"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def image_xml(media_id: str, msg_id: int) -> str:
    return (
        f"<xml><FromUserName>{OPEN_ID}</FromUserName><CreateTime>1700000000</CreateTime>"
        f"<MsgType>image</MsgType><PicUrl>http://mmbiz.example/p.jpg</PicUrl>"
        f"<MediaId>{media_id}</MediaId><MsgId>{msg_id}</MsgId></xml>"
    )


def voice_xml(media_id: str, msg_id: int) -> str:
    return (
        f"<xml><FromUserName>{OPEN_ID}</FromUserName><CreateTime>1700000000</CreateTime>"
        f"<MsgType>voice</MsgType><MediaId>{media_id}</MediaId><Format>amr</Format>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


def test_picture_and_voice_become_the_messages_attachments(live_server, wechat):
    wechat.media = {"pic-1": ("image/jpeg", JPEG), "voice-1": ("audio/amr", AMR)}
    assert post(live_server, image_xml("pic-1", 7001)) == (200, "success")
    assert post(live_server, voice_xml("voice-1", 7002), safe=True) == (200, "success")
    picture = Message.objects.get(channel=Channel.WECHAT, external_id="7001")
    voice = Message.objects.get(channel=Channel.WECHAT, external_id="7002")
    (jpeg,) = picture.attachments.all()
    (amr,) = voice.attachments.all()
    assert (jpeg.content_type, jpeg.size, jpeg.name) == ("image/jpeg", len(JPEG), "media.jpeg")
    assert jpeg.file.read() == JPEG
    assert (amr.content_type, amr.file.read()) == ("audio/amr", AMR)
    assert intake.MEDIA_NOT_FETCHED not in picture.metadata
    assert picture.metadata["media_id"] == "pic-1"  # the reference is kept too
    assert wechat.token_requests == 1  # one cached token for both


def test_a_retry_of_the_same_msgid_fetches_nothing_again(live_server, wechat):
    wechat.media = {"pic-1": ("image/jpeg", JPEG)}
    assert post(live_server, image_xml("pic-1", 7101)) == (200, "success")
    assert post(live_server, image_xml("pic-1", 7101), safe=True) == (200, "success")
    assert Attachment.objects.count() == 1
    assert wechat.media_requests == ["pic-1"]
    statuses = sorted(InboundMessage.objects.values_list("status", flat=True))
    assert statuses == ["duplicate", "processed"]


def test_an_invalid_media_id_is_recorded_and_the_message_still_filed(
    live_server, wechat, agent_client
):
    assert post(live_server, image_xml("gone", 7201)) == (200, "success")
    message = Message.objects.get(channel=Channel.WECHAT, external_id="7201")
    assert message.attachments.count() == 0
    assert message.metadata[intake.MEDIA_NOT_FETCHED] == "WeChat error 40007: invalid media_id"
    assert InboundMessage.objects.get().status == InboundMessage.Status.PROCESSED
    url = reverse("admin:tickets_ticket_change", args=[message.ticket_id])
    page = agent_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "media could not be fetched: WeChat error 40007: invalid media_id" in page
    page = agent_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
    assert "无法获取媒体文件：WeChat error 40007: invalid media_id" in page


def test_an_expired_token_is_fetched_again_once(live_server, wechat):
    wechat.media = {"pic-1": ("image/jpeg", JPEG), "pic-2": ("image/jpeg", JPEG[:50])}
    assert post(live_server, image_xml("pic-1", 7301)) == (200, "success")
    wechat.expire_tokens()  # WeChat answers 40001 to the cached token
    assert post(live_server, image_xml("pic-2", 7302)) == (200, "success")
    message = Message.objects.get(channel=Channel.WECHAT, external_id="7302")
    assert message.attachments.get().size == 50
    assert wechat.token_requests == 2


def test_a_media_over_the_size_limit_is_not_stored(live_server, wechat, settings):
    settings.WECHAT_MEDIA_MAX_BYTES = 1000
    wechat.media = {"big": ("image/jpeg", JPEG)}
    assert post(live_server, image_xml("big", 7401)) == (200, "success")
    message = Message.objects.get(channel=Channel.WECHAT, external_id="7401")
    assert message.attachments.count() == 0
    assert message.metadata[intake.MEDIA_NOT_FETCHED].startswith("larger than 1000 bytes")


def test_an_unreachable_api_is_recorded(live_server, wechat, settings):
    settings.WECHAT_API_BASE = "http://127.0.0.1:9"  # discard port: nothing listens
    assert post(live_server, image_xml("pic-1", 7501)) == (200, "success")
    message = Message.objects.get(channel=Channel.WECHAT, external_id="7501")
    assert message.metadata[intake.MEDIA_NOT_FETCHED].startswith("WeChat ")
    assert message.attachments.count() == 0


def test_development_mode_fetches_nothing(live_server, wechat, settings):
    settings.DEBUG = True
    settings.WECHAT_API_BASE = ""
    assert post(live_server, image_xml("pic-1", 7601)) == (200, "success")
    message = Message.objects.get(channel=Channel.WECHAT, external_id="7601")
    assert message.attachments.count() == 0
    assert intake.MEDIA_NOT_FETCHED not in message.metadata
    assert wechat.media_requests == []
