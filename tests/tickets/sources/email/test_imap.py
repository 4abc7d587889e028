"""poll_imap against a real Dovecot on 127.0.0.1: messages placed with IMAP APPEND are
filed, marked on the server only after they are committed here, and a server restart or a
database outage in the middle loses nothing and files nothing twice."""

import io
import os
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from tests.e2e.servers import ROOT, migrated_database
from tests.tickets.sources.email.dovecot import running_dovecot
from tickets.models import InboundMessage, Ticket
from tickets.sources.email.imap import ImapAccount, ImapPoller

pytestmark = pytest.mark.django_db(transaction=True)

PROCESSED = "Processed"


def mail(
    subject="Payment failed", *, sender="Li Wei <li.wei@example.com>", body="It failed."
) -> bytes:
    message = EmailMessage()
    if sender:
        message["From"] = sender
    message["To"] = "support@mywallet.example"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mail.example.com")
    message.set_content("My payment failed.")
    return message.as_bytes().replace(b"\n", b"\r\n")  # as it is on the wire and in IMAP


@pytest.fixture
def dovecot():
    with running_dovecot() as server:
        yield server


def account(server, **overrides) -> ImapAccount:
    values = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "user": server.user,
        "password": server.password,
        "mailboxes": ("INBOX",),
        "processed_folder": PROCESSED,
        "poll_seconds": 1,
        "timeout": 10,
    }
    return ImapAccount(**{**values, **overrides})


def poller(server, **overrides) -> ImapPoller:
    options = {key: overrides.pop(key) for key in ("on_message", "retries") if key in overrides}
    return ImapPoller(account(server, **overrides), first_backoff=0.1, max_backoff=0.5, **options)


def poll(server, **overrides) -> dict[str, int]:
    imap = poller(server, **overrides)
    try:
        return imap.poll()
    finally:
        imap.close()


def test_poll_files_every_message_and_moves_it_once_committed(dovecot):
    sent = [mail(f"Question {n}") for n in range(3)]
    for raw in sent:
        dovecot.append("INBOX", raw)

    assert poll(dovecot) == {"processed": 3}

    assert dovecot.messages("INBOX") == {}
    moved = sorted(raw for _, raw in dovecot.messages(PROCESSED).values())
    stored = sorted(bytes(m.raw) for m in InboundMessage.objects.all())
    assert moved == stored == sorted(sent)
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "Question 0",
        "Question 1",
        "Question 2",
    ]
    assert all(
        m.source.startswith("imap://support@127.0.0.1/INBOX;") for m in InboundMessage.objects.all()
    )


def test_a_second_poll_files_nothing_new(dovecot):
    dovecot.append("INBOX", mail())
    poll(dovecot)

    assert poll(dovecot) == {}
    assert InboundMessage.objects.count() == Ticket.objects.count() == 1


def test_without_a_processed_folder_messages_are_flagged_seen_and_stay(dovecot):
    dovecot.append("INBOX", mail("One"))
    dovecot.append("INBOX", mail("Two"))

    assert poll(dovecot, processed_folder="") == {"processed": 2}
    assert poll(dovecot, processed_folder="") == {}

    messages = dovecot.messages("INBOX")
    assert len(messages) == 2
    assert all("\\Seen" in flags for flags, _ in messages.values())
    assert Ticket.objects.count() == 2


def test_a_message_without_from_is_quarantined_and_marked_and_the_next_one_filed(dovecot):
    dovecot.append("INBOX", mail("No sender", sender=None))
    dovecot.append("INBOX", mail("Fine"))

    assert poll(dovecot) == {"quarantined": 1, "processed": 1}

    assert dovecot.messages("INBOX") == {}
    assert len(dovecot.messages(PROCESSED)) == 2
    quarantined = InboundMessage.objects.get(status=InboundMessage.Status.QUARANTINED)
    assert quarantined.reason
    assert Ticket.objects.get().subject == "Fine"


def test_messages_whose_bytes_were_stored_before_are_only_marked(dovecot, monkeypatch):
    raw = mail()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    call_command("ingest_email", stdout=io.StringIO())  # it came through the pipe first
    dovecot.append("INBOX", raw)

    assert poll(dovecot) == {"duplicate": 1}

    assert dovecot.messages("INBOX") == {}
    assert InboundMessage.objects.count() == Ticket.objects.count() == 1


def test_a_server_restart_mid_poll_loses_nothing_and_files_nothing_twice(dovecot):
    for n in range(4):
        dovecot.append("INBOX", mail(f"Question {n}"))
    restarted = []

    def restart_after_the_first(mailbox, uid, status):
        if not restarted:
            restarted.append(uid)
            dovecot.restart()  # cuts our connection between two messages

    counts = poll(dovecot, on_message=restart_after_the_first)

    assert restarted
    assert counts == {"processed": 4}
    assert dovecot.messages("INBOX") == {}
    assert len(dovecot.messages(PROCESSED)) == 4
    assert InboundMessage.objects.count() == Ticket.objects.count() == 4


