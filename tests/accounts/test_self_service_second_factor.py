"""The payment-password reset's second question, after the code (SELF_SERVICE_SECOND_FACTOR):
right and wrong answers, the tries per reset, the lock per contact and per client address,
and answers that never tell what the wallet has on record."""

import pytest
from django.core.exceptions import ValidationError

from accounts.actions import self_service
from accounts.models import AccountEvent, WalletAccount
from tests.accounts.codes_fixtures import code_in
from tests.accounts.security_helpers import wallet_with_payment
from tests.accounts.self_service_helpers import csrf_client, page_text, post

pytestmark = pytest.mark.django_db

RESET_URL = "/account/reset-payment-password/"
PHONE = "+8613800138000"
OTHER_PHONE = "+8613900139000"
WRONG = "This answer does not match what your wallet has on record."
NEW_PASSWORD = "739154"


@pytest.fixture
def wallet(customer):
    return customer.wallets.get()


def at_second_question(gateway, *, contact=PHONE, address="10.0.0.1"):
    """A client that asked for a reset code for ``contact`` and typed it right."""
    client = csrf_client(address)
    assert post(client, RESET_URL, {"action": "send", "contact": contact}).status_code == 302
    code = code_in(gateway.to(contact)[-1].text)
    assert post(client, RESET_URL, {"action": "verify", "code": code}).status_code == 302
    return client


def answer(client, id_last4: str):
    return post(client, RESET_URL, {"action": "answer", "id_last4": id_last4})


