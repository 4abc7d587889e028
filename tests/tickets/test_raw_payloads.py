"""Raw payloads (issue 16): encrypted at rest, read by a person only through the audited
tickets.actions.read_raw, with a reason; the admin shows them only that way."""

import logging

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import AccountEvent
from tests.tickets.test_personal_data_at_rest import CHINESE, mail
from tickets import actions
from tickets.models import InboundMessage
from tickets.sources.email import intake

pytestmark = pytest.mark.django_db


RAW = mail(subject="Card", body=CHINESE)


def filed() -> InboundMessage:
    stored = intake.store(RAW, source="test")
    intake.process(stored)
    stored.refresh_from_db()
    return stored


def test_a_supervisor_reads_a_payload_with_a_reason_and_it_is_audited(supervisor):
    stored = filed()
    raw = actions.read_raw(stored, acting_user=supervisor, reason="Customer disputes the card")
    assert raw == RAW
    event = AccountEvent.objects.get(action=AccountEvent.Action.PERSONAL_DATA_REVEALED)
    assert event.actor == supervisor
    assert event.reason == "Customer disputes the card"
    assert event.ticket == stored.message.ticket
    assert event.customer == stored.message.ticket.customer
    assert event.details == {"raw_payload": stored.pk, "channel": "email"}


def test_reading_without_a_reason_is_refused_and_leaves_no_trace(supervisor):
    stored = filed()
    with pytest.raises(ValidationError) as refused:
        actions.read_raw(stored, acting_user=supervisor, reason="  ")
    assert refused.value.code == "reason_required"
    assert not AccountEvent.objects.filter(action=AccountEvent.Action.PERSONAL_DATA_REVEALED)


def test_an_agent_cannot_read_a_payload(agent):
    stored = filed()
    with pytest.raises(PermissionDenied):
        actions.read_raw(stored, acting_user=agent, reason="curious")


def test_a_payload_of_no_known_customer_is_logged_when_read(supervisor, caplog):
    stored = intake.store(
        mail(subject="x", body=CHINESE).replace(b"From:", b"X-From:"), source="test"
    )
    intake.process(stored)
    stored.refresh_from_db()
    assert stored.status == InboundMessage.Status.QUARANTINED
    with caplog.at_level(logging.WARNING, logger="tickets.actions.raw"):
        actions.read_raw(stored, acting_user=supervisor, reason="Find the sender")
    assert f"raw payload {stored.pk} (email, no customer known) read by supervisor" in caplog.text
    assert not AccountEvent.objects.filter(action=AccountEvent.Action.PERSONAL_DATA_REVEALED)


def test_the_admin_asks_for_a_reason_before_the_download(supervisor_client):
    stored = filed()
    page = supervisor_client.get(f"/admin/tickets/inboundmessage/{stored.pk}/change/")
    assert page.status_code == 200
    assert f"/admin/tickets/inboundmessage/{stored.pk}/raw/" in page.text
    assert "6222021234567890123" not in page.text
    form = supervisor_client.get(f"/admin/tickets/inboundmessage/{stored.pk}/raw/")
    assert form.status_code == 200 and 'name="reason"' in form.text
    assert "6222021234567890123" not in form.text
    url = f"/admin/tickets/inboundmessage/{stored.pk}/raw/"
    refused = supervisor_client.post(url, {"reason": ""})
    assert refused.status_code == 200 and "errornote" in refused.text
    assert not AccountEvent.objects.filter(action=AccountEvent.Action.PERSONAL_DATA_REVEALED)
    download = supervisor_client.post(url, {"reason": "Disputed charge"})
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="inbound-{stored.pk}.eml"'
    assert download.content == bytes(InboundMessage.objects.get(pk=stored.pk).raw)
    assert AccountEvent.objects.get(action=AccountEvent.Action.PERSONAL_DATA_REVEALED).reason == (
        "Disputed charge"
    )


def test_an_agent_gets_no_download_from_the_admin(agent_client):
    stored = filed()
    response = agent_client.post(
        f"/admin/tickets/inboundmessage/{stored.pk}/raw/", {"reason": "curious"}
    )
    assert response.status_code == 403
    assert not AccountEvent.objects.filter(action=AccountEvent.Action.PERSONAL_DATA_REVEALED)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_the_payloads_stored_before_and_can_run_again():
    migrate([("tickets", "0018_personal_data_reveal")])
    with connection.cursor() as cursor:
        for index in range(3):
            cursor.execute(
                "INSERT INTO tickets_inboundmessage (channel, raw, sha256, source, received_at,"
                " status, reason) VALUES ('email', %s, %s, '', CURRENT_TIMESTAMP, 'processed', '')",
                [f"card 6222021234567890123 #{index}".encode(), f"{index:064d}"],
            )
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    with connection.cursor() as cursor:
        cursor.execute("SELECT raw FROM tickets_inboundmessage ORDER BY id")
        columns = [bytes(raw) for (raw,) in cursor.fetchall()]
    assert all(b"6222021234567890123" not in column for column in columns)
    stored = list(InboundMessage.objects.order_by("id").values_list("raw", flat=True))
    assert stored == [f"card 6222021234567890123 #{index}".encode() for index in range(3)]
