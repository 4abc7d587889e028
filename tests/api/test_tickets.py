"""/api/tickets/: what an integration (a key) or an agent's script does for a ticket: list and
filter, open one for a known customer, read it with its ETag, change it with If-Match."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from api.models import IdempotentRequest
from tests.api.conftest import customer_client, key_client
from tests.conftest import verified_client
from tickets import actions
from tickets.models import Queue, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def open_ticket(customer, *, subject="Payment failed", **fields) -> Ticket:
    return actions.open_ticket(
        customer=customer, channel="email", subject=subject, acting_user=None, **fields
    )


def json_client(text: str):
    """A key's client that sends JSON, the API's one format."""
    client = key_client(text)
    client.default_format = "json"
    return client


@pytest.fixture
def reader(make_key):
    _key, text = make_key("tickets:read")
    return json_client(text)


@pytest.fixture
def writer(make_key):
    key, text = make_key("tickets:write", name="CRM")
    client = json_client(text)
    client.key = key
    return client


@pytest.fixture
def queue(db):
    return Queue.objects.create(name="Security", slug="security")


def ids(answer) -> list[int]:
    assert answer.status_code == 200, answer.json()
    return [row["id"] for row in answer.json()["results"]]


# --- access --------------------------------------------------------------------------------


def test_no_credential_is_asked_for_one(db):
    answer = Client().get("/api/tickets/")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_authenticated"


def test_a_key_without_the_tickets_scope_is_refused(client_with):
    answer = client_with("customers:read").get("/api/tickets/")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "permission_denied"


def test_a_read_key_cannot_write(reader, customer):
    ticket = open_ticket(customer)
    assert reader.patch(f"/api/tickets/{ticket.pk}/", {"priority": 3}).status_code == 403
    opened = reader.post("/api/tickets/", {"customer": customer.pk, "subject": "x", "message": "y"})
    assert opened.status_code == 403
    assert Ticket.objects.count() == 1


def test_a_missing_ticket_is_not_found(reader):
    for path in ("/api/tickets/999/", "/api/tickets/999/messages/", "/api/tickets/abc/"):
        answer = reader.get(path)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"


def test_the_customers_token_does_not_open_the_desks_tickets(customer):
    # The desk's endpoints do not read the app's token: as good as no credential.
    assert customer_client(customer.wallets.get()).get("/api/tickets/").status_code == 401


def test_an_agents_session_reads_and_needs_csrf_to_write(agent, customer):
    ticket = open_ticket(customer)
    assert ids(verified_client(agent).get("/api/tickets/")) == [ticket.pk]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(agent)
    session = strict.session
    session[DEVICE_ID_SESSION_KEY] = agent.totpdevice_set.get().persistent_id
    session.save()
    answer = strict.patch(
        f"/api/tickets/{ticket.pk}/", {"priority": 3}, content_type="application/json"
    )
    assert answer.status_code == 403
    assert "CSRF" in answer.json()["error"]["message"]
    assert Ticket.objects.get().priority == Ticket.Priority.NORMAL


def test_an_agents_session_changes_a_ticket_as_the_agent(agent, customer):
    ticket = open_ticket(customer)
    answer = verified_client(agent).patch(
        f"/api/tickets/{ticket.pk}/", {"status": "pending"}, content_type="application/json"
    )
    assert answer.status_code == 200
    assert TicketEvent.objects.get(ticket=ticket, kind="status").actor == agent


# --- the list -------------------------------------------------------------------------------


def test_a_row_says_what_the_inbox_says(reader, customer, agent, queue):
    ticket = open_ticket(customer, queue=queue, priority=Ticket.Priority.HIGH)
    actions.assign(ticket, acting_user=agent, assignee=agent)
    (row,) = reader.get("/api/tickets/").json()["results"]
    assert row["reference"] == ticket.reference
    assert row["queue"] == {"slug": "security", "name": "Security"}
    assert row["customer"] == {"id": customer.pk, "name": "Li Wei"}
    assert row["assignee"] == {"id": agent.pk, "name": "agent"}
    assert row["sla"]["state"] == "ok"
    assert row["sla"]["due"] == row["first_response_due"]
    assert row["status"] == "new"
    assert row["priority"] == 3
    assert row["url"] == f"http://testserver/api/tickets/{ticket.pk}/"
    assert datetime.fromisoformat(row["created_at"]).utcoffset() is not None


def test_a_breached_and_a_stopped_clock(reader, customer, key_admin):
    late = open_ticket(customer)
    Ticket.objects.filter(pk=late.pk).update(first_response_due=timezone.now() - timedelta(1))
    waiting = open_ticket(customer)
    actions.change_status(waiting, acting_user=key_admin, status="pending")
    rows = {row["id"]: row["sla"] for row in reader.get("/api/tickets/").json()["results"]}
    assert rows[late.pk]["state"] == "breached"
    assert rows[waiting.pk] == {"due": None, "state": "none"}


def test_the_list_is_most_recently_changed_first(reader, customer, key_admin):
    first, second = open_ticket(customer), open_ticket(customer)
    assert ids(reader.get("/api/tickets/")) == [second.pk, first.pk]
    actions.update_details(first, acting_user=key_admin, subject="Changed")
    assert ids(reader.get("/api/tickets/")) == [first.pk, second.pk]


def test_ordering_by_priority_and_sla_due(reader, customer):
    low = open_ticket(customer, priority=Ticket.Priority.LOW)
    urgent = open_ticket(customer, priority=Ticket.Priority.URGENT)
    undue = open_ticket(customer)
    Ticket.objects.filter(pk=undue.pk).update(first_response_due=None, resolution_due=None)
    assert ids(reader.get("/api/tickets/?ordering=-priority"))[:2] == [urgent.pk, undue.pk]
    assert ids(reader.get("/api/tickets/?ordering=sla_due")) == [urgent.pk, low.pk, undue.pk]
    assert ids(reader.get("/api/tickets/?ordering=-sla_due")) == [low.pk, urgent.pk, undue.pk]
    refused = reader.get("/api/tickets/?ordering=subject")
    assert refused.status_code == 400
    assert "ordering" in refused.json()["error"]["fields"]


def test_each_filter(reader, customer, other_customer, agent, queue, key_admin):
    admin = key_admin
    mine = open_ticket(customer, queue=queue, category="security", priority=Ticket.Priority.HIGH)
    actions.assign(mine, acting_user=admin, assignee=agent)
    chat = actions.open_ticket(
        customer=other_customer, channel="chat", subject="", acting_user=None
    )
    solved = open_ticket(other_customer)
    actions.change_status(solved, acting_user=admin, status="solved")
    Ticket.objects.filter(pk=solved.pk).update(
        created_at=timezone.now() - timedelta(days=3), updated_at=timezone.now() - timedelta(3)
    )
    since = (timezone.now() - timedelta(days=1)).isoformat()
    expected = {
        "status=new": [chat.pk, mine.pk],
        "status=new&status=solved": [chat.pk, mine.pk, solved.pk],
        "queue=security": [mine.pk],
        "channel=chat": [chat.pk],
        f"customer={other_customer.pk}": [chat.pk, solved.pk],
        f"assignee={agent.pk}": [mine.pk],
        "assignee=none": [chat.pk, solved.pk],
        "priority=3": [mine.pk],
        "category=security": [mine.pk],
        f"reference={solved.reference}": [solved.pk],
    }
    for query, wanted in expected.items():
        assert ids(reader.get(f"/api/tickets/?{query}")) == wanted, query
    for name in ("updated_since", "created_since"):
        assert ids(reader.get("/api/tickets/", {name: since})) == [chat.pk, mine.pk], name


@pytest.mark.parametrize(
    "query", ["status=lost", "assignee=nobody", "updated_since=yesterday", "customer=x"]
)
def test_a_bad_filter_is_refused_by_name(reader, query):
    answer = reader.get(f"/api/tickets/?{query}")
    assert answer.status_code == 400
    assert query.split("=")[0] in answer.json()["error"]["fields"]


def test_the_lists_queries_do_not_grow_with_the_page(reader, customer, agent, queue, key_admin):
    def count(tickets: int) -> int:
        while Ticket.objects.count() < tickets:
            ticket = open_ticket(customer, queue=queue)
            actions.assign(ticket, acting_user=key_admin, assignee=agent)
        with CaptureQueriesContext(connection) as queries:
            answer = reader.get("/api/tickets/?page_size=100")
        assert len(answer.json()["results"]) == tickets
        return len(queries)

    reader.get("/api/me/")  # the key's "last used" is written once a minute: not here
    assert count(3) == count(30)


# --- opening a ticket ------------------------------------------------------------------------


def test_an_integration_opens_a_ticket_with_the_customers_words(writer, customer, queue):
    wallet = customer.wallets.get()
    answer = writer.post(
        "/api/tickets/",
        {
            "customer": customer.pk,
            "subject": "Top-up failed",
            "message": "My top-up failed twice.",
            "category": "transaction",
            "priority": 3,
            "queue": "security",
            "wallet": wallet.number,
        },
    )
    assert answer.status_code == 201, answer.json()
    ticket = Ticket.objects.get()
    assert (
        answer["Location"] == answer.json()["url"] == f"http://testserver/api/tickets/{ticket.pk}/"
    )
    assert (ticket.channel, ticket.queue, ticket.wallet, ticket.category, ticket.priority) == (
        "api",
        queue,
        wallet,
        "transaction",
        3,
    )
    message = ticket.messages.get()
    assert (message.direction, message.channel, message.author, message.text) == (
        "inbound",
        "api",
        None,
        "My top-up failed twice.",
    )
    created = TicketEvent.objects.get(ticket=ticket, kind="created")
    assert created.actor == writer.key.user
    assert answer.json()["last_message_preview"] == "My top-up failed twice."


def test_invalid_input_names_its_fields(writer, customer):
    answer = writer.post("/api/tickets/", {"customer": 999, "subject": "", "priority": 9})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert set(error["fields"]) == {"customer", "subject", "message", "priority"}


def test_another_customers_wallet_is_refused(writer, customer, other_customer):
    answer = writer.post(
        "/api/tickets/",
        {
            "customer": customer.pk,
            "subject": "Help",
            "message": "Hello",
            "wallet": other_customer.wallets.get().number,
        },
    )
    assert answer.status_code == 400
    assert "wallet" in answer.json()["error"]["fields"]
    assert not Ticket.objects.exists()


def test_a_retried_create_opens_one_ticket(writer, customer):
    body = {"customer": customer.pk, "subject": "Help", "message": "Locked out"}
    first = writer.post("/api/tickets/", body, headers={"Idempotency-Key": "order-1"})
    again = writer.post("/api/tickets/", body, headers={"Idempotency-Key": "order-1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotency-Replayed"] == "true"
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert Ticket.objects.count() == 1
    other = writer.post(
        "/api/tickets/", {**body, "message": "Other"}, headers={"Idempotency-Key": "order-1"}
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert Ticket.objects.count() == 1


def test_two_callers_keys_never_meet(writer, make_key, customer):
    body = {"customer": customer.pk, "subject": "Help", "message": "Locked out"}
    second = json_client(make_key("tickets:write")[1])
    for client in (writer, second):
        assert (
            client.post("/api/tickets/", body, headers={"Idempotency-Key": "k"}).status_code == 201
        )
    assert Ticket.objects.count() == 2


def test_a_callers_expired_answers_go_and_others_stay(writer, make_key, customer, settings):
    """Answers older than IDEMPOTENCY_KEEP_HOURS are dropped by the caller's next create,
    whichever key they were for; another caller's are not touched."""
    body = {"customer": customer.pk, "subject": "Help", "message": "Locked out"}
    second = json_client(make_key("tickets:write")[1])
    for client, key in ((writer, "old-1"), (writer, "old-2"), (second, "theirs")):
        client.post("/api/tickets/", body, headers={"Idempotency-Key": key})
    long_ago = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEEP_HOURS + 1)
    IdempotentRequest.objects.update(created_at=long_ago)
    writer.post("/api/tickets/", body, headers={"Idempotency-Key": "new"})
    assert sorted(IdempotentRequest.objects.values_list("key", flat=True)) == ["new", "theirs"]
    # An expired key is a new request again.
    assert (
        writer.post("/api/tickets/", body, headers={"Idempotency-Key": "old-1"}).status_code == 201
    )
    assert Ticket.objects.count() == 5


