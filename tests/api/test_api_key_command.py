"""`manage.py api_key`: keys made, revoked and listed from a shell, through api.actions."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from api.models import ApiKey
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_prints_only_the_key_text_which_opens_the_api(key_admin):
    out, err = run("create", "--name", "CRM", "--scope", "tickets:read", "--scope", "calls:write")

    text = out.strip()
    assert out == text + "\n"
    key = ApiKey.objects.get(name="CRM")
    assert text.startswith(f"mws_{key.prefix}_")
    assert key.scopes == ["calls:write", "tickets:read"]
    assert key.created_by == key_admin
    assert key.expires_at is None
    assert text not in err
    assert key_client(text).get("/api/me/").json()["name"] == "CRM"


def test_create_can_set_an_expiry_in_days(key_admin):
    run("create", "--name", "Trial", "--scope", "articles:read", "--expires-days", "30")

    key = ApiKey.objects.get(name="Trial")
    assert 29 < (key.expires_at - key.created_at).total_seconds() / 86400 <= 30


def test_create_acts_as_the_superuser_named(key_admin):
    other = get_user_model().objects.create_superuser("ops", password="unused-in-tests")

    run("create", "--name", "CRM", "--scope", "tickets:read", "--as", "ops")

    assert ApiKey.objects.get(name="CRM").created_by == other


def test_only_a_superuser_makes_keys(agent):
    with pytest.raises(CommandError, match="no active superuser"):
        run("create", "--name", "CRM", "--scope", "tickets:read")
    with pytest.raises(CommandError, match="'agent' is not an active superuser"):
        run("create", "--name", "CRM", "--scope", "tickets:read", "--as", agent.username)
    assert not ApiKey.objects.exists()


def test_an_unknown_scope_is_refused_before_anything_is_made(key_admin):
    with pytest.raises(CommandError, match="invalid choice"):
        run("create", "--name", "CRM", "--scope", "tickets:delete")
    assert not ApiKey.objects.exists()


def test_the_actions_refusal_is_told_as_a_command_error(key_admin):
    with pytest.raises(CommandError, match="A key needs a name"):
        run("create", "--name", "  ", "--scope", "tickets:read")


def test_revoke_closes_the_key_and_records_why(key_admin):
    text = run("create", "--name", "CRM", "--scope", "tickets:read")[0].strip()

    out, _err = run("revoke", "--name", "CRM", "--reason", "leaked in a ticket")

    key = ApiKey.objects.get(name="CRM")
    assert "revoked" in out
    assert key.revoked_by == key_admin
    assert key.revoked_reason == "leaked in a ticket"
    assert key_client(text).get("/api/me/").status_code == 401
    with pytest.raises(CommandError, match="already revoked"):
        run("revoke", "--name", "CRM", "--reason", "again")


def test_revoking_an_unknown_name_says_so(key_admin):
    with pytest.raises(CommandError, match="No key is named 'ERP'"):
        run("revoke", "--name", "ERP", "--reason", "gone")


def test_list_shows_each_key_and_its_state_but_never_a_secret(key_admin):
    live = run("create", "--name", "CRM", "--scope", "tickets:write")[0].strip()
    key_client(live).get("/api/me/")
    gone = run("create", "--name", "Old app", "--scope", "articles:read")[0].strip()
    run("revoke", "--name", "Old app", "--reason", "retired")

    out, _err = run("list")

    header, crm, old = [line.split("\t") for line in out.splitlines()]
    assert header == ["name", "prefix", "scopes", "last used", "state"]
    assert crm[0:3] == ["CRM", ApiKey.objects.get(name="CRM").prefix, "tickets:write"]
    assert crm[3] != "never"
    assert crm[4] == "active"
    assert old[3:] == ["never", "revoked"]
    for text in (live, gone):
        assert text.split("_", 2)[2] not in out
