"""The customers' self-service pages end to end through HTTP (CSRF enforced): the
payment-password reset (code, then the second question) and the contact change of a
customer the app signed in, with codes captured from the local SMS gateway and a real SMTP
server."""

import logging
import re
import time

import pytest
from django.core import serializers
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from accounts import codes
from accounts.actions.self_service import validate_payment_password
from accounts.models import AccountEvent, CodeDevice, WalletAccount
from tests.accounts.codes_fixtures import code_in, mail_text
from tests.accounts.self_service_helpers import csrf_client, page_text, post, sign_in_with_app

pytestmark = pytest.mark.django_db

RESET_URL = "/account/reset-payment-password/"
CHANGE_URL = "/account/change-contact/"
PHONE = "+8613800138000"
NEW_PASSWORD = "739154"


@pytest.fixture
def wallet(customer):
    return customer.wallets.get()


def reset_to_code_step(client, contact=PHONE):
    response = post(client, RESET_URL, {"action": "send", "contact": contact})
    assert response.status_code == 302
    return client.get(RESET_URL)


def last_code(gateway, number=PHONE) -> str:
    return code_in(gateway.to(number)[-1].text)


ID_LAST4 = "1234"  # the customer fixture's ID number ends so


def verify_and_answer(client, code: str):
    """The code, then the second question (the last 4 characters of the ID number)."""
    assert post(client, RESET_URL, {"action": "verify", "code": code}).status_code == 302
    response = post(client, RESET_URL, {"action": "answer", "id_last4": ID_LAST4})
    assert response.status_code == 302
    return response


