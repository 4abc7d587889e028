"""Signing in to the self-service pages through the MY Wallet app (/account/sign-in/,
accounts.app_session): tokens, the session's timeouts, and its separation from the
agents' login."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.app_identity import AUDIENCE_CHAT, sign
from accounts.app_session import SESSION_KEY
from accounts.models import AccountEvent, WalletAccount
from tests.accounts.self_service_helpers import (
    SIGN_IN_URL,
    csrf_client,
    page_text,
    post,
    sign_in_with_app,
)
from tests.conftest import verified_client

pytestmark = pytest.mark.django_db

HOME_URL = "/account/"
OPEN_AGAIN = "Open My account again from the MY Wallet app"


@pytest.fixture
def wallet(customer):
    return customer.wallets.get()


def test_without_a_token_the_page_says_how_to_open_it_from_the_app(wallet):
    page = csrf_client().get(SIGN_IN_URL)
    assert page.status_code == 200
    assert "This page opens from the MY Wallet app" in page_text(page)
    assert "/static/accounts/sign_in.js" in page_text(page)  # posts #app_token=, if any
    assert csrf_client().get(HOME_URL)["Location"] == SIGN_IN_URL


def test_a_valid_token_signs_the_customer_in_under_a_new_session_key(wallet):
    client = csrf_client()
    client.get(SIGN_IN_URL)
    before = client.session.session_key

    response = sign_in_with_app(client, wallet)

    assert response.status_code == 302
    assert response["Location"] == HOME_URL
    assert client.session.session_key != before
    assert client.session[SESSION_KEY]["wallet"] == wallet.pk
    event = AccountEvent.objects.get(action=AccountEvent.Action.IDENTITY_VERIFIED)
    assert event.account == wallet
    assert event.actor_kind == AccountEvent.ActorKind.CUSTOMER and event.actor is None
    assert event.verification == {"method": "app_token", "key_id": "test-current"}
    home = client.get(HOME_URL)
    assert home.status_code == 200
    assert "Li Wei" in page_text(home)
    assert "MW62****0001" in page_text(home)
    assert "MW6200000001" not in page_text(home)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (
            lambda wallet: sign(
                wallet,
                audience="mywallet-support:account",
                issued_at=timezone.now() - timedelta(minutes=10),
            ),
            "This link from the app has expired.",
        ),
        (
            lambda wallet: sign(wallet, audience=AUDIENCE_CHAT),
            "The app could not confirm who you are.",
        ),
        (lambda wallet: "not-a-token", "The app could not confirm who you are."),
    ],
    ids=["expired", "wrong_audience", "malformed"],
)
def test_a_refused_token_says_why_and_to_open_the_page_again(wallet, token, message):
    client = csrf_client()
    response = sign_in_with_app(client, wallet, token=token(wallet))
    assert response.status_code == 403
    assert message in page_text(response)
    assert OPEN_AGAIN in page_text(response)
    assert SESSION_KEY not in client.session
    assert not AccountEvent.objects.filter(action=AccountEvent.Action.IDENTITY_VERIFIED).exists()


def test_a_replayed_token_is_refused(wallet):
    token = sign(wallet, audience="mywallet-support:account")
    assert sign_in_with_app(csrf_client(), wallet, token=token).status_code == 302

    other = csrf_client("10.0.0.2")
    response = sign_in_with_app(other, wallet, token=token)
    assert response.status_code == 403
    assert "already been used" in page_text(response)
    assert other.get(HOME_URL).status_code == 302


def test_a_closed_wallet_is_not_signed_in(wallet):
    WalletAccount.objects.filter(pk=wallet.pk).update(status=WalletAccount.Status.CLOSED)
    response = sign_in_with_app(csrf_client(), wallet)
    assert response.status_code == 403
    assert "could not confirm who you are" in page_text(response)


def test_a_body_over_the_limit_is_refused_before_it_is_read(wallet):
    client = csrf_client()
    client.get(SIGN_IN_URL)
    token = client.cookies["csrftoken"].value
    response = client.post(SIGN_IN_URL, {"app_token": "x" * 9000, "csrfmiddlewaretoken": token})
    assert response.status_code == 413
    assert SESSION_KEY not in client.session


def test_the_token_needs_the_csrf_token(wallet):
    client = csrf_client()
    token = sign(wallet, audience="mywallet-support:account")
    assert client.post(SIGN_IN_URL, {"app_token": token}).status_code == 403
    assert SESSION_KEY not in client.session


def age_session(client, *, signed_in_ago: float, seen_ago: float) -> None:
    session = client.session
    state = session[SESSION_KEY]
    state["signed_in_at"] = time.time() - signed_in_ago
    state["seen_at"] = time.time() - seen_ago
    session[SESSION_KEY] = state
    session.save()


def test_the_session_ends_after_the_idle_timeout(wallet, settings):
    settings.ACCOUNT_SESSION_IDLE_MINUTES = 15
    client = csrf_client()
    sign_in_with_app(client, wallet)
    age_session(client, signed_in_ago=14 * 60, seen_ago=14 * 60)
    assert client.get(HOME_URL).status_code == 200  # and that request counts as activity
    age_session(client, signed_in_ago=30 * 60, seen_ago=16 * 60)
    assert client.get(HOME_URL)["Location"] == SIGN_IN_URL
    assert SESSION_KEY not in client.session


def test_the_session_ends_after_the_absolute_timeout_however_active(wallet, settings):
    settings.ACCOUNT_SESSION_MAX_MINUTES = 60
    client = csrf_client()
    sign_in_with_app(client, wallet)
    age_session(client, signed_in_ago=59 * 60, seen_ago=0)
    assert client.get(HOME_URL).status_code == 200
    age_session(client, signed_in_ago=61 * 60, seen_ago=0)
    assert client.get(HOME_URL)["Location"] == SIGN_IN_URL


def test_signing_out_ends_the_session(wallet):
    client = csrf_client()
    sign_in_with_app(client, wallet)
    response = post(client, "/account/sign-out/", {})
    assert response.status_code == 200
    assert "You have signed out." in page_text(response)
    assert client.get(HOME_URL)["Location"] == SIGN_IN_URL
    assert client.get("/account/sign-out/").status_code == 405


def test_an_agents_admin_session_never_becomes_a_customers(wallet, agent):
    client = verified_client(agent)
    assert client.get("/admin/").status_code == 200
    sign_in_with_app(client, wallet)
    # Signing in as the customer ended the agent's login in that browser.
    assert client.get("/admin/").status_code == 302
    assert client.get(HOME_URL).status_code == 200


def test_a_customers_session_never_becomes_an_agents(wallet, agent):
    client = csrf_client()
    sign_in_with_app(client, wallet)
    client.force_login(agent)  # an agent signs in in the same browser
    assert client.get(HOME_URL)["Location"] == SIGN_IN_URL
    assert client.get("/account/change-contact/").status_code == 403
