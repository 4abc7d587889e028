"""Fixtures for tests that send codes or notices: a real SMTP server (aiosmtpd), the local
HTTP SMS gateway, and the hourly sending limits forgotten around each test. Import the
ones a module needs: ``from tests.accounts.codes_fixtures import sms_gateway, smtp_server``.
"""

import re

import pytest
from django.core.cache import cache

from accounts import codes, confirmations
from accounts.actions.self_service import (
    decoy_key,
    second_factor_address_key,
    second_factor_contact_key,
    second_factor_reset_key,
)
from tests.accounts.sms_gateway import API_KEY, running_sms_gateway
from tests.tickets.sources.email.smtp_server import running_smtp_server

TEST_CONTACTS = [
    ("phone", number)
    for number in ("+8613800138000", "+8613811118000", "+8613700137000", "+8613900139000")
] + [("email", address) for address in ("li.wei@example.com", "newli@example.com")]
TEST_ADDRESSES = ("127.0.0.1", "10.0.0.1", "10.0.0.2", "203.0.113.7")
CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture
def sms_gateway(settings):
    with running_sms_gateway() as gateway:
        settings.SMS_BACKEND = "accounts.sms.HTTPBackend"
        settings.SMS_GATEWAY_URL = gateway.url
        settings.SMS_GATEWAY_KEY = API_KEY
        settings.SMS_GATEWAY_TIMEOUT = 5
        yield gateway


@pytest.fixture
def smtp_server(settings):
    with running_smtp_server() as server:
        settings.MAILERS = {"default": server.mailer()}
        yield server


WALLET_IDS = range(1, 3000)


def forget_code_limits(account_ids=()) -> None:
    """Drop the hourly counters, the stand-in codes' wrong tries and the reset's wrong
    second answers (not cache.clear(): CI's cache is a shared Redis). Code devices' primary
    keys follow the wallets' range."""
    budgets = (codes.BY_CUSTOMER, codes.BY_AGENT)
    keys = [codes.account_key(pk, by) for pk in account_ids for by in budgets]
    keys += [codes.address_key(ip, by) for ip in TEST_ADDRESSES for by in budgets]
    keys += [confirmations.lookup_key(ip) for ip in TEST_ADDRESSES]
    keys += [decoy_key(channel, value) for channel, value in TEST_CONTACTS]
    keys += [codes.contact_key(channel, value) for channel, value in TEST_CONTACTS]
    keys += [second_factor_reset_key(pk) for pk in account_ids]
    keys += [second_factor_address_key(ip) for ip in TEST_ADDRESSES]
    keys += [second_factor_contact_key(channel, value) for channel, value in TEST_CONTACTS]
    cache.delete_many(keys)


@pytest.fixture(autouse=True)
def _no_code_limits():
    # The counters are keyed by wallet id and kept in the cache, which under CI is a Redis
    # that outlives each test's rolled-back transaction. SQLite reuses ids between tests,
    # but PostgreSQL's sequences keep growing through a run: forget the counters of the
    # first few thousand wallets before and after each test.
    forget_code_limits(WALLET_IDS)
    yield
    forget_code_limits(WALLET_IDS)


def code_in(text: str) -> str:
    [code] = CODE.findall(text)
    return code


def mail_text(received) -> str:
    mail = received.parsed()
    part = mail.get_body(("plain",)) if mail.is_multipart() else mail
    return part.get_content()