def test_the_right_answer_leads_to_the_new_password_and_is_audited(wallet, sms_gateway):
    client = at_second_question(sms_gateway)
    page = client.get(RESET_URL)
    assert "last 4 characters of the ID number" in page_text(page)

    assert answer(client, " 1234 ").status_code == 302
    post(client, RESET_URL, {"action": "set", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    wallet.refresh_from_db()
    assert wallet.check_payment_password(NEW_PASSWORD)
    passed = AccountEvent.objects.get(action=AccountEvent.Action.IDENTITY_VERIFIED)
    assert passed.details["second_factor"] == "id_last4"
    assert passed.actor_kind == AccountEvent.ActorKind.CUSTOMER
    assert "1234" not in str(passed.details) + str(passed.verification)


def test_a_wrong_answer_changes_nothing_and_is_audited_without_the_answer(wallet, sms_gateway):
    client = at_second_question(sms_gateway)
    response = answer(client, "9876")
    assert response.status_code == 200
    assert WRONG in page_text(response)
    # Still at the second question: no password can be set yet.
    post(client, RESET_URL, {"action": "set", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    wallet.refresh_from_db()
    assert not wallet.check_payment_password(NEW_PASSWORD)
    failed = AccountEvent.objects.get(action=AccountEvent.Action.VERIFICATION_FAILED)
    assert failed.details["second_factor"] == "id_last4"
    assert "9876" not in str(failed.details) + str(failed.verification)


def test_a_malformed_answer_is_a_clear_error_and_costs_no_try(wallet, sms_gateway):
    client = at_second_question(sms_gateway)
    response = answer(client, "12")
    assert "Enter the last 4 characters of your ID number." in page_text(response)
    assert not AccountEvent.objects.filter(action=AccountEvent.Action.VERIFICATION_FAILED)


def test_the_reset_is_over_after_its_tries_and_needs_a_new_code(wallet, sms_gateway, settings):
    settings.SELF_SERVICE_SECOND_FACTOR_TRIES = 3
    client = at_second_question(sms_gateway)
    assert WRONG in page_text(answer(client, "0000"))
    assert WRONG in page_text(answer(client, "0001"))
    response = answer(client, "0002")
    assert "Please start again with a new code." in page_text(response)
    assert "registered with your wallet" in page_text(client.get(RESET_URL))  # step one
    device_id = wallet.code_devices.get().pk
    with pytest.raises(self_service.SecondFactorRefused) as refused:
        self_service.check_second_factor(
            device_id, self_service.SecondFactorAnswer(id_last4="1234"), client_ip="10.0.0.9"
        )
    assert refused.value.restart

    # A new code gives a new reset, and the right answer works.
    settings.CODE_RESEND_SECONDS = 0
    again = at_second_question(sms_gateway)
    assert answer(again, "1234").status_code == 302


def test_the_contact_is_locked_after_too_many_wrong_answers_whatever_the_session(
    wallet, sms_gateway, settings
):
    settings.SELF_SERVICE_SECOND_FACTOR_TRIES = 2
    settings.SELF_SERVICE_SECOND_FACTOR_LOCK_AFTER = 4
    settings.CODE_RESEND_SECONDS = 0
    addresses = iter(["10.0.0.1", "10.0.0.2", "203.0.113.7"])
    for _reset in range(2):
        client = at_second_question(sms_gateway, address=next(addresses))
        answer(client, "0000")
        answer(client, "0001")
    client = at_second_question(sms_gateway, address=next(addresses))
    response = answer(client, "1234")  # right, but too late
    assert "Too many wrong answers. Please try again in 60 minutes." in page_text(response)
    assert AccountEvent.objects.filter(action=AccountEvent.Action.IDENTITY_VERIFIED).count() == 0


def test_one_address_is_locked_after_too_many_wrong_answers_for_any_wallets(
    wallet, other_customer, sms_gateway, settings
):
    settings.SELF_SERVICE_SECOND_FACTOR_LOCK_AFTER = 3
    first = at_second_question(sms_gateway)
    for guess in ("0000", "0001"):
        answer(first, guess)
    second = at_second_question(sms_gateway, contact=OTHER_PHONE)
    # Another wallet's reset from the same address: its first wrong answer locks it.
    assert "Too many wrong answers. Please try again" in page_text(answer(second, "0002"))
    response = answer(second, "1234")
    assert "Too many wrong answers. Please try again" in page_text(response)
    assert not AccountEvent.objects.filter(action=AccountEvent.Action.IDENTITY_VERIFIED)


def test_a_wallet_without_an_id_number_answers_like_a_wrong_answer(
    wallet, other_customer, sms_gateway
):
    # The answers must not tell whether the wallet has an ID number on record.
    WalletAccount.objects.filter(pk=other_customer.wallets.get().pk).update(national_id="")
    answers = []
    for contact, address in ((PHONE, "10.0.0.1"), (OTHER_PHONE, "10.0.0.2")):
        client = at_second_question(sms_gateway, contact=contact, address=address)
        response = answer(client, "9876")
        answers.append((response.status_code, page_text(response)))
    assert answers[0] == answers[1]
    assert WRONG in answers[0][1]


def test_the_code_page_promises_the_second_question_whether_or_not_a_wallet_has_the_contact(
    wallet, sms_gateway
):
    pages = []
    for contact in (PHONE, "+8613811118000"):
        client = csrf_client()
        post(client, RESET_URL, {"action": "send", "contact": contact})
        pages.append(page_text(client.get(RESET_URL)))
    assert pages[0] == pages[1]
    assert "After the code we ask for the last 4 characters of your ID number" in pages[0]


def test_the_recent_transaction_policy_asks_for_a_payment(customer, sms_gateway, settings):
    settings.SELF_SERVICE_SECOND_FACTOR = "recent_transaction"
    wallet = wallet_with_payment(customer)  # 268.00 at Starbucks Coffee (Shanghai)
    client = at_second_question(sms_gateway)
    assert "Where you paid" in page_text(client.get(RESET_URL))

    wrong = post(client, RESET_URL, {"action": "answer", "amount": "99", "merchant": "starbucks"})
    assert WRONG in page_text(wrong)
    right = post(client, RESET_URL, {"action": "answer", "amount": "268", "merchant": "starbucks"})
    assert right.status_code == 302
    post(client, RESET_URL, {"action": "set", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    wallet.refresh_from_db()
    assert wallet.check_payment_password(NEW_PASSWORD)


def test_the_action_refuses_a_new_password_without_the_second_factor(wallet, sms_gateway):
    at_second_question(sms_gateway)
    device_id = wallet.code_devices.get().pk
    with pytest.raises(ValidationError) as refused:
        self_service.reset_payment_password(device_id, new_password=NEW_PASSWORD)
    assert refused.value.code == "second_factor"
    wallet.refresh_from_db()
    assert not wallet.check_payment_password(NEW_PASSWORD)
