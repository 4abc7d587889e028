"""/api/tickets/{id}/reply/, /notes/ and /messages/: an integration answers the customer
and writes notes through the ticket actions, and reads the whole thread (notes included,
contacts masked) in pages whose queries do not grow with their size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import key_client
from tickets import actions
from tickets.inbound import Inbound, InboundAttachment
from tickets.models import Message, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def json_client(text: str):
    client = key_client(text)
    client.default_format = "json"
    return client


@pytest.fixture
def writer(make_key):
    key, text = make_key("tickets:write", name="CRM")
    client = json_client(text)
    client.key = key
    return client


@pytest.fixture
def reader(make_key):
    return json_client(make_key("tickets:read")[1])


def mail(text: str, *, sender="li.wei@example.com", html="", attachments=()) -> Ticket:
    """A customer's email, filed as every channel files it."""
    received = actions.receive(
        Inbound(
            channel="email",
            sender_kind="email",
            sender=sender,
            text=text,
            subject="Payment failed",
            html=html,
            attachments=attachments,
            continue_open=True,
        )
    )
    return received.ticket


# --- answers and notes ------------------------------------------------------------------------


def test_an_integration_answers_the_customer(writer, customer):
    ticket = mail("My payment failed")
    answer = writer.post(f"/api/tickets/{ticket.pk}/reply/", {"body": "Please top up first."})
    assert answer.status_code == 201, answer.json()
    data = answer.json()
    assert (data["direction"], data["channel"], data["delivery_status"]) == (
        "outbound",
        "email",
        "queued",
    )
    assert data["author"]["id"] == writer.key.user.pk
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.first_responded_at is not None
    # A service account answers without holding the ticket: it is no agent.
    assert ticket.assignee is None
    reply = TicketEvent.objects.get(ticket=ticket, kind="reply")
    assert reply.actor == writer.key.user


def test_an_agents_answer_still_takes_the_ticket(agent, customer):
    ticket = mail("My payment failed")
    actions.reply(ticket, acting_user=agent, body="Looking into it")
    ticket.refresh_from_db()
    assert ticket.assignee == agent


def test_an_answer_can_move_the_ticket_on(writer, customer):
    ticket = mail("My payment failed")
    answer = writer.post(
        f"/api/tickets/{ticket.pk}/reply/", {"body": "Did it work?", "then_status": "pending"}
    )
    assert answer.status_code == 201
    assert Ticket.objects.get().status == Ticket.Status.PENDING


