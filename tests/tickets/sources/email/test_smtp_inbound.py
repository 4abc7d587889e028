"""smtp_inbound driven by smtplib against the real aiosmtpd server on a free 127.0.0.1 port:
mail to a support address becomes a ticket, other recipients are refused, and a message
that cannot be stored is answered 4xx so the sender retries."""

import contextlib
import smtplib
import socket
import sqlite3
import subprocess
import sys
import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from accounts.fields import fernet
from tests.e2e.servers import HOST, ROOT, free_port, manage, server_env
from tickets.models import InboundMessage, Ticket
from tickets.sources.email.smtp import make_controller

pytestmark = pytest.mark.django_db(transaction=True)

SUPPORT = "support@mywallet.example"
SECURITY = "security@mywallet.example"


def mail(subject="Payment failed", *, to=SUPPORT, body="My payment failed.") -> bytes:
    message = EmailMessage()
    message["From"] = "Li Wei <li.wei@example.com>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mail.example.com")
    message.set_content(body)
    return message.as_bytes().replace(b"\n", b"\r\n")


@pytest.fixture
def smtp_port():
    controller = make_controller(host=HOST, port=free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def send(port: int, raw: bytes, to: list[str]) -> dict:
    with smtplib.SMTP(HOST, port, timeout=30) as client:
        return client.sendmail("li.wei@example.com", to, raw)


def test_mail_to_a_support_address_is_stored_as_sent_and_becomes_a_ticket(smtp_port):
    raw = mail()

    assert send(smtp_port, raw, [SUPPORT]) == {}

    stored = InboundMessage.objects.get()
    assert bytes(stored.raw) == raw
    assert stored.source == f"smtp:{HOST}"
    assert stored.status == InboundMessage.Status.PROCESSED
    assert Ticket.objects.get().subject == "Payment failed"


def test_a_recipient_outside_the_support_addresses_is_refused_and_nothing_stored(smtp_port):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(smtp_port, mail(to="ceo@mywallet.example"), ["ceo@mywallet.example"])

    code, answer = refused.value.recipients["ceo@mywallet.example"]
    assert code == 550
    assert answer.startswith(b"5.1.1")
    assert not InboundMessage.objects.exists()


def test_only_the_support_recipients_of_a_mixed_message_are_accepted(smtp_port):
    refused = send(smtp_port, mail(), [SUPPORT, "someone@elsewhere.example"])

    assert refused["someone@elsewhere.example"][0] == 550
    assert InboundMessage.objects.count() == Ticket.objects.count() == 1


def test_recipients_are_matched_without_regard_to_case(smtp_port):
    assert send(smtp_port, mail(), ["Support@MyWallet.Example"]) == {}
    assert Ticket.objects.count() == 1


def test_a_message_to_two_support_addresses_is_filed_once(smtp_port):
    raw = mail(to=f"{SUPPORT}, {SECURITY}")

    send(smtp_port, raw, [SUPPORT, SECURITY])  # one transaction, two recipients
    send(smtp_port, raw, [SECURITY])  # and again, as a second relay would deliver it

    assert Ticket.objects.count() == 1
    statuses = sorted(InboundMessage.objects.values_list("status", flat=True))
    assert statuses == ["duplicate", "processed"]


def test_a_quarantined_message_is_still_accepted(smtp_port):
    message = EmailMessage()
    message["To"] = SUPPORT
    message["Subject"] = "No sender"
    message.set_content("Who am I?")

    assert send(smtp_port, message.as_bytes(), [SUPPORT]) == {}

    assert InboundMessage.objects.get().status == InboundMessage.Status.QUARANTINED
    assert not Ticket.objects.exists()


def test_a_message_over_the_size_limit_is_refused(settings):
    settings.EMAIL_MAX_MESSAGE_BYTES = 2_000  # the server takes twice that
    controller = make_controller(host=HOST, port=free_port())
    controller.start()
    try:
        # 552 at MAIL FROM (smtplib announces SIZE) or, without SIZE, after DATA
        with pytest.raises(smtplib.SMTPResponseException) as refused:
            send(controller.port, mail(body="x" * 10_000), [SUPPORT])
    finally:
        controller.stop()
    assert refused.value.smtp_code == 552
    assert not InboundMessage.objects.exists()


@contextlib.contextmanager
def smtp_inbound_process(env: dict, port: int):
    """`manage.py smtp_inbound` in a subprocess, stopped with SIGTERM at the end."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "smtp_inbound", "--host", HOST, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "smtp_inbound did not listen within 30 s"
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), 1):
                break
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_a_message_that_cannot_be_stored_is_answered_451_and_taken_on_retry(tmp_path):
    """The database is really unavailable (its folder does not exist yet), then comes back
    while the server keeps running: the sender's retry is accepted and filed."""
    folder = tmp_path / "later"
    env = server_env(DATABASE_URL=f"sqlite:///{folder}/e2e.sqlite3", LOG_LEVEL="CRITICAL")
    port = free_port()
    raw = mail()

    with smtp_inbound_process(env, port) as process:
        with pytest.raises(smtplib.SMTPDataError) as deferred:
            send(port, raw, [SUPPORT])
        assert deferred.value.smtp_code == 451
        assert deferred.value.smtp_error.startswith(b"4.3.0")

        folder.mkdir()
        manage("migrate", "--noinput", env=env)

        assert send(port, raw, [SUPPORT]) == {}
    assert process.returncode == 0  # SIGTERM stops it cleanly
    with sqlite3.connect(folder / "e2e.sqlite3") as db:
        assert db.execute("select count(*) from tickets_ticket").fetchone() == (1,)
        ((stored,),) = db.execute("select raw from tickets_inboundmessage").fetchall()
    assert fernet().decrypt(stored) == raw  # encrypted at rest (issue 16), as received
