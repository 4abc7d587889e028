"""The API keys' admin: administrators make a key (its text shown once, never kept) and
revoke it with a reason; nobody edits one; supervisors do not see keys at all."""

import logging

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django_otp.plugins.otp_totp.models import TOTPDevice

from api.models import ApiKey
from tests.api.conftest import key_client
from tests.conftest import verified_client

pytestmark = pytest.mark.django_db

LIST = "/admin/api/apikey/"
ADD = "/admin/api/apikey/add/"


@pytest.fixture
def admin_client(key_admin):
    TOTPDevice.objects.create(user=key_admin, name="app", confirmed=True)
    return verified_client(key_admin)


def make(client, **fields):
    data = {"name": "CRM", "scopes": ["tickets:write", "customers:read"], **fields}
    return client.post(ADD, data)


def test_the_add_form_offers_every_scope_by_its_label(admin_client):
    page = admin_client.get(ADD).content.decode()
    assert 'type="checkbox" name="scopes" value="calls:write"' in page
    assert "Customers: contacts in full" in page


def test_a_new_keys_text_is_shown_once_and_opens_the_api(admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    answer = make(admin_client)

    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    page = answer.content.decode()
    assert "it will not be shown again" in page
    key = ApiKey.objects.get(name="CRM")
    text = page.split('<code id="api-key-text">', 1)[1].split("</code>", 1)[0]
    assert text.startswith(f"mws_{key.prefix}_")
    assert key.scopes == ["customers:read", "tickets:write"]
    assert key.created_by.username == "keymaker"
    assert key_client(text).get("/api/me/").json()["name"] == "CRM"
    # never again: not in the list, the key's page, the logs or a message cookie
    secret = text.rsplit("_", 1)[1]
    assert secret not in admin_client.get(LIST).content.decode()
    assert secret not in admin_client.get(f"{LIST}{key.pk}/change/").content.decode()
    assert secret not in caplog.text
    assert CookieStorage.cookie_name not in answer.cookies


def test_the_list_shows_prefix_scopes_use_and_status(admin_client, make_key, key_admin):
    key, text = make_key("tickets:read", name="Billing")
    key_client(text).get("/api/me/")
    page = admin_client.get(LIST).content.decode()
    assert f"<code>mws_{key.prefix}_…</code>" in page
    assert "Tickets: read" in page
    assert "127.0.0.1" in page
    assert '<span class="mw-status mw-status-active">Active</span>' in page


def test_a_key_without_a_scope_or_with_a_past_expiry_is_not_made(admin_client):
    assert "This field is required" in make(admin_client, scopes=[]).content.decode()
    past = make(admin_client, expires_at_0="2020-01-01", expires_at_1="10:00:00")
    assert "must be in the future" in past.content.decode()
    assert not ApiKey.objects.exists()


def test_revoking_asks_for_a_reason_and_closes_the_key(admin_client, make_key):
    key, text = make_key("tickets:read", name="Old CRM")
    url = f"{LIST}{key.pk}/revoke/"
    assert "This field is required" in admin_client.post(url, {"reason": ""}).content.decode()

    answer = admin_client.post(url, {"reason": "leaked in a log"}, follow=True)

    key.refresh_from_db()
    assert key.revoked_reason == "leaked in a log" and key.revoked_by.username == "keymaker"
    assert "mw-status-failed" in answer.content.decode()
    assert key_client(text).get("/api/me/").status_code == 401


def test_no_key_is_edited_or_deleted(admin_client, make_key):
    key, _text = make_key("tickets:read")
    page = admin_client.get(f"{LIST}{key.pk}/change/")
    assert page.status_code == 200
    assert 'name="name"' not in page.content.decode()  # read only
    admin_client.post(f"{LIST}{key.pk}/change/", {"name": "renamed", "scopes": "[]"})
    assert admin_client.get(f"{LIST}{key.pk}/delete/").status_code == 403
    key.refresh_from_db()
    assert key.name != "renamed" and key.scopes == ["tickets:read"]


def test_supervisors_do_not_see_keys(supervisor_client, make_key):
    key, _text = make_key("tickets:read")
    assert supervisor_client.get(LIST).status_code == 403
    assert supervisor_client.get(ADD).status_code == 403
    assert supervisor_client.post(f"{LIST}{key.pk}/revoke/", {"reason": "x"}).status_code == 403
    assert "/admin/api/" not in supervisor_client.get("/admin/").content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None


def test_the_pages_speak_chinese_too(admin_client):
    page = admin_client.get(ADD, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "创建 API 密钥" in page and "通话：发送通话记录" in page
