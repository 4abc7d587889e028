"""POST /api/calls/: the telephony system's call records. Its token or a key with
calls:write, size, raw kept first, idempotent on the call id; answered calls land on the
caller's customer and open ticket, unanswered ones become callback tasks; bad records are
refused with their reason (the API's one error shape), kept, and change nothing else."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer, CustomerIdentity
from tests.api.conftest import key_client
from tests.conftest import race
from tickets.actions import merge_customers, reprocess_inbound
from tickets.models import Callback, CallLog, Channel, InboundMessage, Message, Ticket

TOKEN = "test-telephony-token"
URL = "/api/calls/"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _token(settings):
    settings.TELEPHONY_API_TOKEN = TOKEN
    settings.TELEPHONY_MAX_BYTES = 4096
    settings.TELEPHONY_CALLBACK_WITHIN_MINUTES = 30


_ids = iter(range(1, 10**6))


def record(**fields) -> dict:
    base = {
        "call_id": f"call-{next(_ids)}",
        "number": "138 0013 8000",  # Li Wei's, as a local number
        "direction": "inbound",
        "outcome": "answered",
        "started_at": (timezone.now() - timedelta(minutes=3)).isoformat(),
        "duration_seconds": 125,
        "notes": "Asked why a top-up is pending.",
    }
    base.update(fields)
    return base


def post(client, body, *, token=TOKEN):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    return client.post(URL, raw, content_type="application/json", **headers)


def test_the_url_is_wired():
    assert reverse("api:telephony-calls") == URL


def test_an_answered_call_lands_on_the_callers_customer_and_opens_a_phone_ticket(client, customer):
    response = post(client, record(call_id="c-1"))

    assert response.status_code == 201, response.content
    call = CallLog.objects.get(external_id="c-1")
    assert call.customer == customer
    assert call.caller_number == "+8613800138000"
    assert call.duration == timedelta(seconds=125)
    ticket = call.ticket
    assert ticket.customer == customer and ticket.channel == Channel.PHONE
    message = ticket.messages.get()
    assert message.channel == Channel.PHONE
    assert message.direction == Message.Direction.INBOUND
    assert message.text == "Asked why a top-up is pending."
    raw = InboundMessage.objects.get(pk=response.json()["id"])
    assert raw.channel == Channel.PHONE and raw.status == InboundMessage.Status.PROCESSED
    assert raw.message_id == message.pk
    assert not Callback.objects.exists()


def test_a_second_call_joins_the_customers_open_ticket(client, customer):
    post(client, record(call_id="c-1"))
    post(client, record(call_id="c-2", number="+86 138-0013-8000", notes=""))

    assert Ticket.objects.count() == 1
    ticket = Ticket.objects.get()
    assert ticket.calls.count() == 2
    texts = list(ticket.messages.order_by("pk").values_list("text", flat=True))
    assert texts[1].startswith("Phone call (Inbound, Answered, 2 min)")


def test_the_same_call_id_twice_files_one_call(client, customer):
    body = record(call_id="c-9")
    first = post(client, body)
    again = post(client, body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["status"] == "duplicate"
    assert CallLog.objects.count() == 1
    assert Message.objects.count() == 1
    assert InboundMessage.objects.filter(status=InboundMessage.Status.DUPLICATE).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_call_id_at_once_files_one_call(client, customer, postgres_only):
    """Two deliveries of one record racing (the telephony system's retry overtaking)."""
    from django.test import Client

    body = record(call_id="c-race")
    statuses = race(4, lambda _i: post(Client(), body).status_code)

    assert sorted(statuses) == [200, 200, 200, 201]
    assert CallLog.objects.filter(external_id="c-race").count() == 1
    assert Message.objects.count() == 1


def test_a_missed_call_becomes_a_callback_task_and_no_message(client, customer):
    started = timezone.now() - timedelta(minutes=1)
    response = post(
        client,
        record(call_id="m-1", outcome="missed", duration_seconds=0, started_at=started.isoformat()),
    )

    assert response.status_code == 201
    call = CallLog.objects.get(external_id="m-1")
    assert call.outcome == CallLog.Outcome.MISSED and call.customer == customer
    assert call.ticket is None
    callback = Callback.objects.get()
    assert callback.call == call and callback.customer == customer
    assert callback.source == Callback.Source.MISSED_CALL
    assert callback.status == Callback.Status.OPEN
    assert callback.phone == "+8613800138000"
    assert callback.due_at == started + timedelta(minutes=30)
    assert not Message.objects.exists() and not Ticket.objects.exists()
    # the retry of a missed call owes one callback, not two
    post(client, record(call_id="m-1", outcome="missed", started_at=started.isoformat()))
    assert Callback.objects.count() == 1


def test_an_unknown_number_makes_a_new_customer_with_that_phone(client, customer):
    response = post(client, record(call_id="u-1", number="+86 139 1234 5678"))

    assert response.status_code == 201
    identity = CustomerIdentity.objects.get(kind="phone", value="+8613912345678")
    assert identity.customer != customer
    assert CallLog.objects.get().customer == identity.customer


@pytest.mark.parametrize(
    ("token", "status"),
    [(None, 401), ("wrong-token", 401), ("", 401), (TOKEN + "x", 401)],
)
def test_a_wrong_token_is_refused_and_nothing_is_kept(client, customer, token, status):
    response = post(client, record(), token=token)

    assert response.status_code == status
    assert response.json()["error"]["code"] in {"not_authenticated", "authentication_failed"}
    assert not InboundMessage.objects.exists()
    assert not CallLog.objects.exists()


def test_no_token_configured_opens_nothing_but_keys(client, settings, customer, make_key):
    settings.TELEPHONY_API_TOKEN = ""
    response = post(client, record(), token="")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert not InboundMessage.objects.exists()
    _key, text = make_key("calls:write")
    assert post(key_client(text), record(), token=None).status_code == 201


def test_a_key_with_calls_write_files_a_call_as_the_token_does(customer, make_key):
    _key, text = make_key("calls:write")
    response = post(key_client(text), record(call_id="k-1"), token=None)

    assert response.status_code == 201, response.content
    assert response.json() == {"status": "accepted", "id": InboundMessage.objects.get().pk}
    assert CallLog.objects.get().external_id == "k-1"


@pytest.mark.parametrize("scopes", [("tickets:write",), ("customers:read", "articles:read")])
def test_a_key_without_calls_write_is_refused_and_nothing_is_kept(customer, make_key, scopes):
    _key, text = make_key(*scopes)
    response = post(key_client(text), record(), token=None)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not InboundMessage.objects.exists()


def test_the_telephony_token_opens_calls_and_nothing_else(client):
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_an_oversized_body_is_refused_before_it_is_read(client, customer):
    response = post(client, record(notes="x" * 5000))

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not InboundMessage.objects.exists() and not CallLog.objects.exists()


def test_get_is_not_allowed(client):
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (record(number="12"), "not a valid phone number"),
        (record(outcome="exploded"), "Unknown call outcome"),
        (record(direction="sideways"), "Unknown call direction"),
        (record(started_at="yesterday"), "ISO 8601"),
        (record(started_at="2026-12-01T10:00:00"), "time zone"),
        (record(started_at=(timezone.now() + timedelta(days=1)).isoformat()), "future"),
        (record(duration_seconds=-5), "whole number"),
        (record(duration_seconds="90"), "whole number"),
        (record(call_id=""), "call_id is required"),
        (record(number=["+8613800138000"]), "must be a string"),
    ],
)
def test_a_bad_record_is_refused_with_its_reason_and_kept(client, customer, body, reason):
    response = post(client, body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "quarantined" and reason in error["message"]
    raw = InboundMessage.objects.get()
    assert raw.status == InboundMessage.Status.QUARANTINED and reason in raw.reason
    assert not CallLog.objects.exists() and not Ticket.objects.exists()
    assert not Callback.objects.exists()
    assert Customer.objects.count() == 1


def test_a_quarantined_record_can_be_reprocessed_after_a_fix(client, customer, supervisor):
    post(client, record(call_id="late", outcome="dropped"))
    stored = InboundMessage.objects.get()
    # the telephony system's new outcome becomes known: the payload is fixed and refiled
    stored.raw = json.dumps(record(call_id="late", outcome="abandoned")).encode()
    stored.save(update_fields=["raw"])

    assert reprocess_inbound(stored, acting_user=supervisor) == InboundMessage.Status.PROCESSED
    assert Callback.objects.get().call.external_id == "late"


def test_a_merge_moves_the_callers_calls_and_callbacks(client, customer, supervisor):
    """A missed call from an unknown number, later found to be Li Wei's second phone."""
    post(client, record(call_id="m-2", number="+8613912345678", outcome="missed"))
    stranger = CallLog.objects.get().customer
    assert stranger != customer

    merge_customers(source=stranger, target=customer, acting_user=supervisor)

    assert CallLog.objects.get().customer == customer
    assert Callback.objects.get().customer == customer


def test_the_agent_who_took_the_call_is_recorded_when_they_are_an_agent(client, customer, agent):
    post(client, record(call_id="a-1", agent="agent"))
    post(client, record(call_id="a-2", agent="nobody-here"))

    calls = dict(CallLog.objects.values_list("external_id", "agent"))
    assert calls == {"a-1": agent.pk, "a-2": None}
