"""`manage.py seed_demo`: idempotent, covers every channel and failure, and its logins work."""

from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Transaction
from demo.data import DEMO_STAFF
from tickets.models import Article, CallLog, Channel, Macro, Ticket

pytestmark = pytest.mark.django_db

AGENT = next(spec for spec in DEMO_STAFF if spec.username == "agent")


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    # Nine demo passwords are hashed per run; PBKDF2's cost is not what these tests are about.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def development_mode(settings):
    # seed_demo is a development command (make run sets DJANGO_DEBUG=true); the suite runs
    # with DEBUG off, as production does, so these tests turn it on, except where they say.
    settings.DEBUG = True


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    """Rows in every table of the project and of the apps it seeds (users, OTP, tasks)."""
    labels = {"accounts", "tickets", "auth", "otp_totp", "otp_static", "django_tasks_db"}
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in labels
    }


def current_code(user) -> str:
    device = TOTPDevice.objects.get(user=user)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return str(totp.token()).zfill(device.digits)


def sign_in(username: str, password: str, code: str) -> tuple[Client, object]:
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "otp_token": code, "next": "/admin/"},
    )
    return client, response


def test_with_debug_off_it_refuses_and_creates_nothing(settings):
    settings.DEBUG = False
    before = row_counts()

    with pytest.raises(CommandError, match="--i-know-this-is-production"):
        seed()

    assert row_counts() == before
    assert not get_user_model().objects.filter(username=AGENT.username).exists()


def test_with_debug_off_it_runs_when_told_this_is_production(settings):
    settings.DEBUG = False

    out = seed("--i-know-this-is-production")

    assert "Demo data created" in out
    assert get_user_model().objects.filter(username=AGENT.username).exists()


def test_running_it_twice_creates_nothing_the_second_time():
    first_output = seed()
    after_first = row_counts()

    second_output = seed()

    assert row_counts() == after_first
    assert "nothing changed" in second_output
    assert "nothing changed" not in first_output


def test_it_creates_failed_transactions_of_every_reason():
    seed()

    reasons = set(
        Transaction.objects.filter(status=Transaction.Status.FAILED).values_list(
            "failure_reason", flat=True
        )
    )
    assert reasons == set(Transaction.FailureReason.values) - {Transaction.FailureReason.NONE}


def test_it_creates_tickets_on_every_channel():
    seed()

    channels = set(Ticket.objects.values_list("channel", flat=True))
    wanted = {Channel.EMAIL, Channel.CHAT, Channel.PHONE, Channel.WECHAT, Channel.WEIBO}
    assert wanted <= channels
    phone_ticket = Ticket.objects.get(channel=Channel.PHONE)
    assert CallLog.objects.filter(ticket=phone_ticket, customer=phone_ticket.customer).exists()


def test_one_customer_reaches_support_on_three_channels():
    seed()

    busiest = (
        Ticket.objects.values("customer")
        .annotate(channels=Count("channel", distinct=True))
        .order_by("-channels")
        .first()
    )
    assert busiest["channels"] >= 3


def test_it_prints_the_demo_logins():
    output = seed()

    for spec in DEMO_STAFF:
        assert spec.password in output
        assert spec.totp_key in output
        assert spec.backup_codes[0] in output


def test_the_demo_agent_signs_in_with_password_and_current_authenticator_code():
    seed()
    agent = get_user_model().objects.get(username=AGENT.username)

    client, response = sign_in(AGENT.username, AGENT.password, current_code(agent))

    assert response.status_code == 302, response.content[:2000]
    assert client.session[DEVICE_ID_SESSION_KEY] == TOTPDevice.objects.get(user=agent).persistent_id
    assert client.get("/admin/").status_code == 200


def test_the_demo_agent_signs_in_with_a_printed_backup_code_once():
    output = seed()
    code = AGENT.backup_codes[0]
    assert code in output

    _client, response = sign_in(AGENT.username, AGENT.password, code)
    _again, second = sign_in(AGENT.username, AGENT.password, code)

    assert response.status_code == 302
    assert second.status_code == 200  # the form again: a backup code works once
    assert not StaticToken.objects.filter(token=code).exists()


def test_a_wrong_code_is_refused():
    seed()

    _client, response = sign_in(AGENT.username, AGENT.password, "000000")

    assert response.status_code == 200
    assert DEVICE_ID_SESSION_KEY not in _client.session


def test_reset_passwords_restores_the_demo_login():
    seed()
    agent = get_user_model().objects.get(username=AGENT.username)
    agent.set_password("changed by the agent")
    agent.save()
    StaticToken.objects.filter(token=AGENT.backup_codes[0]).delete()

    seed()
    assert not get_user_model().objects.get(pk=agent.pk).check_password(AGENT.password)

    seed("--reset-passwords")
    assert get_user_model().objects.get(pk=agent.pk).check_password(AGENT.password)
    assert StaticToken.objects.filter(token=AGENT.backup_codes[0]).exists()


def test_the_macros_serve_every_queue_and_security_in_both_languages():
    seed()
    assert Macro.objects.filter(queue=None).count() >= 2
    assert Macro.objects.filter(queue__slug="security").exists()
    assert Macro.objects.exclude(status="").exists()  # one shows the status change
    for macro in Macro.objects.all():
        assert macro.body_en and macro.body_zh
        macro.full_clean()  # every placeholder is one we fill


def test_the_help_centre_answers_the_five_common_questions_in_both_languages():
    seed()
    slugs = set(Article.objects.filter(published=True).values_list("slug", flat=True))
    assert {
        "why-did-my-payment-fail",
        "reset-payment-password",
        "account-locked",
        "update-my-details",
        "how-we-keep-payments-safe",
    } <= slugs
    for article in Article.objects.all():
        assert article.title_zh and article.body_zh and article.keywords_zh
        assert article.title_en and article.body_en and article.keywords_en