def test_a_server_gone_mid_poll_leaves_the_rest_for_the_next_run(dovecot):
    for n in range(3):
        dovecot.append("INBOX", mail(f"Question {n}"))

    def stop_after_the_first(mailbox, uid, status):
        dovecot.stop()

    with pytest.raises(OSError):  # refused: the poller gave up after its retries
        poll(dovecot, on_message=stop_after_the_first, retries=2)
    assert InboundMessage.objects.count() == 1

    dovecot.start()
    assert len(dovecot.messages("INBOX")) == 2  # not marked, so taken next time
    assert poll(dovecot) == {"processed": 2}
    assert dovecot.messages("INBOX") == {}
    assert InboundMessage.objects.count() == Ticket.objects.count() == 3


def test_every_mailbox_in_the_settings_is_polled(dovecot, settings):
    dovecot.append("INBOX", mail("To support"))
    dovecot.append("Security", mail("To security"))
    settings.IMAP_MAILBOXES = ["INBOX", "Security"]

    assert poll(dovecot, mailboxes=tuple(settings.IMAP_MAILBOXES)) == {"processed": 2}

    assert dovecot.messages("INBOX") == dovecot.messages("Security") == {}
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["To security", "To support"]


def test_without_move_messages_are_copied_then_expunged(settings):
    # Dovecot announces only what imap_capability lists: here no MOVE.
    with running_dovecot(extra_config="imap_capability = IMAP4rev1 UIDPLUS IDLE") as server:
        server.append("INBOX", mail("One"))
        server.append("INBOX", mail("Two"))

        assert poll(server) == {"processed": 2}

        assert server.messages("INBOX") == {}
        assert len(server.messages(PROCESSED)) == 2


def test_the_loop_picks_up_mail_appended_while_it_idles(dovecot):
    dovecot.append("INBOX", mail("Before"))
    filed = []
    first = threading.Event()
    second = threading.Event()

    def seen(mailbox, uid, status):
        filed.append(status)
        (second if first.is_set() else first).set()

    stop = threading.Event()
    # A long interval: the second message can only arrive this quickly through IDLE.
    imap = ImapPoller(account(dovecot, poll_seconds=30), stop=stop, on_message=seen)

    def run():
        try:
            imap.run()
        finally:
            imap.close()
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert first.wait(10)
        time.sleep(0.5)  # into IDLE
        started = time.monotonic()
        dovecot.append("INBOX", mail("While idling"))
        assert second.wait(10)
        assert time.monotonic() - started < 10
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()  # the stop request ends IDLE within a second or so
    assert filed == ["processed", "processed"]
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["Before", "While idling"]


def test_the_command_polls_once_with_the_settings(dovecot, settings):
    settings.IMAP_HOST = dovecot.host
    settings.IMAP_PORT = dovecot.port
    settings.IMAP_SECURITY = "none"
    settings.IMAP_USER = dovecot.user
    settings.IMAP_PASSWORD = dovecot.password
    settings.IMAP_MAILBOXES = ["INBOX"]
    settings.IMAP_PROCESSED_FOLDER = ""
    dovecot.append("INBOX", mail())
    out = io.StringIO()

    call_command("poll_imap", "--once", stdout=out)

    assert out.getvalue().startswith("1 processed, 0 duplicate")
    assert Ticket.objects.count() == 1


def test_nothing_is_marked_while_the_database_is_down(dovecot, tmp_path):
    """The mark follows the commit: with no database, every message stays on the server."""
    for n in range(2):
        dovecot.append("INBOX", mail(f"Question {n}"))
    imap_env = {
        "IMAP_HOST": dovecot.host,
        "IMAP_PORT": str(dovecot.port),
        "IMAP_SECURITY": "none",
        "IMAP_USER": dovecot.user,
        "IMAP_PASSWORD": dovecot.password,
        "IMAP_PROCESSED_FOLDER": PROCESSED,
        "LOG_LEVEL": "CRITICAL",
    }
    database = tmp_path / "later"  # does not exist yet: SQLite cannot open a file there
    down = {**os.environ, **imap_env, "DATABASE_URL": f"sqlite:///{database}/e2e.sqlite3"}
    command = [sys.executable, "manage.py", "poll_imap", "--once"]

    result = subprocess.run(command, env=down, cwd=ROOT, capture_output=True, timeout=120)

    assert result.returncode != 0
    assert b"try again later" in result.stderr
    assert len(dovecot.messages("INBOX")) == 2
    assert dovecot.messages(PROCESSED) == {}

    database.mkdir()
    with migrated_database(database, **imap_env) as up:
        result = subprocess.run(command, env=up, cwd=ROOT, capture_output=True, timeout=120)
        assert result.returncode == 0, result.stderr.decode()
    assert dovecot.messages("INBOX") == {}
    assert len(dovecot.messages(PROCESSED)) == 2
    with sqlite3.connect(database / "e2e.sqlite3") as db:
        assert db.execute("select count(*) from tickets_ticket").fetchone() == (2,)


