"""Fault scenarios, part two: the task worker killed during delivery, and the disk full for
attachments. Real processes and servers throughout: the task worker as bin/run-dev.sh runs
it (a subprocess, killed with SIGKILL), a real SMTP server (aiosmtpd), a database of the
scenario's own (SQLite, or PostgreSQL in the PostgreSQL pass), a real tmpfs for the disk.

Each scenario prints ``FAULT <scenario> lost=<n> doubled=<n> recovered_in=<seconds>s``.
"""

import json
import time

import pytest

from tests.e2e.servers import HOST
from tests.faults.worker_fixtures import (
    fault_database,
    holding_smtp_server,
    query,
    report,
    shell,
    task_worker,
    wait_for,
)

pytestmark = [pytest.mark.e2e]

REPLIES = 30
LEASE_SECONDS = 2  # the worker's DELIVERY_LEASE_SECONDS here: abandoned claims seen soon

_QUEUE_REPLIES = """
import json
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from accounts.roles import AGENTS
from tests.tickets import factories
from tickets import actions
agent = get_user_model().objects.create_user(username="agent", is_staff=True)
agent.groups.add(Group.objects.get(name=AGENTS))
ids = []
for n in range({customers}):
    received = actions.receive(factories.email(
        f"customer{{n}}@example.com", external_id=f"first.{{n}}@mail.example.com",
        subject=f"Payment {{n}} failed", metadata={{"to": ["support@mywallet.example"], "cc": []}},
    ))
    for k in range({per_customer}):
        ids.append(actions.reply(received.ticket, acting_user=agent, body=f"Reply {{n}}.{{k}}").pk)
print(json.dumps(ids))
"""


def replies_state(env: dict, ids: list[int]) -> dict[int, tuple[str, str, bool]]:
    """Each reply's delivery status, its Message-ID and whether it is held as "delivery
    unknown", read from the database."""
    rows = query(
        env,
        "SELECT id, delivery_status, external_id, metadata FROM tickets_message "
        "WHERE direction = %s",
        ("outbound",),
    )
    rows = [row for row in rows if row[0] in set(ids)]
    return {row[0]: (row[1], row[2], _held(row[3])) for row in rows}


def _held(metadata) -> bool:
    """Held for the agent as "delivery unknown" (the text is in the worker's language)."""
    if isinstance(metadata, str):  # SQLite gives the JSON text, PostgreSQL the value
        metadata = json.loads(metadata)
    return bool((metadata or {}).get("delivery_unknown"))


def settled(env: dict, ids: list[int]):
    state = replies_state(env, ids)
    return state if all(status != "queued" for status, _id, _held in state.values()) else None