def test_a_forgotten_payment_password_is_reset_with_a_code_by_sms(wallet, sms_gateway, smtp_server):
    client = csrf_client()
    page = client.get(RESET_URL)
    assert page.status_code == 200
    assert "registered with your wallet" in page_text(page)

    page = reset_to_code_step(client, contact="138 0013 8000")
    assert "+86 138****8000" in page_text(page)
    assert "valid for 10 minutes" in page_text(page)

    response = post(client, RESET_URL, {"action": "verify", "code": last_code(sms_gateway)})
    assert response.status_code == 302
    page = client.get(RESET_URL)
    assert "last 4 characters of the ID number" in page_text(page)
    response = post(client, RESET_URL, {"action": "answer", "id_last4": ID_LAST4})
    assert response.status_code == 302
    page = client.get(RESET_URL)
    assert "Choose a new 6-digit payment password" in page_text(page)

    response = post(
        client, RESET_URL, {"action": "set", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    done = client.get(RESET_URL)
    assert "Your payment password has been changed." in page_text(done)

    wallet.refresh_from_db()
    assert wallet.check_payment_password(NEW_PASSWORD)
    assert not wallet.check_payment_password("482915")
    event = AccountEvent.objects.get(action=AccountEvent.Action.PAYMENT_PASSWORD_RESET)
    assert event.verification["destination"] == "+86 138****8000"
    # Both registered contacts are told, without the password or a number.
    notice = sms_gateway.to(PHONE)[-1].text
    assert "0001" in notice  # in the customer's language (Chinese here)
    assert NEW_PASSWORD not in notice
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == ("li.wei@example.com",)
    assert "0001" in mail_text(mail)
    # The flow is over: the page starts again.
    assert "registered with your wallet" in page_text(client.get(RESET_URL))


def test_the_reset_by_email_uses_the_smtp_server(wallet, smtp_server, sms_gateway):
    client = csrf_client()
    reset_to_code_step(client, contact="Li.Wei@Example.com")
    [received] = smtp_server.messages
    assert received.rcpt_tos == ("li.wei@example.com",)
    code = code_in(mail_text(received))
    verify_and_answer(client, code)
    post(client, RESET_URL, {"action": "set", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    wallet.refresh_from_db()
    assert wallet.check_payment_password(NEW_PASSWORD)


def test_a_lock_from_wrong_passwords_is_lifted(wallet, sms_gateway):
    WalletAccount.objects.filter(pk=wallet.pk).update(
        status=WalletAccount.Status.LOCKED,
        lock_reason=WalletAccount.LockReason.WRONG_PASSWORD,
        failed_password_attempts=5,
    )
    client = csrf_client()
    reset_to_code_step(client)
    verify_and_answer(client, last_code(sms_gateway))
    post(client, RESET_URL, {"action": "set", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert "Your wallet is unlocked" in page_text(client.get(RESET_URL))
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.ACTIVE
    assert wallet.lock_reason == ""
    assert wallet.failed_password_attempts == 0
    unlock = AccountEvent.objects.get(action=AccountEvent.Action.UNLOCK)
    assert unlock.verification["method"] == "one_time_code"


def test_a_frozen_wallet_stays_frozen(wallet, sms_gateway):
    WalletAccount.objects.filter(pk=wallet.pk).update(
        status=WalletAccount.Status.FROZEN, lock_reason=WalletAccount.LockReason.RISK
    )
    client = csrf_client()
    reset_to_code_step(client)
    verify_and_answer(client, last_code(sms_gateway))
    post(client, RESET_URL, {"action": "set", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert "still frozen" in page_text(client.get(RESET_URL))
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.FROZEN
    assert wallet.check_payment_password(NEW_PASSWORD)


def test_the_answer_is_the_same_whether_or_not_a_wallet_has_the_contact(wallet, sms_gateway):
    # Two numbers that mask alike: the page shows the typed number masked.
    known, unknown = csrf_client(), csrf_client()
    answers = []
    for client, contact in ((known, PHONE), (unknown, "+8613811118000")):
        sent = post(client, RESET_URL, {"action": "send", "contact": contact})
        page = client.get(RESET_URL)
        wrong = post(client, RESET_URL, {"action": "verify", "code": "000000"})
        answers.append(
            (
                sent.status_code,
                sent["Location"],
                page.status_code,
                [t.name for t in page.templates],
                page_text(page),
                wrong.status_code,
                page_text(wrong),
            )
        )
    assert answers[0] == answers[1]
    assert len(sms_gateway.messages) == 1  # the known number only
    assert "+8613811118000" not in str(sms_gateway.messages)


@pytest.fixture
def tasks_queued(settings):
    """The real queue (django-tasks-db), not the tests/accounts default of running tasks at
    once: for tests of what the page answers before the worker has run."""
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks_db.DatabaseBackend",
            "QUEUES": settings.TASKS["default"]["QUEUES"],
        }
    }


def run_worker():
    """The real django-tasks-db worker, until the queue is empty."""
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def queued_codes() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=SEND_TASK))


SEND_TASK = "accounts.actions.self_service.send_reset_code"
UNKNOWN = "+8613811118000"  # masks like PHONE: +86 138****8000


# The worker reconnects to the database as in production: these tests commit for real.
@pytest.mark.django_db(transaction=True)
def test_the_page_answers_with_the_code_queued_so_the_gateway_tells_nothing(
    wallet, sms_gateway, tasks_queued
):
    # A slow gateway, or the work of finding the wallet and recording the code, would
    # otherwise make a contact with a wallet answer later than one without: the page answers
    # once the request is queued, and the worker does the rest.
    client = csrf_client()
    sent = post(client, RESET_URL, {"action": "send", "contact": PHONE})
    assert sent.status_code == 302
    [queued] = queued_codes()
    assert queued.args_kwargs["args"] == ["phone", PHONE, None, "10.0.0.1", "en"]  # no code
    assert not CodeDevice.objects.exists()  # nothing about the wallet was done yet
    assert sms_gateway.messages == []

    run_worker()
    code = last_code(sms_gateway)
    queued.refresh_from_db()
    assert queued.status == "SUCCESSFUL"
    assert code not in serializers.serialize("json", DBTaskResult.objects.all())
    post(client, RESET_URL, {"action": "verify", "code": code})
    assert "last 4 characters of the ID number" in page_text(client.get(RESET_URL))


@pytest.mark.django_db(transaction=True)
def test_a_contact_without_a_wallet_queues_the_same_task_which_sends_nothing(
    wallet, sms_gateway, tasks_queued
):
    for contact in (PHONE, UNKNOWN):
        sent = post(csrf_client(), RESET_URL, {"action": "send", "contact": contact})
        assert sent.status_code == 302
    known, unknown = queued_codes()
    assert known.args_kwargs["args"] == ["phone", PHONE, None, "10.0.0.1", "en"]
    assert unknown.args_kwargs["args"] == ["phone", UNKNOWN, None, "10.0.0.1", "en"]

    run_worker()
    assert [sms.to for sms in sms_gateway.messages] == [PHONE]
    known.refresh_from_db()
    unknown.refresh_from_db()
    assert (known.status, known.return_value) == ("SUCCESSFUL", "sent")
    assert (unknown.status, unknown.return_value) == ("SUCCESSFUL", "no wallet")


def _request_costs(client, contact: str, address: str) -> dict:
    """Everything a reset request spends or answers that a client could compare: the
    answer, the cookies it sets, the session's keys, the queries it runs, the tasks it
    queues and the hourly counters of the address and the contact."""
    before = DBTaskResult.objects.count()
    with CaptureQueriesContext(connection) as queries:
        sent = post(client, RESET_URL, {"action": "send", "contact": contact})
    state = client.session.get("account_reset", {})
    return {
        "status": sent.status_code,
        "location": sent.get("Location"),
        "cookies": sorted(sent.cookies.keys()),
        "session": sorted(client.session.keys()),
        "state": sorted(state.keys()),
        "masked": state.get("masked"),
        "queries": [_shape(q["sql"]) for q in queries.captured_queries],
        "queued": DBTaskResult.objects.count() - before,
        "address_count": cache.get(codes.address_key(address)),
        "contact_count": cache.get(codes.contact_key("phone", contact)),
    }


def _shape(sql: str) -> str:
    """A query without its values (the session's key, the task's id and arguments)."""
    return re.sub(r"'[^']*'|\b\d+\b", "?", sql)


@pytest.mark.django_db(transaction=True)
def test_known_and_unknown_contacts_cost_the_same_even_when_asked_again(
    wallet, sms_gateway, tasks_queued
):
    # Found in issue 12: a repeat request for a contact with a wallet fell in its code's
    # cool-down and did not count against the address's hourly limit, while one for an
    # unknown contact did; so 21 requests told whether a phone had a wallet.
    costs = {}
    for contact, address in ((PHONE, "10.0.0.1"), (UNKNOWN, "10.0.0.2")):
        client = csrf_client(address)
        first = _request_costs(client, contact, address)
        run_worker()  # the known contact's code is sent: its cool-down starts
        again = _request_costs(client, contact, address)
        run_worker()
        costs[contact] = (first, again)
    assert costs[PHONE] == costs[UNKNOWN]
    first, again = costs[PHONE]
    assert (first["address_count"], again["address_count"]) == (1, 2)
    assert (first["contact_count"], again["contact_count"]) == (1, 2)
    assert first["queued"] == again["queued"] == 1
    assert len(sms_gateway.to(PHONE)) == 1  # the repeat fell in the cool-down, in the worker


def test_the_contact_limit_is_the_same_for_known_and_unknown_contacts(
    wallet, sms_gateway, settings
):
    settings.CODE_LIMIT_PER_CONTACT_HOUR = 2
    answers = []
    for contact, address in ((PHONE, "10.0.0.1"), (UNKNOWN, "10.0.0.2")):
        client = csrf_client(address)
        for _try in range(2):
            assert (
                post(client, RESET_URL, {"action": "send", "contact": contact}).status_code == 302
            )
        refused = post(client, RESET_URL, {"action": "send", "contact": contact})
        answers.append((refused.status_code, page_text(refused)))
        # The refused request spent nothing more of the address's budget.
        assert cache.get(codes.address_key(address)) == 2
    assert answers[0] == answers[1]
    assert "Too many codes were requested for this contact" in answers[0][1]


def test_five_wrong_codes_stop_the_guessing_for_known_and_unknown_contacts(wallet, sms_gateway):
    for contact in (PHONE, "+8613811118000"):
        client = csrf_client()
        reset_to_code_step(client, contact=contact)
        for _try in range(5):
            response = post(client, RESET_URL, {"action": "verify", "code": "000000"})
            assert "The code is wrong or has expired." in page_text(response)
        code = last_code(sms_gateway) if contact == PHONE else "123456"
        response = post(client, RESET_URL, {"action": "verify", "code": code})
        assert "Too many wrong codes." in page_text(response)
    assert AccountEvent.objects.filter(action=AccountEvent.Action.CODE_FAILED).count() == 5
    wallet.refresh_from_db()
    assert wallet.check_payment_password("482915")


def test_a_new_session_does_not_lift_the_lock_for_known_or_unknown_contacts(wallet, sms_gateway):
    # Found in review: the stand-in code's wrong tries lived in the session, so starting
    # again showed "wrong code" for a contact without a wallet and "too many" for one with.
    answers = []
    for contact in (PHONE, "+8613811118000"):
        client = csrf_client()
        reset_to_code_step(client, contact=contact)
        for _try in range(6):
            post(client, RESET_URL, {"action": "verify", "code": "000000"})
        again = csrf_client()
        reset_to_code_step(again, contact=contact)
        response = post(again, RESET_URL, {"action": "verify", "code": "000000"})
        answers.append(page_text(response))
    assert "Too many wrong codes." in answers[0]
    assert "Too many wrong codes." in answers[1]


def test_a_new_code_waits_for_the_cool_down(wallet, sms_gateway):
    client = csrf_client()
    page = reset_to_code_step(client)
    assert "New code in" in page_text(page)
    response = post(client, RESET_URL, {"action": "resend"})
    assert "You can ask for a new code in" in page_text(response)
    assert len(sms_gateway.to(PHONE)) == 1

    session = client.session
    state = session["account_reset"]
    state["sent_at"] = time.time() - 120
    session["account_reset"] = state
    session.save()
    from accounts.models import CodeDevice

    CodeDevice.objects.update(last_generated_timestamp=None)
    post(client, RESET_URL, {"action": "resend"})
    assert len(sms_gateway.to(PHONE)) == 2
    _first, second = (code_in(sms.text) for sms in sms_gateway.to(PHONE))
    verify_and_answer(client, second)
    assert "Choose a new" in page_text(client.get(RESET_URL))


def test_one_address_asking_for_many_contacts_is_stopped(wallet, sms_gateway, settings):
    settings.CODE_LIMIT_PER_ADDRESS_HOUR = 2
    client = csrf_client()
    for contact in ("+8613811118000", "+8613811118001"):
        assert post(client, RESET_URL, {"action": "send", "contact": contact}).status_code == 302
    response = post(client, RESET_URL, {"action": "send", "contact": PHONE})
    assert response.status_code == 200
    assert "Too many codes were requested from your network" in page_text(response)
    assert sms_gateway.messages == []


@pytest.mark.parametrize(
    "password",
    ["111111", "123456", "654321", "890123", "121212", "123123", "12345", "12345a", ""],
)
def test_trivial_payment_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_payment_password(password)


@pytest.mark.parametrize("password", ["739154", "582039", "100837"])
def test_ordinary_payment_passwords_are_accepted(password):
    validate_payment_password(password)


def test_the_page_refuses_a_trivial_or_mismatched_password(wallet, sms_gateway):
    client = csrf_client()
    reset_to_code_step(client)
    verify_and_answer(client, last_code(sms_gateway))
    response = post(
        client, RESET_URL, {"action": "set", "password1": "123456", "password2": "123456"}
    )
    assert "too easy to guess" in page_text(response)
    response = post(
        client, RESET_URL, {"action": "set", "password1": "739154", "password2": "739155"}
    )
    assert "not the same" in page_text(response)
    wallet.refresh_from_db()
    assert wallet.check_payment_password("482915")


def test_a_post_without_the_csrf_token_is_refused(wallet, sms_gateway):
    client = csrf_client()
    response = client.post(RESET_URL, {"action": "send", "contact": PHONE})
    assert response.status_code == 403
    assert sms_gateway.messages == []


def test_a_customer_signed_in_through_the_app_still_needs_a_code(wallet, sms_gateway):
    client = csrf_client()
    sign_in_with_app(client, wallet)
    page = client.get(RESET_URL)
    assert "You are signed in" in page_text(page)
    assert "+86 138****8000" in page_text(page)
    post(client, RESET_URL, {"action": "send", "channel": "phone"})
    verify_and_answer(client, last_code(sms_gateway))
    post(client, RESET_URL, {"action": "set", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    wallet.refresh_from_db()
    assert wallet.check_payment_password(NEW_PASSWORD)
    event = AccountEvent.objects.get(action=AccountEvent.Action.PAYMENT_PASSWORD_RESET)
    assert event.actor is None
    assert event.actor_kind == AccountEvent.ActorKind.CUSTOMER
    assert event.verification["second_factor"] == "id_last4"


def test_the_page_speaks_chinese(wallet):
    response = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get(RESET_URL)
    assert response.status_code == 200
    assert 'lang="zh-hans"' in response.content.decode()


def test_no_code_password_or_full_contact_is_logged(wallet, sms_gateway, smtp_server, caplog):
    caplog.set_level(logging.DEBUG)
    client = csrf_client()
    reset_to_code_step(client)
    code = last_code(sms_gateway)
    post(client, RESET_URL, {"action": "verify", "code": "000000"})
    post(client, RESET_URL, {"action": "verify", "code": code})
    post(client, RESET_URL, {"action": "answer", "id_last4": "9876"})
    post(client, RESET_URL, {"action": "answer", "id_last4": ID_LAST4})
    post(client, RESET_URL, {"action": "set", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    reset_to_code_step(csrf_client(), contact="+8613811118000")
    secrets = (code, NEW_PASSWORD, "13800138000", "13811118000", "li.wei@example.com")
    for secret in (*secrets, "9876", "199003071234"):
        assert secret not in caplog.text


# --- contact change -------------------------------------------------------------------------


@pytest.fixture
def signed_in(wallet):
    """A browser the MY Wallet app signed in as the customer."""
    client = csrf_client()
    assert sign_in_with_app(client, wallet).status_code == 302
    return client


def test_changing_the_contact_needs_a_signed_in_customer(wallet):
    response = Client().get(CHANGE_URL)
    assert response.status_code == 403
    assert "Contact our support team" in page_text(response)
    assert reverse("chat:page") in page_text(response)


def test_a_new_phone_is_confirmed_by_codes_to_the_old_and_the_new_one(
    wallet, signed_in, sms_gateway, smtp_server
):
    new_phone = "+8613700137000"
    page = signed_in.get(CHANGE_URL)
    assert "+86 138****8000" in page_text(page)
    response = post(signed_in, CHANGE_URL, {"action": "send", "contact": "137 0013 7000"})
    assert response.status_code == 302
    page = signed_in.get(CHANGE_URL)
    assert "+86 137****7000" in page_text(page)
    old_code, new_code = last_code(sms_gateway, PHONE), last_code(sms_gateway, new_phone)

    response = post(
        signed_in, CHANGE_URL, {"action": "confirm", "old_code": old_code, "new_code": new_code}
    )
    assert response.status_code == 302
    assert "has been changed" in page_text(signed_in.get(CHANGE_URL))
    wallet.refresh_from_db()
    assert wallet.registered_phone == new_phone
    # The new number is one of the customer's identities now: calls from it find them.
    assert wallet.customer.identities.filter(kind="phone", value=new_phone).exists()
    event = AccountEvent.objects.get(action=AccountEvent.Action.CONTACT_CHANGED)
    assert event.details["old"] == "+86 138****8000"
    assert event.details["new"] == "+86 137****7000"
    # Both the old and the new number are told, and the email.
    assert "0001" in sms_gateway.to(PHONE)[-1].text
    assert "0001" in sms_gateway.to(new_phone)[-1].text
    assert [m.rcpt_tos for m in smtp_server.messages] == [("li.wei@example.com",)]


def test_a_wrong_code_changes_nothing(wallet, signed_in, smtp_server):
    post(signed_in, CHANGE_URL, {"action": "send", "contact": "newli@example.com"})
    to_old, to_new = smtp_server.messages
    assert to_old.rcpt_tos == ("li.wei@example.com",)
    assert to_new.rcpt_tos == ("newli@example.com",)
    old_code = code_in(mail_text(to_old))
    wrong = "000000" if code_in(mail_text(to_new)) != "000000" else "111111"
    response = post(
        signed_in, CHANGE_URL, {"action": "confirm", "old_code": old_code, "new_code": wrong}
    )
    assert response.status_code == 200
    assert "sent to your new contact is wrong" in page_text(response)
    wallet.refresh_from_db()
    assert wallet.registered_email == "li.wei@example.com"
    assert not AccountEvent.objects.filter(action=AccountEvent.Action.CONTACT_CHANGED).exists()

    # The right new code then completes it (the old code already counted).
    post(
        signed_in,
        CHANGE_URL,
        {"action": "confirm", "old_code": old_code, "new_code": code_in(mail_text(to_new))},
    )
    wallet.refresh_from_db()
    assert wallet.registered_email == "newli@example.com"


def test_another_wallets_contact_cannot_be_taken(wallet, other_customer, signed_in, sms_gateway):
    response = post(signed_in, CHANGE_URL, {"action": "send", "contact": "anna@example.org"})
    assert "cannot be used" in page_text(response)
    assert sms_gateway.messages == []


def test_asking_whether_contacts_are_taken_costs_the_codes_a_change_sends(
    wallet, other_customer, signed_in, sms_gateway, settings
):
    settings.CODE_LIMIT_PER_ACCOUNT_HOUR = 5
    answers = [
        page_text(post(signed_in, CHANGE_URL, {"action": "send", "contact": "anna@example.org"}))
        for _attempt in range(3)
    ]
    assert ["cannot be used" in answer for answer in answers] == [True, True, False]
    assert "Too many codes were sent for this wallet" in answers[2]
    # and a real change now waits for the hour too: the probes spent its codes
    response = post(signed_in, CHANGE_URL, {"action": "send", "contact": "new@example.com"})
    assert "Too many codes" in page_text(response)
    assert sms_gateway.messages == []


def test_a_contact_taken_by_another_wallet_meanwhile_is_refused_at_confirm(
    wallet, other_customer, signed_in, sms_gateway
):
    new_phone = "+8613700137000"
    post(signed_in, CHANGE_URL, {"action": "send", "contact": new_phone})
    old_code, new_code = last_code(sms_gateway, PHONE), last_code(sms_gateway, new_phone)
    # Meanwhile an agent gives the number to another customer's wallet.
    other_customer.wallets.update(registered_phone=new_phone)
    response = post(
        signed_in, CHANGE_URL, {"action": "confirm", "old_code": old_code, "new_code": new_code}
    )
    assert "cannot be used" in page_text(response)
    wallet.refresh_from_db()
    assert wallet.registered_phone == PHONE


def test_a_notice_that_cannot_be_prepared_does_not_undo_the_reset(
    wallet, sms_gateway, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("notice template missing")

    monkeypatch.setattr("accounts.notify.notify_customer", broken)
    client = csrf_client()
    reset_to_code_step(client)
    verify_and_answer(client, last_code(sms_gateway))
    response = post(
        client, RESET_URL, {"action": "set", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    wallet.refresh_from_db()
    assert wallet.check_payment_password(NEW_PASSWORD)
    assert "could not notify the customer" in caplog.text
