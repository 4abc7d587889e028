"""Agents' sign-in under attack (issue 12, item 2): lock-out per account and per client
address (django-axes), one error text whatever was wrong, failures logged masked and shown
to supervisors, the client address behind a trusted proxy, first enrolment only with an
administrator's grant, and logins that end when idle or too old.

Each test fails on the code before this change: 60 wrong passwords were followed by a
successful sign-in, a right password with no code said "enter the code", a first sign-in
enrolled a device on the password alone, and a login lasted Django's two weeks.
"""

import logging
import re
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.test import Client, RequestFactory
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import agent_sign_in, enrolment
from accounts.models import EnrolmentGrant
from accounts.roles import AGENTS
from mywallet_support.http import client_address
from tests.chat.conftest import closed_with, connect_agent, socket
from tests.conftest import verified_client
from tests.workspace.test_two_factor import PASSWORD, code_for, wrong_code_for

SIGN_IN_FAILED = (
    "Sign-in failed. Check your username, password and authentication code. After "
    "several failed attempts, sign-in pauses for a while."
)


@pytest.fixture(autouse=True)
def english_and_no_otp_delay(settings):
    settings.LANGUAGE_CODE = "en"
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    settings.AXES_FAILURE_LIMIT = 5


def client_from(address: str) -> Client:
    return Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en")


def sign_in(client, username, *, password=PASSWORD, token=""):
    return client.post(
        "/admin/login/",
        {"username": username, "password": password, "otp_token": token, "next": "/admin/"},
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def page_without_echoes(response) -> str:
    """The page as the browser gets it, less what differs by design from one response to
    the next: the CSRF token, the Content-Security-Policy nonce and the username the
    visitor typed (the code is never shown back)."""
    text = response.text
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)
    text = re.sub(r' nonce="[^"]*"', "", text)
    text = re.sub(r'(<input[^>]*name="username"[^>]*?) value="[^"]*"', r"\1", text)
    return text


@pytest.fixture
def new_agent(db, django_user_model):
    user = django_user_model.objects.create_user(
        username="newcomer", password=PASSWORD, is_staff=True
    )
    user.groups.add(Group.objects.get(name=AGENTS))
    return user


@pytest.fixture
def administrator(db, django_user_model):
    user = django_user_model.objects.create_superuser(username="root", password=PASSWORD)
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    return user


# --- lock-out -------------------------------------------------------------------------------


def test_sixty_wrong_passwords_then_the_right_one_is_refused(agent):
    attacker = client_from("203.0.113.50")
    for _ in range(60):
        assert sign_in(attacker, "agent", password="wrong").status_code == 200
    device = agent.totpdevice_set.get()

    # Right password and right code, from the attacker and from the agent's own desk.
    for client in (attacker, client_from("198.51.100.1")):
        response = sign_in(client, "agent", token=code_for(device))
        assert response.status_code == 200
        assert SIGN_IN_FAILED in response.text
        assert not signed_in(client)
    assert AccessAttempt.objects.filter(username="agent").exists()


def test_a_flood_during_the_pause_stores_nothing_more(agent, caplog):
    attacker = client_from("203.0.113.50")
    for _ in range(5):
        sign_in(attacker, "agent", password="wrong")
    stored = (AccessAttempt.objects.count(), AccessFailureLog.objects.count())
    data = len(AccessAttempt.objects.get().post_data)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        for _ in range(40):
            assert SIGN_IN_FAILED in sign_in(attacker, "agent", password="wrong").text
    assert (AccessAttempt.objects.count(), AccessFailureLog.objects.count()) == stored
    assert len(AccessAttempt.objects.get().post_data) == data
    paused = [r for r in caplog.records if r.getMessage().startswith("Sign-in paused")]
    assert len(paused) == 40  # each try during the pause is in the log
    assert "ag***nt" in paused[0].getMessage() and "'agent'" not in paused[0].getMessage()


def test_the_pause_ends_after_the_cool_off(agent, settings):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    client = client_from("198.51.100.1")
    for _ in range(5):
        sign_in(client, "agent", password="wrong")
    device = agent.totpdevice_set.get()
    assert SIGN_IN_FAILED in sign_in(client, "agent", token=code_for(device)).text
    assert not signed_in(client)

    # Sixteen minutes later (the failures' stored time moved back, no sleeping).
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    response = sign_in(client, "agent", token=code_for(device))
    assert response.status_code == 302
    assert signed_in(client)


