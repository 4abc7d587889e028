import io
import mailbox
import os
import subprocess
import sys
from concurrent.futures.process import BrokenProcessPool
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from accounts.models import CustomerIdentity
from tickets import actions
from tickets.management.commands import ingest_email
from tickets.models import InboundMessage, Message, Queue, Ticket
from tickets.sources.email import intake

pytestmark = pytest.mark.django_db


def mail(
    *,
    sender="Li Wei <li.wei@example.com>",
    to="support@mywallet.example",
    subject="Payment failed",
    body="My payment at Meituan failed.",
    **headers,
) -> bytes:
    message = EmailMessage()
    if sender:
        message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = headers.pop("message_id", make_msgid(domain="mail.example.com"))
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def ingest(raw: bytes) -> str:
    return intake.process(intake.store(raw, source="test"))


def pipe(raw: bytes, monkeypatch) -> str:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    out = io.StringIO()
    call_command("ingest_email", stdout=out)
    return out.getvalue()


def test_a_piped_message_is_stored_raw_then_filed(monkeypatch):
    raw = mail()
    assert "processed" in pipe(raw, monkeypatch)
    stored = InboundMessage.objects.get()
    assert bytes(stored.raw) == raw
    assert stored.status == InboundMessage.Status.PROCESSED
    ticket = Ticket.objects.get()
    assert ticket.channel == "email"
    assert ticket.subject == "Payment failed"
    assert ticket.customer.identities.get().value == "li.wei@example.com"
    assert stored.message.ticket == ticket


