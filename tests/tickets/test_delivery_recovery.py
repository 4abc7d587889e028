"""What a killed worker leaves behind, recovered (tickets.actions.delivery.recover_abandoned),
and the commit point of the project's SMTP backend (mywallet_support.mail). The end-to-end
proof, with the real worker killed, is tests/faults/test_worker_and_disk.py."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.core.mail import EmailMessage
from django.db import DatabaseError, connection
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from mywallet_support import mail
from tests.tickets import factories
from tests.tickets.sources.email.smtp_server import running_smtp_server
from tickets import actions
from tickets.actions import delivery
from tickets.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smtp_server(settings):
    with running_smtp_server() as server:
        settings.MAILERS = {
            "default": {**server.mailer(), "BACKEND": "mywallet_support.mail.SMTPBackend"}
        }
        yield server


@pytest.fixture
def reply(customer, agent):
    ticket = actions.receive(
        factories.email(
            "li.wei@example.com",
            external_id="first.1@mail.example.com",
            metadata={"to": ["support@mywallet.example"], "cc": []},
        )
    ).ticket
    return Message.objects.create(
        ticket=ticket,
        direction=Message.Direction.OUTBOUND,
        channel="email",
        author=agent,
        text="Please try again.",
        delivery_status=Message.Delivery.QUEUED,
    )


def claim(message: Message, phase: str, age_seconds: float) -> None:
    since = timezone.now() - timedelta(seconds=age_seconds)
    metadata = {
        **message.metadata,
        delivery.CLAIM: {"attempt": "a1", "phase": phase, "since": since.isoformat()},
    }
    Message.objects.filter(pk=message.pk).update(metadata=metadata)
    message.metadata = metadata


def pending_deliveries(message: Message) -> int:
    return DBTaskResult.objects.filter(
        task_path=delivery.TASK_PATH,
        status=TaskResultStatus.READY,
        args_kwargs__args=[message.pk],
    ).count()


@pytest.mark.parametrize("error", [mail.CommitRefused, DatabaseError])
def test_a_refused_commit_drops_the_connection_before_the_final_dot(smtp_server, error):
    """Refused (the claim was taken over), or not recorded (the database away): the mail
    must not leave, since nothing says it may have."""
    email = EmailMessage("Hi", "Body", "support@mywallet.example", ["li.wei@example.com"])

    def refuse():
        raise error

    with pytest.raises(error), mail.commit_point(refuse):
        mail.transmit(email)
    assert smtp_server.messages == []  # the server discarded the unfinished mail

    reached = []
    with mail.commit_point(lambda: reached.append(len(smtp_server.messages))):
        mail.transmit(email)
    assert reached == [0]  # the hook ran before the server had the whole mail
    assert len(smtp_server.messages) == 1


def test_a_delivery_records_committing_before_the_server_has_the_mail(smtp_server, reply):
    seen = []
    smtp_server.handler.handle_DATA = _recording_phase(smtp_server.handler, reply, seen)

    assert actions.deliver(reply.pk) == Message.Delivery.SENT

    assert seen == [delivery.COMMITTING]
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.SENT


def _recording_phase(handler, message, seen):
    original = handler.handle_DATA

    def phase() -> str:
        try:
            return Message.objects.get(pk=message.pk).metadata[delivery.CLAIM]["phase"]
        finally:
            connection.close()  # this thread's own; nothing may outlive the test

    async def handle_DATA(server, session, envelope):
        seen.append(await sync_to_async(phase, thread_sensitive=False)())
        return await original(server, session, envelope)

    return handle_DATA


def test_an_abandoned_send_before_the_commit_point_is_sent_again(settings, reply):
    settings.DELIVERY_LEASE_SECONDS = 60
    claim(reply, delivery.SENDING, age_seconds=61)

    assert delivery.recover_abandoned() == {"resent": 1, "unknown": 0, "requeued": 0}

    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.QUEUED
    assert delivery.CLAIM not in reply.metadata
    assert pending_deliveries(reply) == 1


def test_an_abandoned_send_after_the_commit_point_is_held_for_the_agent(
    settings, reply, smtp_server
):
    settings.DELIVERY_LEASE_SECONDS = 60
    claim(reply, delivery.COMMITTING, age_seconds=61)
    # A delivery task running now does not take it over either.
    assert actions.deliver(reply.pk) == "claimed"

    assert delivery.recover_abandoned() == {"resent": 0, "unknown": 1, "requeued": 0}

    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.FAILED
    assert reply.delivery_error == delivery.delivery_unknown()
    assert reply.metadata["delivery_unknown"] is True
    assert pending_deliveries(reply) == 0
    assert smtp_server.messages == []


def test_a_live_claim_is_left_alone(settings, reply, smtp_server):
    settings.DELIVERY_LEASE_SECONDS = 60
    claim(reply, delivery.SENDING, age_seconds=5)

    assert actions.deliver(reply.pk) == "claimed"
    assert delivery.recover_abandoned() == {"resent": 0, "unknown": 0, "requeued": 0}

    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.QUEUED
    assert reply.metadata[delivery.CLAIM]["attempt"] == "a1"
    assert smtp_server.messages == []


def test_a_task_a_killed_worker_took_before_claiming_is_queued_again(settings, reply):
    settings.DELIVERY_LEASE_SECONDS = 60
    DBTaskResult.objects.filter(task_path=delivery.TASK_PATH).delete()
    delivery.enqueue_delivery(reply.pk)
    task = DBTaskResult.objects.get(task_path=delivery.TASK_PATH)
    task.claim("killed-worker")  # RUNNING, as a worker leaves it when SIGKILLed
    DBTaskResult.objects.filter(pk=task.pk).update(
        started_at=timezone.now() - timedelta(seconds=61)
    )

    assert delivery.recover_abandoned() == {"resent": 0, "unknown": 0, "requeued": 1}

    task.refresh_from_db()
    assert task.status == TaskResultStatus.FAILED
    assert pending_deliveries(reply) == 1
    assert delivery.recover_abandoned()["requeued"] == 0  # once
