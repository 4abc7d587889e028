"""IMAP intake: fetch new mail by UID, store it, and only then mark it on the server.

The server keeps the state: a message still in the mailbox (unseen, or not yet moved to
``IMAP_PROCESSED_FOLDER``) is fetched again on the next poll. So a crash, a dropped
connection or a database outage between fetching and marking costs at most a second fetch,
and `intake.already_stored` turns that into a plain "mark it" instead of a second copy.

Failures are kept apart as everywhere in intake:
- a connection lost (the server restarted, a timeout, a reset) or the database down: the
  poll stops, the poller reconnects with bounded back-off and polls again;
- one message the server or we cannot handle: logged, counted as failed, left on the
  server, and the next message is taken.
"""

import contextlib
import imaplib
import logging
import re
import select
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, close_old_connections

from tickets.models import InboundMessage

from . import intake

logger = logging.getLogger(__name__)

# Errors after which the poll is retried from a fresh connection: the server went away or
# timed out, or the database is unavailable. imaplib.IMAP4.abort is the "connection is
# unusable" error; its parent IMAP4.error (a NO or BAD answer) is about one command.
TRANSIENT = (imaplib.IMAP4.abort, OSError, DatabaseError)

# RFC 2177 asks clients to end IDLE within 29 minutes.
MAX_IDLE_SECONDS = 29 * 60


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    security: str  # "ssl" (IMAPS), "starttls" or "none"
    user: str
    password: str
    mailboxes: tuple[str, ...]
    processed_folder: str = ""
    poll_seconds: int = 60
    timeout: float = 60
    ca_file: str = ""  # PEM CA(s) for the server's certificate; empty: the system's CAs

    @classmethod
    def from_settings(cls) -> "ImapAccount":
        return cls(
            host=settings.IMAP_HOST,
            port=settings.IMAP_PORT,
            security=settings.IMAP_SECURITY,
            user=settings.IMAP_USER,
            password=settings.IMAP_PASSWORD,
            mailboxes=tuple(settings.IMAP_MAILBOXES),
            processed_folder=settings.IMAP_PROCESSED_FOLDER,
            poll_seconds=settings.IMAP_POLL_SECONDS,
            ca_file=settings.IMAP_SSL_CA_FILE,
        )

    def ssl_context(self) -> ssl.SSLContext:
        """Certificate and host name always verified, against ``ca_file`` or the system."""
        return ssl.create_default_context(cafile=self.ca_file or None)