def test_the_pipe_exits_75_when_the_message_cannot_be_stored(tmp_path):
    """EX_TEMPFAIL makes the MTA keep the message and retry."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/missing/folder/db.sqlite3",
        "LOG_LEVEL": "CRITICAL",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "ingest_email"],
        input=mail(),
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 75, result.stderr.decode()
    assert b"try again later" in result.stderr


def test_mail_without_a_sender_is_quarantined_with_the_reason_and_kept(monkeypatch):
    raw = mail(sender=None)
    pipe(raw, monkeypatch)
    stored = InboundMessage.objects.get()
    assert stored.status == InboundMessage.Status.QUARANTINED
    assert stored.reason
    assert bytes(stored.raw) == raw
    assert not Ticket.objects.exists()


def test_the_same_message_to_two_support_addresses_is_filed_once():
    raw = mail(message_id="<twice@mail.example.com>")
    assert ingest(raw) == InboundMessage.Status.PROCESSED
    copy = raw.replace(b"To: support@", b"To: security@")
    assert ingest(copy) == InboundMessage.Status.DUPLICATE
    assert Message.objects.count() == 1


def test_each_support_address_routes_to_its_queue_and_category():
    Queue.objects.create(name="Security", slug="security")
    ingest(mail(to="security@mywallet.example", subject="Someone logged into my account"))
    ticket = Ticket.objects.get()
    assert ticket.queue.slug == "security"
    assert ticket.category == Ticket.Category.SECURITY


def test_a_reply_threads_on_in_reply_to():
    ingest(mail(message_id="<first@mail.example.com>"))
    ingest(mail(subject="Re: Payment failed", In_Reply_To="<first@mail.example.com>"))
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().messages.count() == 2


def test_mail_from_our_own_address_is_not_filed():
    status = ingest(mail(sender="support@mywallet.example"))
    assert status == InboundMessage.Status.QUARANTINED
    assert not Ticket.objects.exists()


def test_a_folder_is_taken_once(tmp_path):
    maildir = mailbox.Maildir(tmp_path / "inbox")
    for i in range(3):
        maildir.add(mail(subject=f"Question {i}"))
    out = io.StringIO()
    call_command("ingest_email", "--dir", str(tmp_path / "inbox"), stdout=out, stderr=io.StringIO())
    assert out.getvalue().strip().startswith("3 processed")
    again = io.StringIO()
    call_command(
        "ingest_email", "--dir", str(tmp_path / "inbox"), stdout=again, stderr=io.StringIO()
    )
    assert "0 processed, 3 duplicate" in again.getvalue()
    assert Ticket.objects.count() == 3


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_folder_files_the_same_with_or_without_parse_workers(tmp_path, workers):
    folder = tmp_path / "inbox"
    folder.mkdir()
    first_id = make_msgid(domain="mail.example.com")
    messages = [
        mail(subject="Payment failed", message_id=first_id),
        mail(subject="Re: Payment failed", in_reply_to=first_id),
        mail(sender="not an address", subject="Broken"),
        b"",
    ]
    for i, raw in enumerate(messages):
        (folder / f"{i}.eml").write_bytes(raw)
    out = io.StringIO()
    call_command(
        "ingest_email", "--dir", str(folder), "--workers", workers, stdout=out, stderr=io.StringIO()
    )
    assert out.getvalue().strip() == "2 processed, 0 duplicate, 2 quarantined, 0 failed, 0 pending"
    [ticket] = Ticket.objects.all()  # the reply, parsed in the same batch, threads
    assert ticket.messages.count() == 2


@pytest.mark.parametrize("workers", [None, "0", "2"])
def test_the_reference_in_a_subject_follows_the_configured_prefix(settings, tmp_path, workers):
    """With workers, the prefix travels with each message: they run without Django."""
    settings.TICKET_REFERENCE_PREFIX = "HD"
    ingest(mail(subject="Payment failed"))
    ingest(mail(subject="Card binding"))
    current, earlier = Ticket.objects.order_by("pk")
    Ticket.objects.filter(pk=current.pk).update(reference="HD-000042")
    Ticket.objects.filter(pk=earlier.pk).update(reference="MW-000042")
    replies = [
        mail(subject="Re: [HD-000042] Payment failed"),
        mail(subject="Re: [MW-000042] Card binding"),
    ]
    if workers is None:
        for raw in replies:
            ingest(raw)
    else:
        folder = tmp_path / "inbox"
        folder.mkdir()
        for i, raw in enumerate(replies):
            (folder / f"{i}.eml").write_bytes(raw)
        call_command(
            "ingest_email", "--dir", str(folder), "--workers", workers, stdout=io.StringIO()
        )
    assert current.messages.count() == 2
    assert earlier.messages.count() == 1  # "MW-000042" is no reference of ours any more
    assert Ticket.objects.count() == 3


def test_a_dead_parse_worker_leaves_its_batch_to_be_parsed_in_the_command():
    def dying():
        yield "parsed by a worker"
        raise BrokenProcessPool("a worker died")

    assert ingest_email._results(dying(), 3) == [None, None, None]


def test_an_mbox_is_taken_with_a_summary(tmp_path):
    box = mailbox.mbox(tmp_path / "archive.mbox")
    box.add(mail(subject="One"))
    box.add(mail(subject="Two"))
    box.add(mail(sender="not an address", subject="Three"))
    box.flush()
    out, err = io.StringIO(), io.StringIO()
    call_command("ingest_email", "--mbox", str(tmp_path / "archive.mbox"), stdout=out, stderr=err)
    assert out.getvalue().strip() == "2 processed, 0 duplicate, 1 quarantined, 0 failed, 0 pending"
    assert "3/3" in err.getvalue()


def test_pending_messages_are_finished_later():
    stored = intake.store(mail(), source="test")  # as if the process died right here
    out = io.StringIO()
    call_command("ingest_email", "--pending", stdout=out)
    assert out.getvalue().startswith("1 processed")
    stored.refresh_from_db()
    assert stored.status == InboundMessage.Status.PROCESSED


def test_processing_twice_files_once():
    stored = intake.store(mail(), source="test")
    intake.process(stored)
    intake.process(InboundMessage.objects.get(pk=stored.pk))
    assert Message.objects.count() == 1


BOUNCE = b"""\
From: MAILER-DAEMON@mail.example.com (Mail Delivery System)
To: support@mywallet.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@mail.example.com>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.com. I'm sorry to have to inform you
that your message could not be delivered.

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.com

Final-Recipient: rfc822; li.wei@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <li.wei@example.com>: Recipient address rejected: User unknown

--BOUNDARY
Content-Type: text/rfc822-headers

From: MY Wallet Support <support@mywallet.example>
To: li.wei@example.com
Subject: [REFERENCE] Payment failed
Message-ID: <out-1@mywallet.example>

