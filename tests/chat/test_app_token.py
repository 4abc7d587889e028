"""The MY Wallet app opens the chat with a signed identity token (/chat/#app_token=...): the
page sends it with the start request, and /chat/start/ verifies it. A valid token files the
chat on its customer, verified; a refused one (expired, replayed, for another audience,
signed with a retired key) is told to the customer in their language, verifies nothing, and
leaves them free to start as a guest."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.app_identity import AUDIENCE_ACCOUNT, AUDIENCE_CHAT, sign
from accounts.models import AccountEvent, CustomerIdentity, Verification
from chat.models import Conversation
from tests.chat.test_api import csrf_client, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallet(customer):
    return customer.wallets.get()


def start(client, token, **extra):
    return post(client, "/chat/start/", {"app_token": token}, **extra)


def test_a_valid_token_starts_a_verified_chat_on_its_customer(customer, wallet):
    client = csrf_client()
    response = start(client, sign(wallet, audience=AUDIENCE_CHAT))
    assert response.status_code == 200
    assert response.json()["verified_by_app"] is True
    conversation = Conversation.objects.get(pk=response.json()["conversation"])
    assert conversation.ticket.customer == customer and conversation.ticket.wallet == wallet
    assert conversation.verified_by_app_at is not None
    verification = Verification.objects.get(ticket=conversation.ticket)
    assert verification.by_app and verification.strength == "strong"
    # a reload of the page tells the customer they are signed in through the app
    page = client.get("/chat/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '"verified_by_app": true' in page


def counts():
    verified = AccountEvent.objects.filter(action="identity_verified")
    return Conversation.objects.count(), Verification.objects.count(), verified.count()


def refused(token, *, language="en"):
    """The refusal's message, from a fresh session; nothing was started or verified."""
    client = csrf_client()
    before = counts()
    response = start(client, token, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 403 and response.json()["field"] == "app_token"
    assert counts() == before
    return client, response.json()["error"]


def test_an_expired_token_is_refused_with_a_clear_message(wallet):
    issued = timezone.now() - timedelta(minutes=10)
    token = sign(wallet, audience=AUDIENCE_CHAT, issued_at=issued, lifetime=60)
    _client, error = refused(token)
    assert "has expired" in error
    _client, error = refused(
        sign(wallet, audience=AUDIENCE_CHAT, issued_at=issued, lifetime=60), language="zh-hans"
    )
    assert "过期" in error


def test_a_replayed_token_is_refused(wallet):
    token = sign(wallet, audience=AUDIENCE_CHAT)
    assert start(csrf_client(), token).status_code == 200
    _client, error = refused(token)
    assert "already been used" in error


def test_a_token_for_the_self_service_pages_is_refused_in_the_chat(wallet):
    _client, error = refused(sign(wallet, audience=AUDIENCE_ACCOUNT))
    assert "could not confirm who you are" in error


def test_a_token_signed_with_a_retired_key_is_refused(wallet, settings):
    token = sign(wallet, audience=AUDIENCE_CHAT, key_id="test-previous")
    settings.APP_IDENTITY_KEYS = {
        key: value for key, value in settings.APP_IDENTITY_KEYS.items() if key != "test-previous"
    }
    refused(token)


def test_after_a_refused_token_the_customer_goes_on_as_a_guest_and_is_not_verified(
    customer, wallet
):
    client, _error = refused(sign(wallet, audience=AUDIENCE_ACCOUNT))
    response = post(client, "/chat/start/", {"contact": "li.wei@example.com"})
    assert response.status_code == 200 and response.json()["verified_by_app"] is False
    conversation = Conversation.objects.get()
    assert conversation.ticket.customer != customer
    assert conversation.ticket.claimed_identity.customer == customer
    assert not Verification.objects.exists()


def test_with_nobody_online_an_app_verified_customer_leaves_a_message_without_a_contact(
    customer, wallet
):
    client = csrf_client()
    started = start(client, sign(wallet, audience=AUDIENCE_CHAT)).json()
    assert started["state"] == "offline"
    identities = set(CustomerIdentity.objects.values_list("value", flat=True))

    response = post(client, "/chat/leave-message/", {"text": "My payment failed twice."})
    assert response.status_code == 200
    assert response.json()["reference"] == started["reference"]
    ticket = Conversation.objects.get(pk=started["conversation"]).ticket
    assert ticket.customer == customer
    assert ticket.messages.filter(text="My payment failed twice.").exists()

    # A contact typed there anyway is not taken: it could be anyone's.
    post(client, "/chat/leave-message/", {"text": "Also this.", "contact": "x@evil.example"})
    assert set(CustomerIdentity.objects.values_list("value", flat=True)) == identities


def test_a_guest_still_has_to_give_a_contact_to_leave_a_message():
    response = post(csrf_client(), "/chat/leave-message/", {"text": "Hello?"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "Give an email address or a phone number.",
        "field": "contact",
    }
