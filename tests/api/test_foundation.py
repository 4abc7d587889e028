"""The API's shared parts: the three credentials, the scope check, the error shape, the body
limit, the throttle and the schema."""

import pytest
from django.test import Client

from accounts.app_identity import AUDIENCE_CHAT, sign
from api.actions import revoke_key
from api.models import ApiKey
from api.schema import add_error_responses
from tests.api.conftest import customer_client, key_client
from tests.conftest import verified_client

pytestmark = pytest.mark.django_db


def test_a_key_says_who_it_is(make_key):
    key, text = make_key("tickets:read", name="CRM")
    answer = key_client(text).get("/api/me/")
    assert answer.status_code == 200
    assert answer.json() == {"kind": "key", "name": "CRM", "scopes": ["tickets:read"], "wallet": ""}
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert key.last_used_ip == "127.0.0.1"


def test_only_the_hash_of_a_key_is_stored(make_key):
    key, text = make_key("tickets:read")
    stored = " ".join(str(v) for v in ApiKey.objects.filter(pk=key.pk).values().get().values())
    assert text.split("_", 2)[2] not in stored
    assert text.startswith(f"mws_{key.prefix}_")


@pytest.mark.parametrize(
    "header",
    ["Bearer mws_nothing", "Bearer mws_0123456789ab_wrong", "Bearer " + "x" * 500],
)
def test_a_wrong_key_is_refused_in_the_error_shape(db, header):
    client = Client(headers={"Authorization": header})
    answer = client.get("/api/me/")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "authentication_failed"
    assert answer["WWW-Authenticate"] == "Bearer"


def test_a_revoked_key_opens_nothing(make_key, key_admin):
    key, text = make_key("tickets:read")
    revoke_key(key, acting_user=key_admin, reason="leaked in a log")
    answer = key_client(text).get("/api/me/")
    assert answer.status_code == 401
    assert "revoked" in answer.json()["error"]["message"]


def test_no_credential_is_asked_for_one(db):
    answer = Client().get("/api/me/")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_authenticated"


def test_an_agent_session_counts_once_verified_by_two_factors(agent):
    assert verified_client(agent).get("/api/me/").json()["kind"] == "agent"
    unverified = Client()
    unverified.force_login(agent)
    assert unverified.get("/api/me/").status_code == 403


def test_the_app_token_is_reused_while_it_lasts(customer):
    client = customer_client(customer.wallets.get())
    for _ in range(2):
        answer = client.get("/api/me/")
        assert answer.status_code == 200
        assert answer.json()["kind"] == "customer"
        assert answer.json()["wallet"] == "MW62****0001"


def test_a_token_for_the_chat_does_not_open_the_api(customer):
    token = sign(customer.wallets.get(), audience=AUDIENCE_CHAT)
    answer = Client(headers={"X-Customer-Token": token}).get("/api/me/")
    assert answer.status_code == 401


def test_unknown_paths_answer_json(db):
    answer = Client().get("/api/no-such-thing/")
    assert answer.status_code == 404
    assert answer.json() == {"error": {"code": "not_found", "message": "Not found."}}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_unknown_paths_answer_json_to_writes_too(db, method):
    """Schemathesis found it: a write to a path no route matches (/api/tickets/null,null/
    reply/) was refused by the CSRF check with Django's HTML 403 page."""
    client = Client(enforce_csrf_checks=True, headers={"Authorization": "Bearer mws_x_y"})
    answer = getattr(client, method)("/api/tickets/null,null/reply/", "{}", "application/json")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_a_body_over_the_limit_is_refused_before_it_is_read(settings, make_key):
    settings.API_MAX_BODY_BYTES = 100
    _key, text = make_key("tickets:write")
    answer = key_client(text).post("/api/me/", {"x": "y" * 200}, format="json")
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"


def test_each_key_has_its_own_budget(settings, make_key):
    settings.API_RATES = {**settings.API_RATES, "key": "3/min"}
    _one, first = make_key("tickets:read")
    _two, second = make_key("tickets:read")
    codes = [key_client(first).get("/api/me/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert key_client(second).get("/api/me/").status_code == 200
    refused = key_client(first).get("/api/me/")
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0


def test_the_schema_names_the_three_ways_in(db):
    answer = Client().get("/api/schema/", headers={"Accept": "application/json"})
    assert answer.status_code == 200
    schemes = answer.json()["components"]["securitySchemes"]
    assert schemes["apiKey"]["scheme"] == "bearer"
    assert schemes["customerToken"]["name"] == "X-Customer-Token"
    assert "cookieAuth" in schemes
    assert "Error" in answer.json()["components"]["schemas"]


def test_the_schema_documents_the_errors_of_filters_and_pages():
    """Schemathesis found it: a list answered 400 to a filter's bad value and 404 to a page
    past the last, and neither was documented."""
    operation = {"parameters": [{"in": "query", "name": "page"}], "security": [{"apiKey": []}]}
    bare = {"security": [{"apiKey": []}]}
    result = {"paths": {"/api/things/": {"get": operation}, "/api/me/": {"get": bare}}}

    add_error_responses(result, None, None, True)

    assert {"400", "404"} <= set(operation["responses"])
    assert not {"400", "404"} & set(bare["responses"])