class ImapPoller:
    """One account, several mailboxes. `poll` once (cron) or `run` until ``stop`` is set.

    ``on_message(mailbox, uid, status)`` is called after each message is stored and marked
    (status ``failed`` when it was not); the command uses it to report progress.
    """

    def __init__(
        self,
        account: ImapAccount,
        *,
        stop: threading.Event | None = None,
        on_message: Callable[[str, int, str], None] | None = None,
        retries: int = 5,
        first_backoff: float = 1.0,
        max_backoff: float = 60.0,
    ):
        self.account = account
        self.stop = stop or threading.Event()
        self.on_message = on_message
        self.retries = retries
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self._conn: imaplib.IMAP4 | None = None
        self._capabilities: frozenset[str] = frozenset()
        self._uidvalidity: dict[str, int] = {}
        self._deferred: list[int] = []  # stored here, processing failed on the database

    # -- the two ways to run -----------------------------------------------------------

    def poll(self) -> dict[str, int]:
        """Poll every mailbox once; reconnects up to ``retries`` times if the link drops."""
        counts: dict[str, int] = {}
        self._with_retries(lambda: self._poll_all(counts), attempts=self.retries + 1)
        return counts

    def run(self) -> None:
        """Poll, wait for new mail (IDLE when offered), poll again, until ``stop`` is set."""
        while not self.stop.is_set():
            self._with_retries(self._cycle, attempts=None)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(*TRANSIENT, imaplib.IMAP4.error):
            conn.logout()
        with contextlib.suppress(OSError):
            conn.shutdown()

    def _cycle(self) -> None:
        self._poll_all({})
        if not self.stop.is_set():
            self._wait_for_mail()

    def _with_retries(self, work: Callable[[], None], *, attempts: int | None) -> None:
        """Run ``work``; on a transient error reconnect with back-off, ``attempts`` times."""
        backoff = self.first_backoff
        failures = 0
        while not self.stop.is_set():
            try:
                work()
                return
            except ssl.SSLCertVerificationError:
                # An untrusted certificate is not fixed by waiting: no retry.
                self.close()
                raise
            except TRANSIENT as exc:
                failures += 1
                self.close()
                close_old_connections()
                if attempts is not None and failures >= attempts:
                    raise
                logger.warning(
                    "IMAP poll of %s interrupted (%s: %s); retrying in %.1f s",
                    self.account.host,
                    type(exc).__name__,
                    exc,
                    backoff,
                )
                self.stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    # -- polling -----------------------------------------------------------------------

    def _poll_all(self, counts: dict[str, int]) -> None:
        close_old_connections()
        self._connect()
        self._retry_deferred()
        for mailbox in self.account.mailboxes:
            if self.stop.is_set():
                return
            self._poll_mailbox(mailbox, counts)

    def _poll_mailbox(self, mailbox: str, counts: dict[str, int]) -> None:
        conn = self._conn
        typ, data = conn.select(_quote(mailbox))
        if typ != "OK":
            logger.error("IMAP mailbox %r cannot be selected: %s", mailbox, _text(data))
            return
        uidvalidity = self._check_uidvalidity(mailbox)
        # Moved messages leave the mailbox, so whatever is still there is new; otherwise
        # \Seen is our mark.
        criteria = "UNDELETED" if self.account.processed_folder else "UNSEEN UNDELETED"
        typ, data = conn.uid("SEARCH", criteria)
        if typ != "OK":
            logger.error("IMAP search in %r failed: %s", mailbox, _text(data))
            return
        uids = [int(uid) for uid in b" ".join(d for d in data if d).split()]
        for uid in uids:
            if self.stop.is_set():
                return
            status = self._take(mailbox, uidvalidity, uid)
            counts[status] = counts.get(status, 0) + 1
            if self.on_message is not None:
                self.on_message(mailbox, uid, status)

    def _take(self, mailbox: str, uidvalidity: int, uid: int) -> str:
        """Fetch, store, process and mark one message; the status to count it under."""
        try:
            raw = self._fetch(uid)
            if intake.already_stored(raw):
                status = InboundMessage.Status.DUPLICATE
            else:
                source = f"imap://{self.account.user}@{self.account.host}/{mailbox}"
                stored = intake.store(raw, source=f"{source};UIDVALIDITY={uidvalidity};UID={uid}")
                status = self._process(stored)
            self._mark(uid)  # only now: the bytes are committed here
            return status
        except TRANSIENT:
            raise
        except Exception:
            logger.exception(
                "IMAP message %s in %r could not be taken; left on the server", uid, mailbox
            )
            return InboundMessage.Status.FAILED

    def _process(self, stored: InboundMessage) -> str:
        try:
            return intake.process(stored)
        except DatabaseError:
            # Stored, so it may be marked on the server: processing is retried from here.
            logger.exception("email %s stored, processing deferred", stored.pk)
            self._deferred.append(stored.pk)
            return InboundMessage.Status.PENDING

    def _retry_deferred(self) -> None:
        while self._deferred:
            stored = InboundMessage.objects.filter(pk=self._deferred[0]).first()
            if stored is not None:
                intake.process(stored)  # a DatabaseError keeps it listed for the next try
            self._deferred.pop(0)

    def _fetch(self, uid: int) -> bytes:
        # PEEK: fetching must not set \Seen; the message is marked only once committed.
        typ, data = self._conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
        if typ != "OK":
            raise imaplib.IMAP4.error(f"FETCH {uid}: {_text(data)}")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                return item[1]
        raise imaplib.IMAP4.error(f"FETCH {uid} returned no message (deleted meanwhile?)")

    def _mark(self, uid: int) -> None:
        conn = self._conn
        folder = self.account.processed_folder
        if not folder:
            _ok(conn.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)"), "STORE \\Seen")
        elif "MOVE" in self._capabilities:
            _ok(conn.uid("MOVE", str(uid), _quote(folder)), f"MOVE to {folder!r}")
        else:
            _ok(conn.uid("COPY", str(uid), _quote(folder)), f"COPY to {folder!r}")
            _ok(conn.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)"), "STORE \\Deleted")
            if "UIDPLUS" in self._capabilities:
                _ok(conn.uid("EXPUNGE", str(uid)), "UID EXPUNGE")
            else:
                _ok(conn.expunge(), "EXPUNGE")

    def _check_uidvalidity(self, mailbox: str) -> int:
        values = self._conn.response("UIDVALIDITY")[1]
        uidvalidity = int(values[-1]) if values and values[-1] else 0
        previous = self._uidvalidity.get(mailbox)
        if previous is not None and previous != uidvalidity:
            # UIDs were renumbered. Nothing to redo: what is still unmarked is fetched, and
            # bytes stored before are recognised and only marked.
            logger.warning(
                "IMAP mailbox %r: UIDVALIDITY changed from %s to %s", mailbox, previous, uidvalidity
            )
        self._uidvalidity[mailbox] = uidvalidity
        return uidvalidity

    # -- connection --------------------------------------------------------------------

    def _connect(self) -> None:
        if self._conn is not None:
            try:
                _ok(self._conn.noop(), "NOOP")
                return
            except (*TRANSIENT, imaplib.IMAP4.error):
                self.close()
        account = self.account
        if account.security == "ssl":
            conn = imaplib.IMAP4_SSL(
                account.host,
                account.port,
                ssl_context=account.ssl_context(),
                timeout=account.timeout,
            )
        else:
            conn = imaplib.IMAP4(account.host, account.port, timeout=account.timeout)
            self._conn = conn  # so that close() ends it when STARTTLS fails
            if account.security == "starttls":
                conn.starttls(account.ssl_context())
        self._conn = conn
        conn.login(account.user, account.password)
        if folder := account.processed_folder:
            # Already there is the usual answer (NO [ALREADYEXISTS]); nothing to do then.
            with contextlib.suppress(imaplib.IMAP4.error):
                conn.create(_quote(folder))
        # Servers announce more (MOVE, UIDPLUS) once logged in than in their greeting.
        typ, data = conn.capability()
        words = _text(data).upper().split() if typ == "OK" else []
        self._capabilities = frozenset(words) or frozenset(conn.capabilities)

    # -- waiting -----------------------------------------------------------------------

    def _wait_for_mail(self) -> None:
        seconds = min(self.account.poll_seconds, MAX_IDLE_SECONDS)
        if "IDLE" in self._capabilities and self.account.mailboxes:
            # IDLE watches one mailbox, the first; the others are polled every poll_seconds.
            self._idle(self.account.mailboxes[0], seconds)
        else:
            self.stop.wait(seconds)

    def _idle(self, mailbox: str, seconds: float) -> bool:
        """RFC 2177 IDLE on ``mailbox`` for at most ``seconds``; whether new mail arrived.

        imaplib has no IDLE before Python 3.14, so the exchange is written out here with
        imaplib's public send/readline. Waiting happens in slices of one second so that a
        stop request ends it promptly.
        """
        conn = self._conn
        _ok(conn.select(_quote(mailbox)), f"SELECT {mailbox!r}")
        tag = b"IDLE1"  # no other command is outstanding, so any unused tag will do
        conn.send(tag + b" IDLE\r\n")
        arrived = False
        while True:
            line = _readline(conn)
            if line.startswith(b"+"):
                break
            if line.startswith(tag):  # refused: poll on the interval instead
                self.stop.wait(seconds)
                return False
            arrived = arrived or _is_new_mail(line)
        deadline = time.monotonic() + seconds
        sock = conn.socket()
        while not arrived and not self.stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            pending = isinstance(sock, ssl.SSLSocket) and sock.pending()
            if pending or select.select([sock], [], [], min(1.0, remaining))[0]:
                arrived = _is_new_mail(_readline(conn))
        conn.send(b"DONE\r\n")
        while not (line := _readline(conn)).startswith(tag):
            arrived = arrived or _is_new_mail(line)
        return arrived


_NEW_MAIL = re.compile(rb"^\* \d+ (EXISTS|RECENT)\b")


def _is_new_mail(line: bytes) -> bool:
    return bool(_NEW_MAIL.match(line))


def _readline(conn: imaplib.IMAP4) -> bytes:
    line = conn.readline()
    if not line:
        raise imaplib.IMAP4.abort("socket error: EOF")
    return line


def _ok(response: tuple[str, list], what: str) -> list:
    typ, data = response
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{what}: {_text(data)}")
    return data


def _quote(mailbox: str) -> str:
    """A mailbox name as an IMAP quoted string (imaplib sends arguments as they are)."""
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(data: list) -> str:
    return " ".join(
        item.decode(errors="replace") if isinstance(item, bytes) else str(item)
        for item in data or []
        if item is not None
    )
