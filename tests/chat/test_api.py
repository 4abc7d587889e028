"""The chat's HTTP endpoints: CSRF, the session's own conversation, uploads, the offline
form, translated errors and the per-address limit."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.roles import AGENTS
from chat.models import Conversation
from tests.conftest import make_staff, verified_client
from tickets.models import Attachment, Message, Ticket

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def csrf_client() -> Client:
    client = Client(enforce_csrf_checks=True)
    client.get("/chat/")
    return client


def post(client: Client, path: str, data=None, **extra):
    token = client.cookies["csrftoken"].value
    return client.post(path, data or {}, HTTP_X_CSRFTOKEN=token, **extra)


def test_start_needs_the_csrf_token():
    client = csrf_client()
    assert client.post("/chat/start/", {}).status_code == 403
    response = post(client, "/chat/start/", {"name": "Emily"})
    assert response.status_code == 200
    data = response.json()
    assert data["state"] == "offline" and data["agents_online"] is False
    assert data["reference"].startswith("MW-")


def test_a_session_gets_its_live_conversation_back_instead_of_a_new_one():
    client = csrf_client()
    first = post(client, "/chat/start/").json()
    again = post(client, "/chat/start/").json()
    assert again["conversation"] == first["conversation"]
    Conversation.objects.filter(pk=first["conversation"]).update(state="ended")
    assert post(client, "/chat/start/").json()["conversation"] != first["conversation"]


def test_start_errors_come_in_the_visitors_language():
    client = csrf_client()
    response = post(client, "/chat/start/", {"contact": "nobody@"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert "不是有效的邮箱地址" in response.json()["error"]
    response = post(client, "/chat/start/", {"contact": "nobody@"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "is not a valid email address" in response.json()["error"]


def test_an_unknown_queue_is_refused():
    response = post(csrf_client(), "/chat/start/", {"queue": "nope"})
    assert response.status_code == 400


def test_upload_stores_an_image_in_the_sessions_own_conversation():
    client = csrf_client()
    conversation = post(client, "/chat/start/").json()["conversation"]
    from django.core.files.uploadedfile import SimpleUploadedFile

    image = SimpleUploadedFile("shot.png", PNG, content_type="image/png")
    response = post(client, "/chat/upload/", {"image": image, "client_id": "u1"})
    assert response.status_code == 200, response.content
    ack = response.json()
    assert ack["type"] == "ack" and ack["client_id"] == "u1"
    message = Message.objects.get(pk=ack["id"])
    assert message.ticket.conversation.pk == conversation
    attachment = Attachment.objects.get(message=message)
    assert attachment.content_type == "image/png"

    own = client.get(f"/chat/attachment/{attachment.pk}/")
    assert own.status_code == 200 and own["Content-Type"] == "image/png"
    assert b"".join(own.streaming_content) == PNG
    stranger = csrf_client()
    assert stranger.get(f"/chat/attachment/{attachment.pk}/").status_code == 404
    # staff with a verified session, but no right to see tickets, get nothing either
    clerk = get_user_model().objects.create_user("clerk", is_staff=True)
    TOTPDevice.objects.create(user=clerk, name="app", confirmed=True)
    assert verified_client(clerk).get(f"/chat/attachment/{attachment.pk}/").status_code == 404
    agent = make_staff(get_user_model(), "viewer", AGENTS)
    assert verified_client(agent).get(f"/chat/attachment/{attachment.pk}/").status_code == 200

    # the same client_id again is the same message
    again = SimpleUploadedFile("shot.png", PNG, content_type="image/png")
    response = post(client, "/chat/upload/", {"image": again, "client_id": "u1"})
    assert response.json()["id"] == ack["id"]


def test_two_images_with_the_same_name_and_no_client_id_are_two_messages():
    # Found in review: without a client_id the name stood in, and the second
    # "image.png" was acknowledged as the first one and never stored.
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = csrf_client()
    post(client, "/chat/start/")
    ids = [
        post(client, "/chat/upload/", {"image": SimpleUploadedFile("image.png", PNG)}).json()["id"]
        for _ in range(2)
    ]
    assert ids[0] != ids[1]


def test_an_image_into_a_chat_whose_ticket_was_closed_is_refused_not_filed_elsewhere():
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = csrf_client()
    conversation = Conversation.objects.get(pk=post(client, "/chat/start/").json()["conversation"])
    Ticket.objects.filter(pk=conversation.ticket_id).update(status=Ticket.Status.CLOSED)
    image = SimpleUploadedFile("shot.png", PNG, content_type="image/png")
    response = post(client, "/chat/upload/", {"image": image, "client_id": "late"})
    assert response.status_code == 409
    assert "closed" in response.json()["error"]
    assert Ticket.objects.count() == 1 and not Attachment.objects.exists()


def test_uploads_are_limited_per_client_address(settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = csrf_client()
    post(client, "/chat/start/")
    settings.CHAT_HTTP_PER_MINUTE = 2
    address = f"test-{uuid.uuid4().hex}"  # a counter of its own (the cache may be shared)
    statuses = [
        post(
            client,
            "/chat/upload/",
            {"image": SimpleUploadedFile("a.png", PNG)},
            REMOTE_ADDR=address,
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_upload_refuses_what_is_not_an_image_and_sessions_without_a_chat():
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = csrf_client()
    fake = SimpleUploadedFile("x.png", b"<script>alert(1)</script>", content_type="image/png")
    assert post(client, "/chat/upload/", {"image": fake}).status_code == 403
    post(client, "/chat/start/")
    fake.seek(0)
    assert post(client, "/chat/upload/", {"image": fake}).status_code == 400


def test_leave_message_files_a_ticket(customer):
    client = csrf_client()
    assert client.post("/chat/leave-message/", {}).status_code == 403  # no CSRF token
    response = post(
        client,
        "/chat/leave-message/",
        {"contact": "li.wei@example.com", "name": "Li", "text": "请回复我"},
    )
    assert response.status_code == 200
    reference = response.json()["reference"]
    message = Message.objects.get(ticket__reference=reference)
    assert message.text == "请回复我"
    # a known contact is a claim: the ticket is not the customer's
    assert message.ticket.customer != customer
    assert message.ticket.claimed_identity.customer == customer


def test_leave_message_goes_on_the_sessions_offline_chat(customer):
    client = csrf_client()
    started = post(client, "/chat/start/").json()
    assert started["state"] == "offline"
    response = post(
        client, "/chat/leave-message/", {"contact": "li.wei@example.com", "text": "付款失败"}
    )
    assert response.status_code == 200
    assert response.json()["reference"] == started["reference"]
    conversation = Conversation.objects.get()
    assert conversation.pk == started["conversation"]
    assert conversation.ticket.claimed_identity.customer == customer
    assert [m.text for m in conversation.ticket.messages.all()] == ["付款失败"]


def test_leave_message_needs_a_contact_and_text():
    client = csrf_client()
    response = post(client, "/chat/leave-message/", {"text": "hi"})
    assert response.status_code == 400 and response.json()["field"] == "contact"
    response = post(client, "/chat/leave-message/", {"contact": "a@example.com"})
    assert response.status_code == 400 and response.json()["field"] == "text"


def test_too_many_posts_from_one_address_are_refused(settings):
    settings.CHAT_HTTP_PER_MINUTE = 2
    from django.core.cache import cache

    cache.clear()
    statuses = [
        post(
            csrf_client(), "/chat/leave-message/", {"contact": "a@example.com", "text": "x"}
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
