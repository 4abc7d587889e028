"""One-time codes: sent through a real SMTP server and a local HTTP SMS gateway, checked
once, stored only as a digest, with the cool-down, the back-off after wrong tries and the
hourly limits per wallet and per client address."""

import json
import logging
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts import codes
from accounts.actions.self_service import send_reset_code, start_reset
from accounts.codes import CodeLocked, CodeNotSent, check_code, send_code
from accounts.models import AccountEvent, CodeDevice
from accounts.sms import SMSError, send_sms
from tests.accounts.codes_fixtures import code_in, mail_text

pytestmark = pytest.mark.django_db

RESET = CodeDevice.Purpose.PAYMENT_PASSWORD_RESET
PHONE = "+8613800138000"


@pytest.fixture
def wallet(customer):
    return customer.wallets.get()


def test_a_code_by_sms_reaches_the_gateway_and_works_once(wallet, sms_gateway):
    device = send_code(wallet, channel="phone", purpose=RESET, client_ip="10.0.0.1", language="en")

    [sms] = sms_gateway.to(PHONE)
    code = code_in(sms.text)
    assert "valid for 10 minutes" in sms.text
    assert device.destination == PHONE
    assert check_code(device, code) is True
    assert check_code(device, code) is False  # used up
    device.refresh_from_db()
    assert device.used_at is not None


def test_a_code_by_email_goes_through_the_smtp_server(wallet, smtp_server):
    device = send_code(wallet, channel="email", purpose=RESET)

    [received] = smtp_server.messages
    assert received.rcpt_tos == ("li.wei@example.com",)
    code = code_in(received.parsed()["Subject"])
    assert code in mail_text(received)
    assert check_code(device, code) is True


def test_the_customers_language_is_used(wallet, sms_gateway):
    send_code(wallet, channel="phone", purpose=RESET, language="en")
    assert sms_gateway.to(PHONE)[0].text.startswith("[MY Wallet]")


def test_only_a_digest_of_the_code_is_stored(wallet, sms_gateway):
    device = send_code(wallet, channel="phone", purpose=RESET)
    code = code_in(sms_gateway.to(PHONE)[0].text)
    device.refresh_from_db()
    assert code not in device.token
    assert len(device.token) == 64


def test_sending_is_audited_with_the_destination_masked(wallet, sms_gateway):
    device = send_code(wallet, channel="phone", purpose=RESET)
    event = AccountEvent.objects.get(action=AccountEvent.Action.CODE_SENT)
    assert event.account == wallet
    assert event.details == {
        "device": device.pk,
        "channel": "phone",
        "purpose": RESET,
        "destination": "+86 138****8000",
    }


def test_five_wrong_codes_then_the_code_is_locked_for_a_while(wallet, sms_gateway):
    device = send_code(wallet, channel="phone", purpose=RESET)
    code = code_in(sms_gateway.to(PHONE)[0].text)
    wrong = "000000" if code != "000000" else "111111"

    for _try in range(5):
        assert check_code(device, wrong) is False
    with pytest.raises(CodeLocked) as locked:
        check_code(device, code)  # even the right code waits
    assert locked.value.until > timezone.now()
    assert AccountEvent.objects.filter(action=AccountEvent.Action.CODE_FAILED).count() == 5

    # Once the back-off has passed, the right code works.
    CodeDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(hours=1)
    )
    assert check_code(device, code) is True


def test_each_wrong_try_after_the_limit_doubles_the_wait(wallet, sms_gateway, settings):
    device = send_code(wallet, channel="phone", purpose=RESET)
    for _try in range(5):
        check_code(device, "999999x")
    with pytest.raises(CodeLocked):
        check_code(device, "123")
    CodeDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(hours=1)
    )
    assert check_code(device, "999999x") is False
    with pytest.raises(CodeLocked) as locked:
        check_code(device, "123")
    device.refresh_from_db()
    waited = locked.value.until - device.throttling_failure_timestamp
    assert waited == timedelta(seconds=2 * settings.CODE_THROTTLE_FACTOR)