def test_wrong_codes_count_as_failures(agent):
    client = client_from("198.51.100.1")
    device = agent.totpdevice_set.get()
    for _ in range(5):
        assert sign_in(client, "agent", token=wrong_code_for(device)).status_code == 200
    assert AccessFailureLog.objects.filter(username="agent").count() == 5
    response = sign_in(client, "agent", token=code_for(device))
    assert SIGN_IN_FAILED in response.text
    assert not signed_in(client)


def test_one_address_trying_many_accounts_is_paused_for_all_of_them(agent):
    client = client_from("203.0.113.9")
    for number in range(5):
        sign_in(client, f"guess{number}", password="wrong")
    device = agent.totpdevice_set.get()
    assert SIGN_IN_FAILED in sign_in(client, "agent", token=code_for(device)).text
    assert not signed_in(client)
    # The same account from another address is not paused: only "guess0".. were tried.
    other = client_from("198.51.100.1")
    assert sign_in(other, "agent", token=code_for(device)).status_code == 302


def test_a_successful_sign_in_clears_the_count(agent):
    client = client_from("198.51.100.1")
    device = agent.totpdevice_set.get()
    for _ in range(4):
        sign_in(client, "agent", password="wrong")
    assert sign_in(client, "agent", token=code_for(device)).status_code == 302
    assert not AccessAttempt.objects.filter(username="agent").exists()
    client.post("/admin/logout/")
    for _ in range(4):
        sign_in(client, "agent", password="wrong")
    # Four again, not eight: still allowed.
    device.refresh_from_db()
    device.last_t = -1  # the same 30-second step's code may be used again in this test
    device.save()
    assert sign_in(client, "agent", token=code_for(device)).status_code == 302


# --- one error text -------------------------------------------------------------------------


def test_the_page_is_the_same_whatever_was_wrong(agent, django_user_model):
    device = agent.totpdevice_set.get()
    inactive = django_user_model.objects.create_user(
        username="gone", password=PASSWORD, is_staff=True, is_active=False
    )
    TOTPDevice.objects.create(user=inactive, name="app", confirmed=True)
    django_user_model.objects.create_user(username="visitor", password=PASSWORD)
    locked = django_user_model.objects.create_user(
        username="locked", password=PASSWORD, is_staff=True
    )
    locked_device = TOTPDevice.objects.create(user=locked, name="app", confirmed=True)
    for _ in range(5):
        sign_in(client_from("192.0.2.99"), "locked", password="wrong")

    cases = {
        "unknown account": ("nobody", PASSWORD, "123456"),
        "wrong password": ("agent", "wrong", code_for(device)),
        "no code": ("agent", PASSWORD, ""),
        "wrong code": ("agent", PASSWORD, wrong_code_for(device)),
        "a backup code that is not one": ("agent", PASSWORD, "notacode"),
        "inactive account": ("gone", PASSWORD, "123456"),
        "not staff": ("visitor", PASSWORD, ""),
        "locked out, everything right": ("locked", PASSWORD, code_for(locked_device)),
    }
    pages = {}
    for number, (case, (username, password, token)) in enumerate(cases.items()):
        client = client_from(f"198.51.100.{number + 10}")
        response = sign_in(client, username, password=password, token=token)
        assert response.status_code == 200, case
        assert not signed_in(client), case
        errors = [str(e) for e in response.context["form"].non_field_errors()]
        assert errors == [SIGN_IN_FAILED], case
        pages[case] = page_without_echoes(response)
    first = pages["unknown account"]
    for case, page in pages.items():
        assert page == first, case


def test_the_error_text_is_translated(agent):
    client = Client(REMOTE_ADDR="198.51.100.1", HTTP_ACCEPT_LANGUAGE="zh-hans")
    response = sign_in(client, "agent", password="wrong")
    assert "登录失败" in response.text


# --- what is logged and shown ---------------------------------------------------------------


def test_failures_are_logged_with_the_username_masked(db, caplog):
    client = client_from("198.51.100.7")
    with caplog.at_level(logging.INFO):
        sign_in(client, "13800138000", password="wrong")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "13***00" in text
    assert "198.51.100.7" in text
    assert "13800138000" not in text


def test_supervisors_see_the_failures_view_only_and_masked(supervisor_client, agent_client, db):
    sign_in(client_from("198.51.100.7"), "agent-typo", password="wrong")
    for path in ("/admin/axes/accessfailurelog/", "/admin/axes/accessattempt/"):
        page = supervisor_client.get(path)
        assert page.status_code == 200, path
        assert "ag***po" in page.text
        assert "agent-typo" not in page.text
        assert "198.51.100.7" in page.text
        assert agent_client.get(path).status_code == 403
    attempt = AccessAttempt.objects.get()
    change = supervisor_client.get(f"/admin/axes/accessattempt/{attempt.pk}/change/")
    assert change.status_code == 200
    assert 'name="_save"' not in change.text  # view only
    assert (
        supervisor_client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/").status_code == 403
    )