def test_replies_reach_the_mail_server_once_when_the_worker_is_killed_during_delivery(tmp_path):
    with holding_smtp_server() as (smtp, handler):
        overrides = {
            "EMAIL_BACKEND": "mywallet_support.mail.SMTPBackend",
            "EMAIL_HOST": HOST,
            "EMAIL_PORT": str(smtp.port),
            "EMAIL_TIMEOUT": "30",
            "DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS),
            "LOG_LEVEL": "WARNING",
        }
        with fault_database(tmp_path, **overrides) as env, task_worker(env) as worker:
            ids = shell(env, _QUEUE_REPLIES.format(customers=10, per_customer=REPLIES // 10))
            assert len(ids) == REPLIES

            # 1. At the dangerous point: the server has the whole mail (it counted it),
            # its "250" is not read yet. A blind retry would send it a second time.
            handler.hold("DATA")
            worker.start()
            assert handler.arrived.wait(60), worker.output()
            worker.kill()
            handler.release()
            at_commit = wait_for(lambda: list(handler.received), timeout=5, what="counted")

            # 2. Before the commit point: the server has the envelope, not the mail.
            handler.hold("RCPT")
            worker.start()
            assert handler.arrived.wait(60), worker.output()
            worker.kill()
            handler.release()

            # 3. Anywhere: killed just after the server counted a few more mails.
            for _ in range(2):
                before = handler.total
                worker.start()
                wait_for(
                    lambda before=before: handler.total >= before + 3,
                    timeout=60,
                    what=f"3 more mails\n{worker.output()}",
                )
                worker.kill()

            restarted = time.monotonic()
            worker.start()
            state = wait_for(
                lambda: settled(env, ids), timeout=90, what=f"all settled\n{worker.output()}"
            )
            recovered_in = time.monotonic() - restarted
            worker.stop()
            assert worker.kills == 4

    sent = {pk for pk, (status, _id, _held) in state.items() if status == "sent"}
    held = {pk for pk, (status, _id, is_held) in state.items() if is_held and status == "failed"}
    doubled = sum(count - 1 for count in handler.received.values() if count > 1)
    arrived = {
        pk for pk, (_status, message_id, _held) in state.items() if message_id in handler.received
    }
    lost = len(set(ids) - arrived - held)  # neither sent nor told to the agent
    report("worker_killed_during_delivery", lost=lost, doubled=doubled, recovered_in=recovered_in)

    assert doubled == 0, handler.received.most_common(3)
    assert lost == 0, state
    # Those cut off at the commit point (the first on purpose; a kill just after the server
    # counted a mail often lands there too) are held for the agent, not sent again. Every
    # other reply was sent, and reached the server exactly once.
    [held_id] = at_commit
    assert held_id in {state[pk][1] for pk in held}, state
    assert sent | held == set(ids), state
    assert all(handler.received[state[pk][1]] == 1 for pk in sent), state
    assert set(handler.received) <= {message_id for _s, message_id, _h in state.values()}


# --- the disk full for attachments ------------------------------------------------------------

TWO_MB = 2 * 1024 * 1024


def mail_with_attachment(subject: str, name: str, content: bytes) -> bytes:
    from email.message import EmailMessage
    from email.utils import make_msgid

    message = EmailMessage()
    message["From"] = "Li Wei <li.wei@example.com>"
    message["To"] = "support@mywallet.example"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mail.example.com")
    message.set_content("The statement of my failed payment is attached.")
    message.add_attachment(content, maintype="application", subtype="pdf", filename=name)
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


@pytest.mark.django_db(transaction=True)
def test_a_full_disk_keeps_the_message_tells_the_sender_and_the_next_one_is_stored(
    settings, tmp_path, tasks_at_once, agent_client
):
    import smtplib

    from django.core.cache import cache
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from tests.chat.test_api import csrf_client, post
    from tests.e2e.servers import free_port
    from tests.faults.worker_fixtures import resize, tiny_disk, used_bytes
    from tests.tickets.sources.email.smtp_server import running_smtp_server
    from tickets.actions import NOT_STORED
    from tickets.models import Attachment, InboundMessage, Message
    from tickets.sources.email import notices
    from tickets.sources.email.smtp import make_controller

    # The notices' hourly limit lives in the cache (a shared Redis in CI): start afresh.
    cache.delete_many(
        [
            notices._cache_key(kind, "li.wei@example.com")
            for kind in (notices.ACKNOWLEDGEMENT, notices.NOT_STORED)
        ]
    )
    statement = b"%PDF-1.7\n" + bytes(range(256)) * (TWO_MB // 256)
    with (
        tiny_disk(tmp_path / "media", "1m") as media,
        running_smtp_server() as outgoing,
    ):
        settings.MEDIA_ROOT = media
        settings.MAILERS = {"default": outgoing.mailer()}
        # The suite's other chats this minute share the address's start limit.
        settings.CHAT_HTTP_PER_MINUTE = 1000
        intake = make_controller(host=HOST, port=free_port())
        intake.start()
        try:
            with smtplib.SMTP(HOST, intake.port, timeout=60) as client:
                raw = mail_with_attachment("Failed payment", "statement.pdf", statement)
                assert (
                    client.sendmail("li.wei@example.com", ["support@mywallet.example"], raw) == {}
                )

            # The customer's chat: an image upload, as big, into the same full disk.
            chat = csrf_client()
            assert post(chat, "/chat/start/", {"name": "Li Wei"}).status_code == 200
            image = SimpleUploadedFile(
                "receipt.png", b"\x89PNG\r\n\x1a\n" + b"\x01" * TWO_MB, content_type="image/png"
            )
            refused = post(chat, "/chat/upload/", {"image": image, "client_id": "full-1"})

            # The disk is given room again: the next mail and upload are stored as usual.
            used_when_full = used_bytes(media)  # no partial file left taking the room
            freed = time.monotonic()
            resize(media, "16m")
            with smtplib.SMTP(HOST, intake.port, timeout=60) as client:
                again = mail_with_attachment("Re: Failed payment", "statement.pdf", statement)
                assert (
                    client.sendmail("li.wei@example.com", ["support@mywallet.example"], again) == {}
                )
            image = SimpleUploadedFile(
                "receipt.png", b"\x89PNG\r\n\x1a\n" + b"\x01" * TWO_MB, content_type="image/png"
            )
            accepted = post(chat, "/chat/upload/", {"image": image, "client_id": "full-2"})
            recovered_in = time.monotonic() - freed
            on_disk = {row.pk: row.file.read() for row in Attachment.objects.all()}
        finally:
            intake.stop()
        notices = [received.parsed() for received in outgoing.messages]

    # The mail: its raw bytes kept and processed, its text on the ticket, the file listed
    # as not stored (no row, no partial file), the sender told.
    first, second = InboundMessage.objects.order_by("pk")
    assert bytes(first.raw) == raw and first.status == InboundMessage.Status.PROCESSED
    kept = first.message
    assert "statement of my failed payment" in kept.text
    [lost] = kept.metadata[NOT_STORED]
    assert lost["name"] == "statement.pdf" and lost["reason"] == "disk_full"
    assert lost["size"] == len(statement)
    assert not Attachment.objects.filter(message=kept).exists()
    told = [mail for mail in notices if "could not receive your attachments" in mail["Subject"]]
    assert len(told) == 1, [mail["Subject"] for mail in notices]
    assert "statement.pdf" in told[0].get_body(("plain",)).get_content()
    assert told[0]["To"].addresses[0].addr_spec == "li.wei@example.com"
    page = agent_client.get(reverse("admin:tickets_ticket_change", args=[kept.ticket_id]))
    assert page.status_code == 200
    assert "not stored, the disk was full" in page.content.decode()

    # The chat: the customer is told the image did not arrive; the line is kept.
    assert refused.status_code == 507, refused.content
    assert "could not be received" in refused.json()["error"]
    [chat_lost] = Message.objects.get(channel="chat", metadata__has_key=NOT_STORED).metadata[
        NOT_STORED
    ]
    assert chat_lost["name"] == "receipt.png" and chat_lost["reason"] == "disk_full"

    # Room again: both stored in full.
    assert second.status == InboundMessage.Status.PROCESSED
    [stored] = Attachment.objects.filter(message=second.message)
    assert on_disk[stored.pk] == statement
    assert used_when_full < 64 * 1024
    assert accepted.status_code == 200, accepted.content
    [image_row] = Attachment.objects.filter(message_id=accepted.json()["id"])
    assert image_row.size == TWO_MB + 8

    lost_count = sum(1 for item in (first, second) if item.message is None or not item.message.text)
    doubled = Message.objects.filter(direction="inbound", channel="email").count() - 2
    report("disk_full_attachments", lost=lost_count, doubled=doubled, recovered_in=recovered_in)
    assert lost_count == 0 and doubled == 0
