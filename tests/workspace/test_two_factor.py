"""The agent workspace's two-factor sign-in, checked against an independent TOTP.

The codes are computed here from RFC 6238 with hmac/hashlib/struct, not with django-otp,
so a bug in how the site builds or checks codes cannot hide behind the same library.
"""

import base64
import hashlib
import hmac
import re
import struct
import time

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import enrolment
from accounts.roles import AGENTS
from workspace.site import issue_backup_codes

PASSWORD = "correct horse battery staple"


def rfc6238(key: bytes, *, step=30, digits=6, t0=0, drift=0, at=None, digest=hashlib.sha1) -> str:
    """TOTP (RFC 6238) over HOTP (RFC 4226), written from the RFCs."""
    counter = int(((time.time() if at is None else at) - t0) // step) + drift
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    binary = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def code_for(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return rfc6238(
        device.bin_key, step=device.step, digits=device.digits, t0=device.t0, drift=device.drift
    )


def wrong_code_for(device: TOTPDevice) -> str:
    """A code valid in none of the windows the device tolerates (now, one step either way)."""
    now = time.time()
    valid = {
        rfc6238(device.bin_key, step=device.step, digits=device.digits, at=now + k * device.step)
        for k in range(-2, 3)
    }
    candidate = 0
    while f"{candidate:06d}" in valid:
        candidate += 1
    return f"{candidate:06d}"


@pytest.fixture(autouse=True)
def no_throttle_delay(settings):
    # A wrong code makes django-otp wait before the next try; the tests try again at once.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def new_agent(db, django_user_model):
    """A staff agent with a password and no second factor yet (first sign-in)."""
    user = django_user_model.objects.create_user(
        username="newcomer", password=PASSWORD, is_staff=True
    )
    user.groups.add(Group.objects.get(name=AGENTS))
    return user


@pytest.fixture
def enrolment_link(new_agent, django_user_model):
    """The link an administrator issued for the newcomer's first authenticator."""
    admin = django_user_model.objects.create_superuser(username="root", password=PASSWORD)
    return f"/admin/enrol/{enrolment.issue(new_agent, acting_user=admin)}/"


def login(client, username, token=""):
    return client.post(
        "/admin/login/",
        {"username": username, "password": PASSWORD, "otp_token": token, "next": "/admin/"},
    )


def error_codes(response) -> list[str]:
    return [error.code for error in response.context["form"].non_field_errors().as_data()]


def test_the_independent_totp_matches_the_rfc_6238_test_vector():
    # RFC 6238 appendix B, SHA-1, T = 59 s, 8 digits.
    assert rfc6238(b"12345678901234567890", digits=8, at=59) == "94287082"
    assert rfc6238(b"12345678901234567890", digits=8, at=1111111109) == "07081804"


def test_a_correct_password_without_a_code_is_refused(agent, client):
    response = login(client, "agent")
    assert response.status_code == 200
    assert error_codes(response) == ["invalid_login"]
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_a_correct_password_with_a_wrong_code_is_refused(agent, client):
    device = agent.totpdevice_set.get()
    response = login(client, "agent", wrong_code_for(device))
    assert response.status_code == 200
    assert error_codes(response) == ["invalid_login"]
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_the_login_page_asks_for_the_code_in_the_same_step(db, client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert 'name="otp_token"' in response.text
    assert 'name="password"' in response.text


def test_a_code_from_an_independent_totp_signs_the_agent_in(agent, client):
    device = agent.totpdevice_set.get()
    response = login(client, "agent", code_for(device))
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    index = client.get("/admin/")
    assert index.status_code == 200
    # Verified agents get the link to their backup codes in the user tools.
    assert "/admin/two-factor/backup-codes/" in index.text


def test_a_code_with_spaces_is_accepted(agent, client):
    code = code_for(agent.totpdevice_set.get())
    response = login(client, "agent", f"{code[:3]} {code[3:]}")
    assert response.status_code == 302


def test_a_wrong_code_then_the_right_one_signs_in(agent, client):
    device = agent.totpdevice_set.get()
    assert login(client, "agent", wrong_code_for(device)).status_code == 200
    assert login(client, "agent", code_for(device)).status_code == 302


def test_a_backup_code_works_once(agent, client):
    codes = issue_backup_codes(agent)
    response = login(client, "agent", codes[0])
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200

    client.post("/admin/logout/")
    assert client.get("/admin/").status_code == 302
    again = login(client, "agent", codes[0])
    assert again.status_code == 200
    assert error_codes(again) == ["invalid_login"]
    assert client.get("/admin/").status_code == 302
    # The others still work.
    assert login(client, "agent", codes[1]).status_code == 302


def test_a_signed_in_but_unverified_agent_is_kept_out_of_the_admin(agent):
    client = Client()
    client.force_login(agent)  # password only: no device in the session
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert client.get("/admin/tickets/ticket/").status_code == 302


def test_the_backup_codes_page_issues_new_codes_on_request(agent_client, agent):
    page = agent_client.get("/admin/two-factor/backup-codes/")
    assert page.status_code == 200
    assert page.context["codes"] is None
    assert "<form" in page.text

    issued = agent_client.post("/admin/two-factor/backup-codes/")
    codes = issued.context["codes"]
    assert len(codes) == 10
    for code in codes:
        assert code in issued.text
    assert agent.staticdevice_set.get().token_set.count() == 10


def test_a_first_sign_in_enrols_a_device_with_an_independent_code(
    new_agent, enrolment_link, client
):
    opened = client.get(enrolment_link)
    assert opened.status_code == 302
    assert opened["Location"].startswith("/admin/login/")
    response = login(client, "newcomer")
    assert response.status_code == 302
    assert response["Location"] == "/admin/two-factor/enrol/"
    # Nothing else is reachable before the device is confirmed.
    assert client.get("/admin/").status_code == 302

    page = client.get("/admin/two-factor/enrol/")
    assert page.status_code == 200
    assert "<svg" in page.text
    device = TOTPDevice.objects.get(user=new_agent, confirmed=False)
    secret = page.context["secret"].replace(" ", "")
    assert secret in page.text.replace(" ", "")

    wrong = client.post("/admin/two-factor/enrol/", {"otp_token": wrong_code_for(device)})
    assert wrong.status_code == 200
    assert wrong.context["error"]
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get("/admin/").status_code == 302

    confirmed = client.post("/admin/two-factor/enrol/", {"otp_token": code_for(device)})
    assert confirmed.status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    codes = confirmed.context["codes"]
    assert confirmed.context["enrolled"] is True
    assert len(codes) == 10
    assert all(code in confirmed.text for code in codes)

    assert client.get("/admin/").status_code == 200


def test_the_enrolment_qr_code_carries_the_devices_key(new_agent, enrolment_link, client):
    client.get(enrolment_link)
    login(client, "newcomer")
    page = client.get("/admin/two-factor/enrol/")
    device = TOTPDevice.objects.get(user=new_agent, confirmed=False)
    # The manual key is the base32 of the device key, so the app and the server agree.
    expected = base64.b32encode(device.bin_key).decode().rstrip("=")
    assert page.context["secret"].replace(" ", "") == expected
    assert re.search(r"<svg[^>]*>", page.text)