# --- one ticket: ETag, If-None-Match, If-Match ------------------------------------------------


def test_a_ticket_has_an_etag_and_answers_304_while_it_holds(reader, customer, key_admin):
    ticket = open_ticket(customer)
    answer = reader.get(f"/api/tickets/{ticket.pk}/")
    assert answer.status_code == 200
    assert answer.json()["id"] == ticket.pk
    etag = answer["ETag"]
    unchanged = reader.get(f"/api/tickets/{ticket.pk}/", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    actions.update_details(ticket, acting_user=key_admin, priority=Ticket.Priority.HIGH)
    changed = reader.get(f"/api/tickets/{ticket.pk}/", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_a_change_goes_through_the_actions(writer, customer, agent, queue):
    ticket = open_ticket(customer)
    answer = writer.patch(
        f"/api/tickets/{ticket.pk}/",
        {
            "status": "on_hold",
            "priority": 4,
            "category": "security",
            "queue": "security",
            "subject": "Locked wallet",
            "assignee": agent.pk,
        },
    )
    assert answer.status_code == 200, answer.json()
    data = answer.json()
    assert (data["status"], data["priority"], data["queue"]["slug"], data["subject"]) == (
        "on_hold",
        4,
        "security",
        "Locked wallet",
    )
    assert data["assignee"]["id"] == agent.pk
    assert answer["ETag"] == reader_etag(writer, ticket)
    events = TicketEvent.objects.filter(ticket=ticket).exclude(kind="created")
    assert {event.kind for event in events} == {"changed", "status", "assigned"}
    assert {event.actor for event in events} == {writer.key.user}
    changed = events.get(kind="changed").data
    assert changed["priority"] == [2, 4]
    assert changed["queue"] == [None, queue.pk]


def reader_etag(client, ticket) -> str:
    return client.get(f"/api/tickets/{ticket.pk}/")["ETag"]


def test_a_stale_if_match_changes_nothing(writer, customer, key_admin):
    ticket = open_ticket(customer)
    etag = reader_etag(writer, ticket)
    actions.update_details(ticket, acting_user=key_admin, subject="Someone else's edit")
    answer = writer.patch(f"/api/tickets/{ticket.pk}/", {"priority": 4}, headers={"If-Match": etag})
    assert answer.status_code == 412
    assert answer.json()["error"]["code"] == "precondition_failed"
    assert Ticket.objects.get().priority == Ticket.Priority.NORMAL
    fresh = reader_etag(writer, ticket)
    answer = writer.patch(
        f"/api/tickets/{ticket.pk}/", {"priority": 4}, headers={"If-Match": fresh}
    )
    assert answer.status_code == 200


def test_a_closed_ticket_refuses_with_the_actions_code(writer, customer, key_admin):
    ticket = open_ticket(customer)
    actions.change_status(ticket, acting_user=key_admin, status="closed")
    answer = writer.patch(f"/api/tickets/{ticket.pk}/", {"status": "open"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "ticket_closed"
    assert "follow-up" in answer.json()["error"]["message"]


def test_a_half_refused_change_changes_nothing(writer, customer, key_admin):
    ticket = open_ticket(customer)
    actions.change_status(ticket, acting_user=key_admin, status="closed")
    writer.patch(f"/api/tickets/{ticket.pk}/", {"subject": "New", "status": "open"})
    assert Ticket.objects.get().subject == "Payment failed"


def test_only_agents_are_assignees(writer, customer, key_admin):
    ticket = open_ticket(customer)
    for someone in (key_admin.pk + 999, writer.key.user.pk):
        answer = writer.patch(f"/api/tickets/{ticket.pk}/", {"assignee": someone})
        assert answer.status_code == 400
        assert "assignee" in answer.json()["error"]["fields"]
    assert Ticket.objects.get().assignee is None


def test_unassigning(writer, customer, agent, key_admin):
    ticket = open_ticket(customer)
    actions.assign(ticket, acting_user=key_admin, assignee=agent)
    answer = writer.patch(f"/api/tickets/{ticket.pk}/", {"assignee": None})
    assert answer.status_code == 200
    assert answer.json()["assignee"] is None