# --- the client address ---------------------------------------------------------------------


def test_the_client_address_is_remote_addr_unless_a_proxy_is_trusted(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.4"
    )
    settings.TRUSTED_PROXY_HEADER = ""
    assert client_address(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(request) == "198.51.100.4"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_address(request) == "6.6.6.6"
    settings.TRUSTED_PROXY_COUNT = 3  # fewer entries than proxies: not through them
    assert client_address(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    forged = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="<script>")
    assert client_address(forged) == "10.0.0.2"


def test_the_lock_out_counts_the_address_the_trusted_proxy_saw(agent, settings):
    settings.TRUSTED_PROXY_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.TRUSTED_PROXY_COUNT = 1
    behind_proxy = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.77")
    sign_in(behind_proxy, "someone", password="wrong")
    assert AccessAttempt.objects.get().ip_address == "203.0.113.77"


def test_without_a_trusted_proxy_a_forwarded_header_is_ignored(agent, settings):
    settings.TRUSTED_PROXY_HEADER = ""
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.77")
    sign_in(client, "someone", password="wrong")
    assert AccessAttempt.objects.get().ip_address == "10.0.0.2"


# --- enrolment needs an administrator's grant -----------------------------------------------


def test_a_first_sign_in_without_a_grant_is_refused_like_any_failure(new_agent):
    client = client_from("198.51.100.1")
    response = sign_in(client, "newcomer")
    assert response.status_code == 200
    assert SIGN_IN_FAILED in response.text
    assert not signed_in(client)
    assert not TOTPDevice.objects.filter(user=new_agent).exists()
    assert AccessFailureLog.objects.filter(username="newcomer").count() == 1
    assert "Ask an administrator for an enrolment link" in client.get("/admin/login/").text


def test_the_enrolment_page_without_a_grant_says_to_ask_an_administrator(new_agent):
    client = Client()
    client.force_login(new_agent)  # a password-only login from before this rule
    page = client.get("/admin/two-factor/enrol/")
    assert page.status_code == 403
    assert "Ask an administrator for an enrolment link" in page.text
    assert not TOTPDevice.objects.filter(user=new_agent).exists()


def test_an_enrolment_code_typed_in_the_code_field_enrols(new_agent, administrator):
    token = enrolment.issue(new_agent, acting_user=administrator)
    client = client_from("198.51.100.1")
    response = sign_in(client, "newcomer", token=token)
    assert response.status_code == 302
    assert response["Location"] == "/admin/two-factor/enrol/"
    page = client.get("/admin/two-factor/enrol/")
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=new_agent, confirmed=False)
    confirmed = client.post("/admin/two-factor/enrol/", {"otp_token": code_for(device)})
    assert confirmed.context["enrolled"] is True
    assert EnrolmentGrant.objects.get().used_at is not None
    assert LogEntry.objects.filter(user=new_agent, object_id=str(new_agent.pk)).exists()
    assert client.get("/admin/").status_code == 200


def test_a_link_opened_then_a_stray_code_typed_still_enrols(new_agent, administrator):
    token = enrolment.issue(new_agent, acting_user=administrator)
    client = client_from("198.51.100.1")
    client.get(f"/admin/enrol/{token}/")
    response = sign_in(client, "newcomer", token="123456")
    assert response.status_code == 302
    assert response["Location"] == "/admin/two-factor/enrol/"


def test_a_grant_works_once_for_its_own_user_until_it_expires(
    new_agent, administrator, django_user_model
):
    other = django_user_model.objects.create_user(
        username="other", password=PASSWORD, is_staff=True
    )
    token = enrolment.issue(new_agent, acting_user=administrator)
    # Someone else's grant.
    thief = client_from("198.51.100.2")
    assert SIGN_IN_FAILED in sign_in(thief, "other", token=token).text
    assert not signed_in(thief)
    assert not TOTPDevice.objects.filter(user=other).exists()

    # Expired.
    EnrolmentGrant.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client = client_from("198.51.100.3")
    assert SIGN_IN_FAILED in sign_in(client, "newcomer", token=token).text
    assert client.get(f"/admin/enrol/{token}/").status_code == 404

    # Used.
    EnrolmentGrant.objects.update(
        expires_at=timezone.now() + timedelta(hours=1), used_at=timezone.now()
    )
    client = client_from("198.51.100.4")
    assert SIGN_IN_FAILED in sign_in(client, "newcomer", token=token).text
    assert not signed_in(client)


