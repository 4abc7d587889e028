"""Customer notices: SMS and email to the registered contacts after commit, in the
customer's language, audited, without numbers (on a ticket's thread as well:
tests/tickets/test_wallets.py)."""

import logging

import pytest
from django.db import transaction

from accounts.models import AccountEvent
from accounts.notify import notify_customer
from tests.accounts.codes_fixtures import mail_text

PHONE = "+8613800138000"


@pytest.fixture
def wallet(customer):
    return customer.wallets.get()


@pytest.mark.django_db(transaction=True)
def test_a_notice_goes_by_sms_and_email_once_committed(wallet, sms_gateway, smtp_server):
    with transaction.atomic():
        notify_customer(wallet, event="frozen", language="en")
        assert sms_gateway.messages == []  # nothing leaves before the commit
        assert smtp_server.messages == []

    [sms] = sms_gateway.to(PHONE)
    assert "ending in 0001" in sms.text
    assert "frozen" in sms.text
    [received] = smtp_server.messages
    assert received.rcpt_tos == ("li.wei@example.com",)
    assert received.parsed()["Subject"] == "Your wallet has been frozen"
    assert "MW6200000001" not in mail_text(received)
    event = AccountEvent.objects.get(action=AccountEvent.Action.CUSTOMER_NOTIFIED)
    assert event.details["event"] == "frozen"
    assert event.details["sms"] == ["+86 138****8000"]
    assert event.details["email"] == ["li***@example.com"]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_tells_nobody(wallet, sms_gateway, smtp_server):
    with pytest.raises(RuntimeError), transaction.atomic():
        notify_customer(wallet, event="unlocked")
        raise RuntimeError
    assert sms_gateway.messages == []
    assert smtp_server.messages == []
    assert not AccountEvent.objects.filter(action=AccountEvent.Action.CUSTOMER_NOTIFIED).exists()


@pytest.mark.django_db
def test_the_old_contact_is_told_too(
    wallet, sms_gateway, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notify_customer(wallet, event="contact_changed", also_to=["+8613700137000"])
    assert len(sms_gateway.to("+8613700137000")) == 1
    assert len(sms_gateway.to(PHONE)) == 1


@pytest.mark.django_db
def test_chinese_customers_are_told_in_chinese(
    wallet, sms_gateway, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notify_customer(wallet, event="payment_password_reset")  # the customer's language
    assert len(sms_gateway.to(PHONE)) == 1


@pytest.mark.django_db
def test_no_full_number_or_address_is_logged(
    wallet, sms_gateway, smtp_server, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    sms_gateway.fail_with = 503
    with django_capture_on_commit_callbacks(execute=True):
        notify_customer(wallet, event="risk_frozen")
    assert "13800138000" not in caplog.text
    assert "li.wei@example.com" not in caplog.text
    assert "138****8000" in caplog.text  # the failure is logged, masked
