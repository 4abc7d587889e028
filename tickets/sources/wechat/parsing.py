"""WeChat's message XML to plain values: a pure function, no database.

The XML is parsed by defusedxml with DTDs, entities and external references forbidden,
so an entity bomb or an external entity is refused before it is expanded. Supported: text,
image and voice messages, subscribe and unsubscribe events; anything else is a refusal
with its reason (the raw payload is kept, quarantined).
"""

from dataclasses import dataclass
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from tickets.inbound import Inbound
from tickets.models import Channel

MESSAGE_TYPES = ("text", "image", "voice")
EVENTS = ("subscribe", "unsubscribe")


class WeChatRejected(ValueError):
    """The payload is not a message this channel takes; the text is the reason."""


@dataclass(frozen=True)
class WeChatMessage:
    to_user: str  # our account's id
    open_id: str  # the customer's OpenID in our account
    created: int  # Unix seconds, WeChat's
    msg_type: str  # text, image, voice, event
    event: str = ""  # subscribe, unsubscribe
    msg_id: str = ""
    content: str = ""
    pic_url: str = ""
    media_id: str = ""
    voice_format: str = ""
    recognition: str = ""

    @property
    def external_id(self) -> str:
        """One id per message: its MsgId, or for events (which have none) the sender and
        time WeChat's documentation says to deduplicate them on."""
        return self.msg_id or f"event:{self.open_id}:{self.created}:{self.event}"


def parse_xml(raw: bytes):
    """The root element; WeChatRejected for a DOCTYPE, an entity or malformed XML."""
    try:
        return fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise WeChatRejected(f"Refused XML ({type(exc).__name__}).") from exc
    except (ParseError, ValueError) as exc:
        raise WeChatRejected(f"Malformed XML: {exc}") from exc


def _text(root, tag: str) -> str:
    element = root.find(tag)
    return (element.text or "").strip() if element is not None else ""


def parse(raw: bytes) -> WeChatMessage:
    """The message in a (decrypted) WeChat XML body; WeChatRejected with the reason."""
    root = parse_xml(raw)
    if root.tag != "xml":
        raise WeChatRejected("The root element is not <xml>.")
    open_id, msg_type = _text(root, "FromUserName"), _text(root, "MsgType").lower()
    created = _text(root, "CreateTime")
    if not open_id or len(open_id) > 128:
        raise WeChatRejected("FromUserName (the OpenID) is missing or too long.")
    if not (created.isascii() and created.isdigit()) or len(created) > 12:
        raise WeChatRejected("CreateTime must be Unix seconds.")
    fields = {
        "to_user": _text(root, "ToUserName"),
        "open_id": open_id,
        "created": int(created),
        "msg_type": msg_type,
    }
    if msg_type == "event":
        event = _text(root, "Event").lower()
        if event not in EVENTS:
            raise WeChatRejected(f"Event {event[:40]!r} is not handled.")
        return WeChatMessage(**fields, event=event)
    if msg_type not in MESSAGE_TYPES:
        raise WeChatRejected(f"Message type {msg_type[:40]!r} is not handled.")
    msg_id = _text(root, "MsgId")
    if not (msg_id.isascii() and msg_id.isdigit()) or len(msg_id) > 64:
        raise WeChatRejected("MsgId is missing or not a number.")
    message = WeChatMessage(
        **fields,
        msg_id=msg_id,
        content=_text(root, "Content"),
        pic_url=_text(root, "PicUrl"),
        media_id=_text(root, "MediaId"),
        voice_format=_text(root, "Format"),
        recognition=_text(root, "Recognition"),
    )
    if msg_type == "text" and not message.content:
        raise WeChatRejected("A text message without Content.")
    if msg_type in ("image", "voice") and not message.media_id:
        raise WeChatRejected(f"An {msg_type} message without MediaId.")
    return message


def to_inbound(message: WeChatMessage, *, raw_id: int | None = None) -> Inbound:
    """The channel-neutral value `receive_many` files (messages only, not events).

    Pictures and voice notes are kept by reference (WeChat's MediaId, valid three days,
    and the picture's URL): the text says what came, the metadata how to fetch it.
    """
    if message.msg_type == "text":
        text = message.content
    elif message.msg_type == "image":
        text = "[图片 Image]"
    else:
        text = "[语音 Voice]" + (f" {message.recognition}" if message.recognition else "")
    metadata = {"msg_type": message.msg_type, "create_time": message.created}
    if message.media_id:
        metadata["media_id"] = message.media_id
    if message.pic_url:
        metadata["pic_url"] = message.pic_url
    if message.voice_format:
        metadata["voice_format"] = message.voice_format
    return Inbound(
        channel=Channel.WECHAT,
        sender_kind="wechat",
        sender=message.open_id,
        text=text,
        external_id=message.external_id,
        continue_open=True,
        metadata=metadata,
        raw_id=raw_id,
    )
