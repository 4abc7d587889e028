"""The audit trail's hash chain (accounts.audit) and `manage.py verify_audit`."""

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts import audit
from accounts.actions import record_event, resolve_identity
from accounts.models import AccountEvent, Customer
from tests.conftest import race

pytestmark = pytest.mark.django_db


def _events(customer, count: int) -> list[AccountEvent]:
    return [
        record_event(
            customer=customer,
            action=AccountEvent.Action.FREEZE,
            reason=f"event {i}",
            details={"i": i, "amount": "12.50", "nested": {"b": 1, "a": [1, 2]}},
        )
        for i in range(count)
    ]


def verify(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_each_event_is_chained_to_the_one_before(customer):
    first, second, third = _events(customer, 3)
    assert (first.sequence, second.sequence, third.sequence) == (1, 2, 3)
    assert first.previous_hash == ""
    assert second.previous_hash == first.hash
    assert third.previous_hash == second.hash
    assert len({first.hash, second.hash, third.hash}) == 3


def test_the_stored_row_hashes_to_what_was_computed_before_the_insert(customer):
    (event,) = _events(customer, 1)
    stored = AccountEvent.objects.get(pk=event.pk)
    assert audit.compute_hash(stored) == event.hash == stored.hash


def test_numbers_in_details_hash_the_same_however_the_database_gives_them_back(customer):
    # Found in review: PostgreSQL's jsonb returns 1e16 as 10000000000000000, so a float
    # detail broke the hash of a legitimate row there.
    event = record_event(
        customer=customer,
        action=AccountEvent.Action.PAYMENT_PASSWORD_FAILED,
        details={"reference": 1e16, "ratio": 0.125, "big": 1e300, "count": 3},
    )
    stored = AccountEvent.objects.get(pk=event.pk)
    assert audit.compute_hash(stored) == event.hash
    assert verify()[0] == 0


def test_new_customers_created_in_bulk_are_chained_in_order(db):
    resolve_identity(kind="email", value="one@example.com")
    resolve_identity(kind="email", value="two@example.com")
    events = list(AccountEvent.objects.order_by("sequence"))
    assert [e.sequence for e in events] == [1, 2]
    assert events[1].previous_hash == events[0].hash


def test_the_hash_is_keyed(customer, settings):
    (event,) = _events(customer, 1)
    settings.AUDIT_CHAIN_KEY = "another key"
    assert audit.compute_hash(AccountEvent.objects.get(pk=event.pk)) != event.hash


def test_an_event_cannot_be_saved_around_the_chain(customer):
    with pytest.raises(ValueError, match=r"appended through accounts\.audit"):
        AccountEvent(customer=customer, action=AccountEvent.Action.FREEZE).save()


def test_verify_audit_reports_an_intact_chain_with_its_head(customer):
    *_, last = _events(customer, 5)
    code, out, err = verify()
    assert code == 0, err
    assert "Checked 5 events" in out
    assert f"Head: 5:{last.hash}" in out


def test_verify_audit_on_an_empty_trail(db):
    code, out, _ = verify()
    assert code == 0
    assert "no events yet" in out


def test_an_edited_reason_is_detected(customer):
    events = _events(customer, 4)
    AccountEvent.objects.filter(pk=events[2].pk).update(reason="nothing happened")
    code, _, err = verify()
    assert code == 1
    assert "event #3" in err and "does not match its hash" in err


def test_an_edit_through_raw_sql_with_a_recomputed_plain_hash_is_detected(customer):
    events = _events(customer, 3)
    edited = AccountEvent.objects.get(pk=events[1].pk)
    edited.details = {"i": 99}
    # The editor knows the format and recomputes a hash, but without the chain's key.
    plain = hashlib.sha256(audit.canonical_bytes(edited)).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_accountevent SET details = %s, hash = %s WHERE id = %s",
            ['{"i": 99}', plain, events[1].pk],
        )
    code, _, err = verify()
    assert code == 1
    assert "event #2" in err