def test_an_expired_code_is_refused(wallet, sms_gateway):
    device = send_code(wallet, channel="phone", purpose=RESET)
    code = code_in(sms_gateway.to(PHONE)[0].text)
    CodeDevice.objects.filter(pk=device.pk).update(valid_until=timezone.now())
    assert check_code(device, code) is False


def test_a_new_code_needs_the_cool_down_and_replaces_the_old_one(wallet, sms_gateway):
    device = send_code(wallet, channel="phone", purpose=RESET)
    with pytest.raises(CodeNotSent) as refused:
        send_code(wallet, channel="phone", purpose=RESET)
    assert refused.value.reason == CodeNotSent.COOLDOWN
    assert "seconds" in str(refused.value)
    assert len(sms_gateway.to(PHONE)) == 1

    CodeDevice.objects.filter(pk=device.pk).update(
        last_generated_timestamp=timezone.now() - timedelta(minutes=2)
    )
    again = send_code(wallet, channel="phone", purpose=RESET)
    assert again.pk == device.pk
    old, new = (code_in(sms.text) for sms in sms_gateway.to(PHONE))
    if old != new:
        assert check_code(again, old) is False
    assert check_code(again, new) is True


def test_a_wallet_gets_a_limited_number_of_codes_an_hour(wallet, sms_gateway, settings):
    settings.CODE_LIMIT_PER_ACCOUNT_HOUR = 2
    settings.CODE_RESEND_SECONDS = 0
    send_code(wallet, channel="phone", purpose=RESET)
    send_code(wallet, channel="phone", purpose=RESET)
    with pytest.raises(CodeNotSent) as refused:
        send_code(wallet, channel="email", purpose=RESET)
    assert refused.value.reason == CodeNotSent.ACCOUNT_LIMIT
    assert len(sms_gateway.messages) == 2


def test_one_client_address_gets_a_limited_number_of_codes(
    wallet, other_customer, sms_gateway, settings
):
    settings.CODE_LIMIT_PER_ADDRESS_HOUR = 2
    other = other_customer.wallets.get()
    send_code(wallet, channel="phone", purpose=RESET, client_ip="203.0.113.7")
    send_code(other, channel="phone", purpose=RESET, client_ip="203.0.113.7")
    with pytest.raises(CodeNotSent) as refused:
        send_code(wallet, channel="email", purpose=RESET, client_ip="203.0.113.7")
    assert refused.value.reason == CodeNotSent.ADDRESS_LIMIT
    # Another address is not affected.
    send_code(wallet, channel="email", purpose=RESET, client_ip="10.0.0.2")


def test_a_gateway_failure_sends_nothing_and_allows_a_retry(wallet, sms_gateway):
    sms_gateway.fail_with = 503
    with pytest.raises(CodeNotSent) as refused:
        send_code(wallet, channel="phone", purpose=RESET)
    assert refused.value.reason == CodeNotSent.DELIVERY_FAILED
    device = CodeDevice.objects.get()
    assert device.token is None

    sms_gateway.fail_with = None
    send_code(wallet, channel="phone", purpose=RESET)  # no cool-down after a failure
    assert check_code(device, code_in(sms_gateway.to(PHONE)[0].text)) is True


def test_a_wallet_without_that_contact_gets_no_code(wallet, sms_gateway):
    wallet.registered_email = ""
    wallet.save()
    with pytest.raises(CodeNotSent) as refused:
        send_code(wallet, channel="email", purpose=RESET)
    assert refused.value.reason == CodeNotSent.NO_DESTINATION


def test_the_gateway_contract(sms_gateway, settings):
    send_sms(PHONE, "hello")
    assert sms_gateway.to(PHONE)[0].text == "hello"
    settings.SMS_GATEWAY_KEY = "wrong"
    with pytest.raises(SMSError, match="401"):
        send_sms(PHONE, "hello")
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/messages"  # nothing listens there
    with pytest.raises(SMSError, match="could not be reached"):
        send_sms(PHONE, "hello")


