"""/api/me/tickets/: the app's customer, by their token, and their own tickets only: the
public thread (never a note, never an agent's username), "contact us" through the intake,
idempotent, and writing on a ticket (a closed one gets a follow-up)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Transaction
from tests.api.conftest import customer_client
from tests.conftest import verified_client
from tickets import actions
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(customer):
    return customer_client(customer.wallets.get())


@pytest.fixture
def other_app(other_customer):
    return customer_client(other_customer.wallets.get())


def _open(customer, subject="Payment failed", text="My payment to Coffee failed."):
    return actions.open_for_customer(customer=customer, subject=subject, text=text).ticket


def test_contact_us_opens_a_ticket_on_the_api_channel(app, customer):
    answer = app.post(
        "/api/me/tickets/",
        {"subject": "Refund missing", "message": "I was refunded twice?", "category": "feedback"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    ticket = Ticket.objects.get(pk=answer.json()["id"])
    assert answer["Location"] == f"/api/me/tickets/{ticket.pk}/"
    assert (ticket.customer, ticket.channel, ticket.subject) == (customer, "api", "Refund missing")
    assert ticket.category == "feedback"
    (message,) = ticket.messages.all()
    assert (message.direction, message.text) == (Message.Direction.INBOUND, "I was refunded twice?")
    assert answer.json()["messages"] == [
        {
            "direction": "from_customer",
            "text": "I was refunded twice?",
            "created_at": answer.json()["messages"][0]["created_at"],
            "author": "",
        }
    ]
    assert answer.json()["reference"] == ticket.reference


def test_a_retried_contact_us_opens_one_ticket(app, customer):
    body = {"subject": "Locked", "message": "My wallet is locked."}
    headers = {"Idempotency-Key": "app-request-1"}
    first = app.post("/api/me/tickets/", body, format="json", headers=headers)
    again = app.post("/api/me/tickets/", body, format="json", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again["Idempotency-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again["Location"] == first["Location"]
    assert Ticket.objects.filter(customer=customer).count() == 1
    reused = app.post(
        "/api/me/tickets/", {**body, "message": "else"}, format="json", headers=headers
    )
    assert reused.status_code == 422


def test_the_ticket_names_the_customers_own_transaction(app, customer, other_customer):
    mine = Transaction.objects.create(
        account=customer.wallets.get(),
        reference="TX-MINE",
        amount=Decimal("5"),
        status="failed",
        occurred_at=timezone.now(),
    )
    Transaction.objects.create(
        account=other_customer.wallets.get(),
        reference="TX-THEIRS",
        amount=Decimal("5"),
        status="failed",
        occurred_at=timezone.now(),
    )
    body = {"subject": "Failed", "message": "It failed."}
    answer = app.post("/api/me/tickets/", {**body, "transaction": "TX-MINE"}, format="json")
    assert Ticket.objects.get(pk=answer.json()["id"]).related_transaction == mine
    refused = app.post("/api/me/tickets/", {**body, "transaction": "TX-THEIRS"}, format="json")
    assert refused.status_code == 400
    assert "transaction" in refused.json()["error"]["fields"]
    assert Ticket.objects.filter(customer=customer).count() == 1


def test_contact_us_checks_its_input(app):
    answer = app.post("/api/me/tickets/", {"subject": "", "category": "nope"}, format="json")
    assert answer.status_code == 400
    assert set(answer.json()["error"]["fields"]) == {"subject", "message", "category"}


def test_the_list_holds_only_the_customers_own_tickets_newest_activity_first(
    app, customer, other_customer
):
    older, newer = _open(customer, "First"), _open(customer, "Second")
    _open(other_customer, "Not yours")
    Ticket.objects.filter(pk=older.pk).update(last_message_at=timezone.now())
    answer = app.get("/api/me/tickets/")
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [t["id"] for t in results] == [older.pk, newer.pk]
    assert set(results[0]) == {
        "id",
        "reference",
        "subject",
        "status",
        "channel",
        "created_at",
        "updated_at",
        "last_message_at",
    }


def test_another_customers_ticket_is_not_found(app, other_customer):
    theirs = _open(other_customer)
    assert app.get(f"/api/me/tickets/{theirs.pk}/").status_code == 404
    written = app.post(f"/api/me/tickets/{theirs.pk}/messages/", {"text": "hi"}, format="json")
    assert written.status_code == 404
    assert theirs.messages.count() == 1


def test_the_thread_has_no_notes_and_agents_by_first_name_only(app, customer, agent):
    ticket = _open(customer)
    agent.first_name = "Mei"
    agent.save()
    actions.add_note(ticket, acting_user=agent, body="Customer sounds upset; check risk log")
    actions.reply(ticket, acting_user=agent, body="We are looking into it.")
    answer = app.get(f"/api/me/tickets/{ticket.pk}/")
    assert answer.status_code == 200
    messages = answer.json()["messages"]
    assert [(m["direction"], m["author"]) for m in messages] == [
        ("from_customer", ""),
        ("from_support", "Mei"),
    ]
    text = answer.content.decode()
    assert "risk log" not in text
    assert agent.username not in text


def test_the_customer_writes_on_their_open_ticket(app, customer):
    ticket = _open(customer)
    answer = app.post(
        f"/api/me/tickets/{ticket.pk}/messages/", {"text": "Any news?"}, format="json"
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["ticket"]["id"] == ticket.pk
    assert answer.json()["opened"] is False
    assert answer.json()["follows_up"] is None
    assert answer["Location"] == f"/api/me/tickets/{ticket.pk}/"
    assert list(ticket.messages.values_list("text", flat=True).order_by("pk"))[-1] == "Any news?"


def test_writing_on_a_closed_ticket_opens_a_follow_up(app, customer, agent):
    ticket = _open(customer)
    actions.change_status(ticket, acting_user=agent, status="closed")
    answer = app.post(f"/api/me/tickets/{ticket.pk}/messages/", {"text": "Again!"}, format="json")
    assert answer.status_code == 201
    landed = answer.json()["ticket"]["id"]
    assert landed != ticket.pk
    assert answer.json()["opened"] is True
    assert answer.json()["follows_up"] == ticket.pk
    assert Ticket.objects.get(pk=landed).messages.get().text == "Again!"
    ticket.refresh_from_db()
    assert ticket.status == "closed"


def test_a_retried_message_is_written_once(app, customer):
    ticket = _open(customer)
    for _ in range(2):
        answer = app.post(
            f"/api/me/tickets/{ticket.pk}/messages/",
            {"text": "Hello?"},
            format="json",
            headers={"Idempotency-Key": "m-1"},
        )
        assert answer.status_code == 201
    assert ticket.messages.filter(text="Hello?").count() == 1


def test_only_the_apps_token_opens_these_endpoints(client_with, agent, customer):
    key = client_with("tickets:read", "tickets:write", "customers:read")
    # Only the app's token is read here: a key or a session is as good as no credential.
    for client in (key, verified_client(agent)):
        answer = client.get("/api/me/tickets/")
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "not_authenticated"


def test_the_lists_query_count_does_not_grow_with_the_page(app, customer):
    for n in range(12):
        _open(customer, f"Ticket {n}")
    app.get("/api/me/tickets/")
    counts = []
    for size in (2, 10):
        with CaptureQueriesContext(connection) as queries:
            answer = app.get(f"/api/me/tickets/?page_size={size}")
        assert len(answer.json()["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_threads_query_count_does_not_grow_with_its_messages(app, customer, agent):
    ticket = _open(customer)
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            app.get(f"/api/me/tickets/{ticket.pk}/")
        counts.append(len(queries))
        for n in range(5):
            actions.reply(ticket, acting_user=agent, body=f"Answer {n}")
    assert counts[0] == counts[1]
