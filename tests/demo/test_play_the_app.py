"""The demo's "play the app" page (/demo/app/): each button signs a fresh identity token
for a demo customer and opens the chat or My account with it; 404 unless switched on."""

import pytest

from accounts.app_identity import AUDIENCE_ACCOUNT, AUDIENCE_CHAT, verify
from demo.data import LI_WEI
from tests.accounts.self_service_helpers import csrf_client, page_text, post, sign_in_with_app
from tests.conftest import make_customer

pytestmark = pytest.mark.django_db

URL = "/demo/app/"


@pytest.fixture
def li_wei(settings):
    settings.DEMO_APP_PAGE = True
    customer = make_customer(
        LI_WEI.name, "li.wei@example.com", "+8613800138001", LI_WEI.wallet_number
    )
    return customer.wallets.get()


def token_in(location: str, page: str) -> str:
    path, _hash, fragment = location.partition("#")
    assert path == page
    assert fragment.startswith("app_token=")
    return fragment.removeprefix("app_token=")


def test_the_page_is_not_found_when_switched_off(li_wei, settings):
    settings.DEMO_APP_PAGE = False
    client = csrf_client()
    assert client.get(URL).status_code == 404
    client.get("/account/sign-in/")  # for the CSRF cookie
    response = post(client, URL, {"wallet": li_wei.number, "open": "account"})
    assert response.status_code == 404


def test_the_page_offers_each_demo_customer_and_the_chat_without_the_app(li_wei):
    text = page_text(csrf_client().get(URL))
    assert "Open the chat as 李伟 Li Wei" in text
    assert "Open my account as 李伟 Li Wei" in text
    assert "Open the chat without the app (type a contact)" in text
    assert "stands in for the MY Wallet app" in text


def test_my_account_opens_with_a_fresh_token_that_signs_the_customer_in(li_wei):
    client = csrf_client()
    first = post(client, URL, {"wallet": li_wei.number, "open": "account"})
    second = post(client, URL, {"wallet": li_wei.number, "open": "account"})
    token = token_in(first["Location"], "/account/sign-in/")
    assert token != token_in(second["Location"], "/account/sign-in/")  # signed per press

    assert sign_in_with_app(client, li_wei, token=token)["Location"] == "/account/"
    assert "李伟 Li Wei" in page_text(client.get("/account/"))


def test_the_chat_opens_with_a_token_for_the_chat(li_wei):
    response = post(csrf_client(), URL, {"wallet": li_wei.number, "open": "chat"})
    token = token_in(response["Location"], "/chat/")
    assert verify(token, audience=AUDIENCE_CHAT).account == li_wei


def test_only_demo_wallets_can_be_opened(li_wei, other_customer):
    client = csrf_client()
    other = other_customer.wallets.get()
    assert post(client, URL, {"wallet": other.number, "open": "account"}).status_code == 404
    assert post(client, URL, {"wallet": li_wei.number, "open": "admin"}).status_code == 404


def test_a_press_needs_the_csrf_token(li_wei):
    response = csrf_client().post(URL, {"wallet": li_wei.number, "open": "account"})
    assert response.status_code == 403


def test_a_token_for_my_account_does_not_open_the_chat(li_wei):
    response = post(csrf_client(), URL, {"wallet": li_wei.number, "open": "account"})
    token = token_in(response["Location"], "/account/sign-in/")
    assert verify(token, audience=AUDIENCE_ACCOUNT).account == li_wei