--BOUNDARY--
"""


def test_a_bounce_marks_our_reply_failed_and_the_address_undeliverable(agent):
    ingest(mail())
    ticket = Ticket.objects.get()
    reply = actions.reply(ticket, acting_user=agent, body="Please try again.")
    Message.objects.filter(pk=reply.pk).update(
        external_id="out-1@mywallet.example", delivery_status=Message.Delivery.SENT
    )
    report = BOUNCE.replace(b"REFERENCE", ticket.reference.encode())
    assert ingest(report) == InboundMessage.Status.PROCESSED
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.FAILED
    assert "User unknown" in reply.delivery_error
    assert CustomerIdentity.objects.get(value="li.wei@example.com").undeliverable
    assert Ticket.objects.count() == 1


def task_args(name: str) -> list[list]:
    return [
        result.args_kwargs["args"]
        for result in DBTaskResult.objects.filter(task_path=f"tickets.sources.email.notices.{name}")
    ]


def acknowledgements() -> list[list]:
    """[ticket id, address, language] of each acknowledgement queued, whatever the batch."""
    return [item for args in task_args("send_acknowledgements") for item in args[0]]


def test_a_new_ticket_is_acknowledged_and_a_follow_up_is_not():
    ingest(mail(message_id="<ack@mail.example.com>"))
    ingest(mail(In_Reply_To="<ack@mail.example.com>"))
    ticket = Ticket.objects.get()
    assert acknowledgements() == [[ticket.pk, "li.wei@example.com", "en"]]


def test_automatic_mail_answering_no_ticket_opens_none_and_is_never_answered():
    assert ingest(mail(Auto_Submitted="auto-replied", subject="Out of office")) == "quarantined"
    assert not Ticket.objects.exists()
    assert acknowledgements() == []


def test_quarantined_mail_can_be_reprocessed_from_the_admin(supervisor_client):
    stored = intake.store(mail(sender="not an address"), source="test")
    intake.process(stored)
    stored.refresh_from_db()
    assert stored.status == InboundMessage.Status.QUARANTINED
    # The cause is fixed (here: the stored bytes corrected by hand) and the agent retries.
    InboundMessage.objects.filter(pk=stored.pk).update(raw=mail())
    response = supervisor_client.post(
        "/admin/tickets/inboundmessage/",
        {"action": "reprocess", "_selected_action": [stored.pk]},
        follow=True,
    )
    assert response.status_code == 200
    stored.refresh_from_db()
    assert stored.status == InboundMessage.Status.PROCESSED
    assert stored.message.ticket.customer.identities.get().value == "li.wei@example.com"


def test_agents_cannot_reprocess(agent_client):
    stored = intake.store(mail(sender=None), source="test")
    intake.process(stored)
    agent_client.post(
        "/admin/tickets/inboundmessage/",
        {"action": "reprocess", "_selected_action": [stored.pk]},
    )
    stored.refresh_from_db()
    assert stored.status == InboundMessage.Status.QUARANTINED


def test_the_quarantine_list_shows_the_reason_without_loading_raw_bytes(supervisor_client):
    intake.process(intake.store(mail(sender=None), source="test"))
    response = supervisor_client.get("/admin/tickets/inboundmessage/?status__exact=quarantined")
    assert response.status_code == 200
    assert InboundMessage.objects.get().reason in response.text


def test_a_delay_report_fails_nothing(agent):
    ingest(mail())
    ticket = Ticket.objects.get()
    reply = actions.reply(ticket, acting_user=agent, body="Please try again.")
    Message.objects.filter(pk=reply.pk).update(
        external_id="out-1@mywallet.example", delivery_status=Message.Delivery.SENT
    )
    delayed = (
        BOUNCE.replace(b"Action: failed", b"Action: delayed")
        .replace(b"Status: 5.1.1", b"Status: 4.4.1")
        .replace(b"550 5.1.1", b"451 4.4.1")
    )
    assert ingest(delayed) == InboundMessage.Status.PROCESSED
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.SENT
    assert not CustomerIdentity.objects.get(value="li.wei@example.com").undeliverable


def test_a_bcc_copy_is_routed_by_its_delivered_to_address():
    Queue.objects.create(name="Feedback", slug="feedback")
    ingest(mail(to="friends@example.org", Delivered_To="feedback@mywallet.example"))
    assert Ticket.objects.get().queue.slug == "feedback"


def test_a_delay_report_about_mail_we_did_not_send_is_quarantined():
    """Found by the property test: it used to end processed with no message."""
    delayed = BOUNCE.replace(b"Action: failed", b"Action; delayed").replace(
        b"Status: 5.1.1", b"Status: 4.4.1"
    )
    assert ingest(delayed) == InboundMessage.Status.QUARANTINED
    assert InboundMessage.objects.get().reason == "Delivery report for a message we did not send."