def test_the_polling_command_runs_until_sigterm(dovecot, tmp_path):
    with migrated_database(
        tmp_path,
        IMAP_HOST=dovecot.host,
        IMAP_PORT=str(dovecot.port),
        IMAP_SECURITY="none",
        IMAP_USER=dovecot.user,
        IMAP_PASSWORD=dovecot.password,
        IMAP_PROCESSED_FOLDER=PROCESSED,
        IMAP_POLL_SECONDS="30",
    ) as env:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "poll_imap"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            dovecot.append("INBOX", mail())
            deadline = time.monotonic() + 20
            while dovecot.messages("INBOX") and time.monotonic() < deadline:
                time.sleep(0.2)
            assert dovecot.messages("INBOX") == {}
            process.terminate()
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
            process.stderr.close()
        assert len(dovecot.messages(PROCESSED)) == 1
        with sqlite3.connect(tmp_path / "e2e.sqlite3") as db:
            assert db.execute("select count(*) from tickets_ticket").fetchone() == (1,)


# -- TLS: the certificate is always verified --------------------------------------------


@pytest.fixture
def tls_dovecot():
    with running_dovecot(tls=True) as server:
        yield server


def test_imaps_with_the_ca_file_files_a_message(tls_dovecot, settings):
    settings.IMAP_SECURITY = "ssl"
    settings.IMAP_PORT = tls_dovecot.tls_port
    settings.IMAP_SSL_CA_FILE = tls_dovecot.ca_file
    for name in ("HOST", "USER", "PASSWORD"):
        setattr(settings, f"IMAP_{name}", getattr(tls_dovecot, name.lower()))
    settings.IMAP_PROCESSED_FOLDER = PROCESSED
    raw = mail("Over IMAPS")
    tls_dovecot.append("INBOX", raw)
    imap = ImapPoller(ImapAccount.from_settings())
    try:
        assert imap.poll() == {"processed": 1}
        assert isinstance(imap._conn.socket(), ssl.SSLSocket)
    finally:
        imap.close()

    assert tls_dovecot.messages("INBOX") == {}
    assert [raw for _, raw in tls_dovecot.messages(PROCESSED).values()] == [raw]
    assert Ticket.objects.get().subject == "Over IMAPS"


def test_starttls_with_the_ca_file_files_a_message(tls_dovecot):
    raw = mail("Over STARTTLS")
    tls_dovecot.append("INBOX", raw)
    imap = poller(tls_dovecot, security="starttls", ca_file=tls_dovecot.ca_file)
    try:
        assert imap.poll() == {"processed": 1}
        assert isinstance(imap._conn.socket(), ssl.SSLSocket)
    finally:
        imap.close()

    assert tls_dovecot.messages("INBOX") == {}
    assert [raw for _, raw in tls_dovecot.messages(PROCESSED).values()] == [raw]
    assert Ticket.objects.get().subject == "Over STARTTLS"


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_a_self_signed_server_is_refused_without_the_ca_file(tls_dovecot, security):
    """System CAs only: the handshake fails, no retries, nothing filed or marked."""
    tls_dovecot.append("INBOX", mail("Not over an untrusted link"))
    port = tls_dovecot.tls_port if security == "ssl" else tls_dovecot.port
    imap = poller(tls_dovecot, security=security, port=port, retries=5)
    attempts = []
    imap._connect = lambda connect=imap._connect: attempts.append(1) or connect()
    try:
        with pytest.raises(ssl.SSLCertVerificationError, match="self-signed certificate"):
            imap.poll()
    finally:
        imap.close()

    assert len(attempts) == 1  # not retried: waiting does not make a certificate trusted
    assert InboundMessage.objects.count() == Ticket.objects.count() == 0
    inbox = tls_dovecot.messages("INBOX")
    assert len(inbox) == 1
    assert all("\\Seen" not in flags for flags, _ in inbox.values())
    assert tls_dovecot.messages(PROCESSED) == {}


def test_the_command_names_an_untrusted_certificate(tls_dovecot, settings):
    settings.IMAP_HOST = tls_dovecot.host
    settings.IMAP_PORT = tls_dovecot.tls_port
    settings.IMAP_SECURITY = "ssl"
    settings.IMAP_SSL_CA_FILE = ""
    settings.IMAP_USER = tls_dovecot.user
    settings.IMAP_PASSWORD = tls_dovecot.password

    with pytest.raises(CommandError, match=r"certificate not trusted \(see IMAP_SSL_CA_FILE\)"):
        call_command("poll_imap", "--once", stdout=io.StringIO())
