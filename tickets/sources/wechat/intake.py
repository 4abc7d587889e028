"""WeChat intake: the body exactly as received is stored first (InboundMessage), then
parsed and filed through `tickets.actions.receive_many`.

The webhook calls `store` and queues `file_payload` (a task: the worker files it, so
WeChat's answer never waits for filing); `process_pending` (``manage.py
process_wechat``) files any payload whose task was never queued. Failures are kept apart
as email's are: the sender's (malformed XML, an unsupported type) quarantines the payload
with its reason; ours (the database) leaves it pending for `process_pending` to file
again. WeChat resends a
message it got no answer to (same MsgId): `receive_many` is idempotent on it, so the copy is
marked duplicate and no second message is stored.

Pictures and voice notes are fetched from WeChat's temporary-media API before filing
(`media`) and stored as the message's attachment; one that cannot be fetched leaves its
reason in the message's metadata (MEDIA_NOT_FETCHED) and the message is filed anyway.

Subscribe and unsubscribe events file no message: subscribing finds (or creates) the
customer by OpenID and makes them reachable again; unsubscribing marks the identity
undeliverable (WeChat refuses messages to someone who left, error 43004), so replies go
through the customer's other channels.
"""

import hashlib
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.tasks import task
from django.utils import timezone

from accounts.actions import resolve_identity
from accounts.models import CustomerIdentity
from mywallet_support.masking import mask_text
from tickets import actions
from tickets.inbound import Inbound
from tickets.models import Channel, InboundMessage, Message

from . import crypto, media
from .parsing import WeChatMessage, WeChatRejected, parse, parse_xml, to_inbound

logger = logging.getLogger(__name__)

SOURCE = "webhook:/webhooks/wechat/"
# A picture or voice note WeChat would not give: the reason, in the message's metadata.
MEDIA_NOT_FETCHED = "media_not_fetched"


def store(raw: bytes, *, source: str = SOURCE) -> InboundMessage:
    """One INSERT, committed at once, before anything parses the body."""
    return InboundMessage.objects.create(
        channel=Channel.WECHAT,
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        source=source[:255],
    )


def open_envelope(raw: bytes) -> bytes:
    """The message XML inside a body: the body itself in plaintext mode, or safe mode's
    decrypted ``<Encrypt>``. WeChatRejected when it cannot be opened."""
    root = parse_xml(raw)
    encrypted = root.find("Encrypt")
    if encrypted is None:
        return raw
    if not settings.WECHAT_ENCODING_AES_KEY:
        raise WeChatRejected("An encrypted message, but WECHAT_ENCODING_AES_KEY is not set.")
    try:
        return crypto.decrypt(
            (encrypted.text or "").strip(),
            encoding_aes_key=settings.WECHAT_ENCODING_AES_KEY,
            app_id=settings.WECHAT_APP_ID,
        )
    except crypto.CryptoError as exc:
        raise WeChatRejected(f"The encrypted message cannot be opened: {exc}") from exc


@task(queue_name="default")
def file_payload(payload_id: int) -> str:
    """File one stored payload (queued by the webhook once the body is stored)."""
    stored = InboundMessage.objects.filter(pk=payload_id, channel=Channel.WECHAT).first()
    return process(stored) if stored else "missing"


def process(stored: InboundMessage) -> str:
    """Parse and file one stored payload; returns its final status. Safe to call twice."""
    if stored.status != InboundMessage.Status.PENDING:
        return stored.status
    try:
        message = parse(open_envelope(bytes(stored.raw)))
    except WeChatRejected as exc:
        return _finish(stored, InboundMessage.Status.QUARANTINED, str(exc))
    if message.msg_type == "event":
        return _event(stored, message)
    inbound = to_inbound(message, raw_id=stored.pk)
    if message.media_id:
        _attach_media(inbound, message)
    try:
        (received,) = actions.receive_many([inbound])
    except DatabaseError:
        raise  # ours: stays pending
    except Exception as exc:
        logger.exception("WeChat payload %s could not be filed", stored.pk)
        return _finish(stored, InboundMessage.Status.FAILED, f"{type(exc).__name__}: {exc}")
    if isinstance(received, ValidationError):
        return _finish(stored, InboundMessage.Status.QUARANTINED, " ".join(received.messages))
    status = (
        InboundMessage.Status.DUPLICATE if received.duplicate else InboundMessage.Status.PROCESSED
    )
    logger.info("WeChat message %s from %s: %s", stored.pk, mask_text(message.open_id), status)
    stored.status = status
    return status


def _attach_media(inbound: Inbound, message: WeChatMessage) -> None:
    """Fetch the picture or voice note into the message's attachments; when it cannot be
    fetched, the reason goes in the metadata (MEDIA_NOT_FETCHED) and the message is filed
    all the same. A retry of a message already filed fetches nothing."""
    if not media.enabled():
        return
    if Message.objects.filter(channel=Channel.WECHAT, external_id=inbound.external_id).exists():
        return
    try:
        inbound.attachments = (media.fetch(message.media_id),)
    except media.MediaUnavailable as exc:
        inbound.metadata[MEDIA_NOT_FETCHED] = str(exc)
        logger.warning("WeChat media of %s could not be fetched: %s", message.msg_id, exc)


def _event(stored: InboundMessage, message: WeChatMessage) -> str:
    try:
        identity = resolve_identity(kind=CustomerIdentity.Kind.WECHAT, value=message.open_id)
    except ValidationError as exc:
        return _finish(stored, InboundMessage.Status.QUARANTINED, " ".join(exc.messages))
    left = message.event == "unsubscribe"
    CustomerIdentity.objects.filter(pk=identity.pk).update(undeliverable=left)
    logger.info("WeChat %s from %s", message.event, mask_text(message.open_id))
    return _finish(stored, InboundMessage.Status.PROCESSED, f"{message.event} event")


def process_pending(*, limit: int = 1000) -> dict[str, int]:
    """File payloads stored but not yet processed (after a crash or a database outage)."""
    counts: dict[str, int] = {}
    pending = InboundMessage.objects.filter(
        channel=Channel.WECHAT, status=InboundMessage.Status.PENDING
    ).order_by("received_at", "pk")
    for stored in pending[:limit]:
        status = process(stored)
        counts[status] = counts.get(status, 0) + 1
    return counts


def _finish(stored: InboundMessage, status: str, reason: str) -> str:
    if status == InboundMessage.Status.QUARANTINED:
        logger.info("WeChat payload %s quarantined: %s", stored.pk, reason)
    InboundMessage.objects.filter(pk=stored.pk).update(
        status=status, reason=reason, processed_at=timezone.now()
    )
    stored.status = status
    return status