def test_the_file_backend_writes_the_message_and_logs_only_the_masked_number(
    wallet, settings, tmp_path, caplog
):
    settings.SMS_BACKEND = "accounts.sms.FileBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms" / "sms.log"
    caplog.set_level(logging.DEBUG)

    device = send_code(wallet, channel="phone", purpose=RESET)

    [line] = settings.SMS_FILE_PATH.read_text().splitlines()
    written = json.loads(line)
    assert written["to"] == PHONE
    code = code_in(written["text"])
    assert check_code(device, code) is True
    assert "138****8000" in caplog.text
    assert code not in caplog.text
    assert "13800138000" not in caplog.text


def test_no_code_or_full_number_is_logged(wallet, sms_gateway, smtp_server, caplog):
    caplog.set_level(logging.DEBUG)
    by_sms = send_code(wallet, channel="phone", purpose=RESET, client_ip="10.0.0.1")
    by_mail = send_code(wallet, channel="email", purpose=RESET, client_ip="10.0.0.1")
    codes = [code_in(sms_gateway.to(PHONE)[0].text), code_in(mail_text(smtp_server.messages[0]))]
    check_code(by_sms, "000001")
    check_code(by_sms, codes[0])
    check_code(by_mail, codes[1])
    for code in codes:
        assert code not in caplog.text
    assert "13800138000" not in caplog.text
    assert "li.wei@example.com" not in caplog.text


# --- in the background (the self-service reset): the task generates the code -------------


def test_in_the_background_the_code_is_generated_and_sent_by_the_task(
    wallet, sms_gateway, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks() as queued:
        start_reset(PHONE, client_ip="10.0.0.1", language="en")
    # Nothing about the wallet is done until the task runs: no device, no code, no audit.
    assert not CodeDevice.objects.exists()
    assert not AccountEvent.objects.filter(action=AccountEvent.Action.CODE_SENT).exists()
    assert sms_gateway.messages == []

    before = timezone.now()
    [enqueue] = queued
    enqueue()
    device = CodeDevice.objects.get()
    assert device.client_ip == "10.0.0.1"
    # Valid from when the task generated it, not from the request.
    assert device.valid_until >= before + timedelta(seconds=settings.CODE_VALID_SECONDS)
    assert AccountEvent.objects.filter(action=AccountEvent.Action.CODE_SENT).exists()
    assert check_code(device, code_in(sms_gateway.to(PHONE)[0].text)) is True


def test_the_task_takes_the_wallets_quota_but_not_the_addresss_again(wallet, sms_gateway):
    assert send_reset_code.call("phone", PHONE, None, "10.0.0.1", "en") == "sent"
    assert cache.get(codes.account_key(wallet.pk)) == 1
    assert cache.get(codes.address_key("10.0.0.1")) is None  # the request spent it


def test_a_new_code_stops_the_earlier_one(wallet, sms_gateway):
    device = send_code(wallet, channel="phone", purpose=RESET)
    first = code_in(sms_gateway.to(PHONE)[0].text)
    CodeDevice.objects.filter(pk=device.pk).update(last_generated_timestamp=None)
    assert send_reset_code.call("phone", PHONE, None, "", "en") == "sent"
    assert check_code(device, first) is False


def test_a_failed_background_delivery_voids_the_code_and_logs_it_masked(
    wallet, sms_gateway, caplog
):
    sms_gateway.fail_with = 503
    assert send_reset_code.call("phone", PHONE, None, "", "en") == "not sent: delivery_failed"
    device = CodeDevice.objects.get()
    assert device.token is None
    assert device.last_generated_timestamp is None  # the customer may ask again at once
    assert "not delivered: The SMS gateway answered 503." in caplog.text
    assert "138****8000" in caplog.text
    assert "13800138000" not in caplog.text

    sms_gateway.fail_with = None
    assert send_reset_code.call("phone", PHONE, None, "", "en") == "sent"
    assert check_code(device, code_in(sms_gateway.to(PHONE)[0].text)) is True


def test_the_task_sends_nothing_for_a_contact_no_wallet_has(wallet, sms_gateway):
    assert send_reset_code.call("phone", "+8613811118000", None, "", "en") == "no wallet"
    assert not CodeDevice.objects.exists()
    assert sms_gateway.messages == []