def test_an_invalid_enrolment_link_says_to_ask_an_administrator(db):
    page = client_from("198.51.100.1").get("/admin/enrol/not-a-real-token/")
    assert page.status_code == 404
    assert "Ask an administrator for an enrolment link" in page.text


def test_an_administrator_issues_a_link_shown_once_and_audited(administrator, new_agent):
    client = verified_client(administrator)
    response = client.post(
        "/admin/auth/user/",
        {"action": "issue_enrolment_link", "_selected_action": [new_agent.pk]},
    )
    assert response.status_code == 200
    link = re.search(r"https?://[^<\s]*/admin/enrol/([A-Za-z0-9_-]+)/", response.text)
    assert link is not None
    token = link.group(1)
    grant = EnrolmentGrant.objects.get(user=new_agent)
    assert grant.issued_by == administrator
    assert token not in grant.digest and grant.digest == enrolment.digest(token)
    assert LogEntry.objects.filter(object_id=str(new_agent.pk), user=administrator).exists()

    # The link, opened before signing in, lets the password through to the enrolment.
    newcomer = client_from("198.51.100.5")
    opened = newcomer.get(f"/admin/enrol/{token}/")
    assert opened.status_code == 302
    assert sign_in(newcomer, "newcomer")["Location"] == "/admin/two-factor/enrol/"
    assert newcomer.get("/admin/two-factor/enrol/").status_code == 200


def test_only_administrators_may_issue_links(supervisor_client, new_agent, supervisor):
    # Even with the user page open to them, supervisors get no link.
    supervisor.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user"])
    )
    response = supervisor_client.post(
        "/admin/auth/user/",
        {"action": "issue_enrolment_link", "_selected_action": [new_agent.pk]},
    )
    assert not EnrolmentGrant.objects.exists()
    assert "/admin/enrol/" not in response.text
    with pytest.raises(PermissionError):
        enrolment.issue(new_agent, acting_user=supervisor)


# --- idle and absolute lifetime -------------------------------------------------------------


def move_clock(client, *, idle: float = 0, age: float = 0) -> None:
    """Make the login look ``idle`` seconds unused and ``age`` seconds old."""
    session = client.session
    now = time.time()
    session[agent_sign_in.SESSION_KEY] = {"signed_in_at": now - age, "seen_at": now - idle}
    session.save()


def test_a_login_in_use_stays(agent_client):
    move_clock(agent_client, idle=29 * 60, age=11 * 3600)
    assert agent_client.get("/admin/").status_code == 200


def test_an_idle_login_ends(agent_client):
    move_clock(agent_client, idle=31 * 60, age=40 * 60)
    response = agent_client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not signed_in(agent_client)


def test_a_login_ends_after_its_lifetime_however_busy(agent_client):
    move_clock(agent_client, idle=5, age=12 * 3600 + 60)
    assert agent_client.get("/admin/").status_code == 302
    assert not signed_in(agent_client)


def test_the_limits_are_settings(agent_client, settings):
    settings.AGENT_SESSION_IDLE_MINUTES = 5
    move_clock(agent_client, idle=6 * 60, age=6 * 60)
    assert agent_client.get("/admin/").status_code == 302


def test_a_request_counts_as_activity(agent_client):
    move_clock(agent_client, idle=20 * 60, age=20 * 60)
    assert agent_client.get("/admin/").status_code == 200
    seen = agent_client.session[agent_sign_in.SESSION_KEY]["seen_at"]
    assert time.time() - seen < 60


def test_a_login_without_a_clock_counts_as_ended(agent_client):
    session = agent_client.session
    del session[agent_sign_in.SESSION_KEY]
    session.save()
    assert agent_client.get("/admin/").status_code == 302


@pytest.mark.django_db(transaction=True)
def test_the_chat_console_socket_refuses_an_ended_login(agent):
    client = verified_client(agent)

    async def live_login_connects():
        console = await connect_agent(client, online=False)
        await console.disconnect()

    async def ended_login_is_refused():
        refused = socket("/ws/agent/", client)
        connected, _ = await refused.connect()
        assert connected  # accepted, then closed with the reason
        code = await closed_with(refused)
        await refused.disconnect()
        return code

    async_to_sync(live_login_connects)()
    move_clock(client, idle=31 * 60, age=31 * 60)
    assert async_to_sync(ended_login_is_refused)() == 4403
