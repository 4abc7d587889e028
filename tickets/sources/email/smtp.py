"""SMTP intake: an aiosmtpd server that takes mail for the support addresses only.

The answer to DATA is the promise: ``250`` only once the raw bytes are committed, ``451``
when they cannot be stored (the database is down), so the sending server keeps the
message and tries again later. Filing the stored message comes after; its failure never
turns a stored message into an error answer (the message stays pending, and
``ingest_email --pending`` finishes it).
"""

import logging
import socket

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError

from mywallet_support.masking import mask_email

from . import intake

logger = logging.getLogger(__name__)

REFUSED_RECIPIENT = "550 5.1.1 No such support address here"
CANNOT_STORE = "451 4.3.0 Cannot store the message now, please try again later"


class SupportHandler:
    """aiosmtpd handler: accepts recipients in ``addresses``, stores then files each message."""

    def __init__(self, *, addresses: dict[str, tuple[str, ...]] | None = None):
        self.addresses = settings.SUPPORT_ADDRESSES if addresses is None else addresses

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options
    ) -> str:
        if address.lower() not in self.addresses:
            logger.info("SMTP: refused recipient %s", mask_email(address))
            return REFUSED_RECIPIENT
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        # One message however many support addresses it was sent to: stored, filed once.
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):  # only with decode_data=True, which we do not use
            raw = raw.encode("utf-8", "surrogateescape")
        peer = session.peer[0] if isinstance(session.peer, tuple) else session.peer
        try:
            stored = await _store(raw, source=f"smtp:{peer}")
        except DatabaseError:
            logger.exception("SMTP: message from %s not stored; asked to retry", peer)
            return CANNOT_STORE
        try:
            status = await _process(stored)
        except Exception:
            # Stored, so accepted: the sender must not send it again.
            logger.exception("email %s stored, processing deferred", stored.pk)
            status = "pending"
        return f"250 2.0.0 OK: stored as #{stored.pk} ({status})"


# database_sync_to_async runs the ORM in a worker thread and closes stale connections
# around each call, as Django does around a request.
_store = database_sync_to_async(intake.store)
_process = database_sync_to_async(intake.process)


def make_controller(
    *,
    host: str | None = None,
    port: int | None = None,
    handler: SupportHandler | None = None,
) -> Controller:
    """The SMTP server the command runs (and the tests start), not yet started."""
    host = settings.SMTP_INBOUND_HOST if host is None else host
    # aiosmtpd logs every command, addresses unmasked, at INFO on "mail.log"; ours are enough.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    return Controller(
        handler or SupportHandler(),
        hostname=host,
        port=settings.SMTP_INBOUND_PORT if port is None else port,
        server_hostname=socket.gethostname(),  # the greeting's name; no DNS lookup
        data_size_limit=settings.EMAIL_MAX_MESSAGE_BYTES * 2,
        enable_SMTPUTF8=True,
        decode_data=False,
    )