def test_an_answer_through_a_channel_the_customer_lacks_is_refused(writer, customer):
    ticket = mail("My payment failed")
    answer = writer.post(f"/api/tickets/{ticket.pk}/reply/", {"body": "Hi", "via": "weibo"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "no_route"
    assert not Message.objects.filter(direction="outbound").exists()


def test_a_closed_ticket_takes_notes_but_no_answers(writer, customer, key_admin):
    ticket = mail("My payment failed")
    actions.change_status(ticket, acting_user=key_admin, status="closed")
    refused = writer.post(f"/api/tickets/{ticket.pk}/reply/", {"body": "Hello again"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "ticket_closed"
    noted = writer.post(f"/api/tickets/{ticket.pk}/notes/", {"body": "Customer called too"})
    assert noted.status_code == 201
    assert noted.json()["direction"] == "note"
    assert noted.json()["delivery_status"] == ""


def test_an_empty_body_names_its_field(writer, customer):
    ticket = mail("My payment failed")
    for path in ("reply", "notes"):
        answer = writer.post(f"/api/tickets/{ticket.pk}/{path}/", {"body": ""})
        assert answer.status_code == 400
        assert "body" in answer.json()["error"]["fields"]


def test_a_read_key_cannot_answer(reader, customer):
    ticket = mail("My payment failed")
    assert reader.post(f"/api/tickets/{ticket.pk}/reply/", {"body": "Hi"}).status_code == 403
    assert reader.post(f"/api/tickets/{ticket.pk}/notes/", {"body": "Hi"}).status_code == 403
    assert Message.objects.count() == 1


def test_answering_a_missing_ticket_is_not_found(writer, db):
    assert writer.post("/api/tickets/404/reply/", {"body": "Hi"}).status_code == 404


def test_an_answer_to_a_ticket_that_changed_is_refused(writer, customer):
    ticket = mail("My payment failed")
    etag = writer.get(f"/api/tickets/{ticket.pk}/")["ETag"]
    mail("Any news?")  # the customer wrote again: the agent's view is stale
    answer = writer.post(
        f"/api/tickets/{ticket.pk}/reply/", {"body": "Top up first."}, headers={"If-Match": etag}
    )
    assert answer.status_code == 412
    assert not Message.objects.filter(direction="outbound").exists()
    fresh = writer.get(f"/api/tickets/{ticket.pk}/")["ETag"]
    answer = writer.post(
        f"/api/tickets/{ticket.pk}/reply/", {"body": "Top up first."}, headers={"If-Match": fresh}
    )
    assert answer.status_code == 201


def test_a_retried_answer_is_sent_once(writer, customer):
    ticket = mail("My payment failed")
    etag = writer.get(f"/api/tickets/{ticket.pk}/")["ETag"]
    headers = {"If-Match": etag, "Idempotency-Key": "reply-1"}
    first = writer.post(f"/api/tickets/{ticket.pk}/reply/", {"body": "Top up."}, headers=headers)
    # The first answer changed the ticket; the retry is still answered, not refused (412).
    again = writer.post(f"/api/tickets/{ticket.pk}/reply/", {"body": "Top up."}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again["Idempotency-Replayed"] == "true"
    assert again.json() == first.json()
    assert Message.objects.filter(direction="outbound").count() == 1
    note = writer.post(
        f"/api/tickets/{ticket.pk}/notes/", {"body": "x"}, headers={"Idempotency-Key": "reply-1"}
    )
    assert note.status_code == 422


# --- the thread -----------------------------------------------------------------------------


def test_the_thread_is_oldest_first_with_notes_and_masked_contacts(
    reader, customer, agent, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    ticket = mail(
        "My payment failed",
        html='<p onclick="steal()">My payment failed<script>alert(1)</script></p>',
        attachments=(InboundAttachment("receipt.png", "image/png", b"\x89PNG..."),),
    )
    actions.add_note(ticket, acting_user=agent, body="Balance was low")
    actions.reply(ticket, acting_user=agent, body="Please top up")
    answer = reader.get(f"/api/tickets/{ticket.pk}/messages/")
    assert answer.status_code == 200
    inbound, note, outbound = answer.json()["results"]
    assert inbound["sender"] == {"kind": "email", "value": "li***@example.com"}
    assert "li.wei@example.com" not in answer.content.decode()
    assert inbound["author"] is None
    assert "script" not in inbound["html"] and "onclick" not in inbound["html"]
    assert inbound["attachments"] == [
        {
            "id": inbound["attachments"][0]["id"],
            "name": "receipt.png",
            "content_type": "image/png",
            "size": 7,
        }
    ]
    assert (note["direction"], note["text"], note["sender"]) == ("note", "Balance was low", None)
    assert note["author"] == {"id": agent.pk, "name": "agent"}
    assert (outbound["direction"], outbound["delivery_status"]) == ("outbound", "queued")


def test_the_threads_queries_do_not_grow_with_the_page(reader, customer, agent, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ticket = mail("First")

    def count(messages: int) -> int:
        while ticket.messages.count() < messages:
            actions.add_note(ticket, acting_user=agent, body="note")
            mail("again", attachments=(InboundAttachment("a.txt", "text/plain", b"a"),))
        with CaptureQueriesContext(connection) as queries:
            answer = reader.get(f"/api/tickets/{ticket.pk}/messages/?page_size=100")
        assert answer.json()["count"] == messages
        return len(queries)

    reader.get("/api/me/")  # the key's "last used" is written once a minute: not here
    assert count(3) == count(31)