def test_a_deleted_row_is_detected_as_a_gap(customer):
    events = _events(customer, 5)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_accountevent WHERE id = %s", [events[2].pk])
    code, _, err = verify()
    assert code == 1
    assert "event #3 missing before #4" in err


def test_a_deleted_row_with_the_rest_renumbered_is_detected(customer):
    events = _events(customer, 4)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_accountevent WHERE id = %s", [events[1].pk])
        for event in events[2:]:
            cursor.execute(
                "UPDATE accounts_accountevent SET sequence = sequence - 1 WHERE id = %s",
                [event.pk],
            )
    code, _, err = verify()
    assert code == 1
    assert "event #2" in err and "previous hash differs" in err


def test_a_forged_row_appended_without_the_key_is_detected(customer, settings):
    events = _events(customer, 2)
    forged = AccountEvent(
        customer=customer,
        action=AccountEvent.Action.UNFREEZE,
        actor_kind=AccountEvent.ActorKind.SYSTEM,
        reason="looks legitimate",
        sequence=3,
        previous_hash=events[-1].hash,
        created_at=events[-1].created_at,
    )
    # The forger knows the format but not the key.
    forged.hash = audit.compute_hash(forged, key=b"guessed key")
    forged.save()
    code, _, err = verify()
    assert code == 1
    assert "event #3" in err and "inserted without the chain key" in err


def test_a_row_inserted_outside_the_chain_is_reported(customer):
    _events(customer, 2)
    AccountEvent.objects.bulk_create(
        [AccountEvent(customer=customer, action=AccountEvent.Action.UNFREEZE)]
    )
    code, out, err = verify()
    assert code == 1
    assert "Checked 2 events" in out
    assert "1 events stand outside the chain" in err


def test_rows_cut_off_the_end_are_caught_with_an_anchor(customer):
    events = _events(customer, 4)
    anchor = f"4:{events[-1].hash}"
    assert verify("--anchor", anchor)[0] == 0
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_accountevent WHERE sequence >= 3")
    code, _, err = verify("--anchor", anchor)
    assert code == 1
    assert "rows were removed from its end" in err


def test_verify_walks_past_one_chunk(customer):
    _events(customer, 7)
    report = audit.verify_chain(chunk_size=2)
    assert report.intact and report.checked == 7


def test_the_migration_chains_rows_written_before_the_chain(customer):
    """Rows from before the chain (sequence null) are chained in (created_at, id) order."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("accounts.migrations.0004_audit_chain")
    AccountEvent.objects.all().delete()  # the customer fixture's own, already chained
    now = timezone.now()
    # Written out of order: the newest row has the lowest id.
    written = ((AccountEvent.Action.UNLOCK, 1), (AccountEvent.Action.LOCK, 3))
    written += ((AccountEvent.Action.FREEZE, 2),)
    rows = AccountEvent.objects.bulk_create(
        [AccountEvent(customer=customer, action=action) for action, _minutes in written]
    )
    for row, (_action, minutes) in zip(rows, written, strict=True):
        AccountEvent.objects.filter(pk=row.pk).update(created_at=now - timedelta(minutes=minutes))

    class Editor:
        connection = connection

    migration.chain_existing_rows(apps, Editor())
    assert verify()[0] == 0
    chained = AccountEvent.objects.order_by("sequence").values_list("sequence", "action")
    assert list(chained) == [
        (1, AccountEvent.Action.LOCK),
        (2, AccountEvent.Action.FREEZE),
        (3, AccountEvent.Action.UNLOCK),
    ]


# --- concurrency (PostgreSQL) ---------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain(postgres_only):
    customer = Customer.objects.create(name="Racer")

    def work(i):
        if i % 2:
            return resolve_identity(kind="email", value=f"racer{i}@example.com")
        return record_event(customer=customer, action=AccountEvent.Action.FREEZE, reason=str(i))

    race(16, work)
    report = audit.verify_chain()
    assert report.intact, report.problem
    assert report.checked == AccountEvent.objects.count() == 16
