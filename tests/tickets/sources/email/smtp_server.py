"""A real SMTP server (aiosmtpd) on a free 127.0.0.1 port that records what it receives.

Tests point Django's MAILERS at it and read back the bytes exactly as a mail server got
them. Recipients can be refused with a chosen answer (``550 ...`` permanent, ``451 ...``
temporary) to drive the sender's error handling. Bounded: it keeps the last
``MAX_KEPT`` messages and refuses messages over ``MAX_MESSAGE_BYTES``.
"""

import email
import email.policy
import logging
import socket
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller

# aiosmtpd logs every SMTP command at INFO; tests want only its warnings.
logging.getLogger("mail.log").setLevel(logging.WARNING)

MAX_KEPT = 100
MAX_MESSAGE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    def parsed(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)


class RecordingHandler:
    """aiosmtpd handler: accepts every recipient except those in ``refuse``."""

    def __init__(self):
        self.messages: deque[Received] = deque(maxlen=MAX_KEPT)
        self.refuse: dict[str, str] = {}  # lower-case address -> full SMTP answer
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        answer = self.refuse.get(address.lower())
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if len(raw) > MAX_MESSAGE_BYTES:
            return "552 5.3.4 Message too big for this test server"
        with self._lock:
            self.messages.append(
                Received(mail_from=envelope.mail_from, rcpt_tos=tuple(envelope.rcpt_tos), raw=raw)
            )
        return "250 2.0.0 Message accepted for delivery"


class SMTPTestServer:
    def __init__(self, controller: Controller, handler: RecordingHandler):
        self.controller = controller
        self.handler = handler
        self.host = controller.hostname
        self.port = controller.port

    @property
    def messages(self) -> list[Received]:
        return list(self.handler.messages)

    def refuse(self, address: str, answer: str) -> None:
        """Answer ``answer`` (e.g. "550 5.1.1 No such user") to RCPT TO for ``address``."""
        self.handler.refuse[address.lower()] = answer

    def mailer(self) -> dict:
        """A MAILERS entry that sends through this server."""
        return {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": self.host, "port": self.port, "timeout": 5},
        }


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@contextmanager
def running_smtp_server() -> Iterator[SMTPTestServer]:
    """Start the server on a free port, yield it, and always stop it."""
    handler = RecordingHandler()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        ready_timeout=10,
        enable_SMTPUTF8=True,
        decode_data=False,
        data_size_limit=MAX_MESSAGE_BYTES,
    )
    controller.start()
    try:
        yield SMTPTestServer(controller, handler)
    finally:
        controller.stop()
