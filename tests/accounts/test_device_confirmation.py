"""Confirm on the customer's own device (issue 11): the agent sends the registered phone or
email a single-use link naming the ticket and the agent; the customer answers yes or no on
the confirm page. No code passes through a person. Through the real SMS gateway and SMTP
server, the real confirm page, and the agents' budget kept apart from the customers'."""

import logging
import re
from datetime import timedelta
from html import unescape

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import codes
from accounts.actions.confirmation import answer_confirmation, confirm_on_device
from accounts.actions.security import latest_verification, request_national_id_change
from accounts.actions.self_service import start_reset
from accounts.codes import CodeNotSent
from accounts.confirmations import LookupsExhausted, pending_confirmation, token_digest
from accounts.models import AccountEvent, DeviceConfirmation, Verification
from accounts.security_selectors import security_panel
from tests.accounts.security_helpers import (
    EMAIL,
    NEW_ID,
    PHONE,
    answer,
    last_mail_link,
    last_sms_link,
    ticket_for,
    ticket_url,
    wallet_with_payment,
)

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https://support\.example\.test/account/confirm/[-\w]+/")


@pytest.fixture
def wallet(customer):
    return wallet_with_payment(customer)


@pytest.fixture
def ticket(customer):
    return ticket_for(customer)


@pytest.fixture
def named_agent(agent):
    agent.first_name, agent.last_name = "Fang", "Wang"
    agent.save()
    return agent


def confirm_url(token: str) -> str:
    return reverse("account_confirm", args=[token])


def csrf_token(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())[1]


def test_the_link_goes_to_the_registered_phone_naming_the_ticket_and_the_agent(
    customer, wallet, ticket, named_agent, sms_gateway
):
    customer.language = "en"
    customer.save()
    confirmation = confirm_on_device(ticket, wallet, acting_user=named_agent, channel="phone")
    [sms] = sms_gateway.to(PHONE)
    assert f"Confirm that you are talking to MY Wallet support about {ticket.reference}" in (
        sms.text
    )
    assert "Fang Wang" in sms.text
    assert LINK.search(sms.text)
    # Only a digest of the token is kept; the audit names the masked destination.
    token = last_sms_link(sms_gateway)
    stored = str(DeviceConfirmation.objects.values().get())
    assert token not in stored
    assert confirmation.token_digest == token_digest(token)
    event = AccountEvent.objects.get(action=AccountEvent.Action.CODE_SENT)
    assert (event.ticket, event.actor) == (ticket, named_agent)
    assert event.details["destination"] == "+86 138****8000"
    assert event.details["purpose"] == "device_confirmation_verification"


def test_yes_is_a_strong_verification_for_that_agent_on_that_ticket(
    wallet, ticket, agent, sms_gateway
):
    confirm_on_device(ticket, wallet, acting_user=agent, channel="phone")
    confirmation = answer(last_sms_link(sms_gateway))
    verification = confirmation.verification
    assert confirmation.status == DeviceConfirmation.Status.CONFIRMED
    assert verification.strength == Verification.Strength.STRONG
    assert (verification.agent, verification.ticket, verification.account) == (
        agent,
        ticket,
        wallet,
    )
    assert verification.checks_passed == ["device_confirmation_sms"]
    assert latest_verification(ticket, wallet) == verification
    event = AccountEvent.objects.get(action=AccountEvent.Action.IDENTITY_VERIFIED)
    assert event.ticket == ticket
    assert event.details["answer"] == "yes"
    assert event.verification["id"] == verification.pk


def test_the_link_can_go_by_email_through_the_smtp_server(wallet, ticket, agent, smtp_server):
    confirm_on_device(ticket, wallet, acting_user=agent, channel="email")
    verification = answer(last_mail_link(smtp_server, EMAIL)).verification
    assert verification.checks_passed == ["device_confirmation_email"]
    assert verification.strength == Verification.Strength.STRONG


def test_no_is_recorded_warns_the_ticket_and_cancels_what_was_verified_before(
    wallet, ticket, agent, agent_client, sms_gateway
):
    confirm_on_device(ticket, wallet, acting_user=agent, channel="phone")
    answer(last_sms_link(sms_gateway))
    confirm_on_device(ticket, wallet, acting_user=agent, channel="phone")
    confirmation = answer(last_sms_link(sms_gateway), confirmed=False)
    assert confirmation.status == DeviceConfirmation.Status.DECLINED
    declined = AccountEvent.objects.get(action=AccountEvent.Action.VERIFICATION_FAILED)
    assert (declined.ticket, declined.details["answer"]) == (ticket, "no")
    # The owner has just said they are not the caller: nothing rests on the earlier yes.
    verification = latest_verification(ticket, wallet)
    assert verification.strength == Verification.Strength.NONE
    with pytest.raises(ValidationError, match="strong"):
        request_national_id_change(
            ticket, wallet, acting_user=agent, verification=verification, new_id=NEW_ID, reason="x"
        )
    page = unescape(agent_client.get(ticket_url(ticket)).content.decode())
    assert "the customer declined" in page
    assert "Security warning: the customer said on their own device" in page


def test_a_link_answers_once(wallet, ticket, agent, sms_gateway):
    confirm_on_device(ticket, wallet, acting_user=agent, channel="phone")
    token = last_sms_link(sms_gateway)
    confirmation = pending_confirmation(token, client_ip=None)
    answer_confirmation(confirmation, confirmed=True)
    assert pending_confirmation(token, client_ip=None) is None
    with pytest.raises(ValidationError, match="already been used"):
        answer_confirmation(confirmation, confirmed=False)
    assert Verification.objects.count() == 1


def test_an_expired_link_is_refused_and_the_panel_says_so(
    wallet, ticket, agent, agent_client, sms_gateway
):
    confirm_on_device(ticket, wallet, acting_user=agent, channel="phone")
    page = unescape(agent_client.get(ticket_url(ticket)).content.decode())
    assert "Waiting for the customer to confirm on their phone" in page
    DeviceConfirmation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().get(confirm_url(last_sms_link(sms_gateway)))
    assert response.status_code == 404
    assert "already been used or has expired" in response.content.decode()
    assert not Verification.objects.exists()
    page = unescape(agent_client.get(ticket_url(ticket)).content.decode())
    assert "expired without an answer" in page


def test_the_confirm_page_shows_the_ticket_and_the_agent_and_needs_csrf(
    wallet, ticket, named_agent, sms_gateway
):
    confirm_on_device(ticket, wallet, acting_user=named_agent, channel="phone")
    url = confirm_url(last_sms_link(sms_gateway))
    phone = Client(enforce_csrf_checks=True)
    page = phone.get(url)
    text = unescape(page.content.decode())
    assert ticket.reference in text and "Fang Wang" in text
    assert "Yes, this is me" in text and "No, I did not ask for this" in text
    assert page["Cache-Control"].startswith("max-age=0")
    assert phone.post(url, {"answer": "yes"}).status_code == 403  # no CSRF token
    response = phone.post(url, {"answer": "no", "csrfmiddlewaretoken": csrf_token(page)})
    assert "we have told our support team" in response.content.decode()
    assert DeviceConfirmation.objects.get().status == DeviceConfirmation.Status.DECLINED


def test_the_confirm_page_speaks_chinese(wallet, ticket, agent, sms_gateway):
    confirm_on_device(ticket, wallet, acting_user=agent, channel="phone")
    page = Client(headers={"accept-language": "zh-hans"}).get(
        confirm_url(last_sms_link(sms_gateway))
    )
    text = page.content.decode()
    assert "是我本人" in text and ticket.reference in text


def test_an_answer_that_is_neither_changes_nothing(wallet, ticket, agent, sms_gateway):
    confirm_on_device(ticket, wallet, acting_user=agent, channel="phone")
    response = Client().post(confirm_url(last_sms_link(sms_gateway)), {"answer": "maybe"})
    assert "Choose one of the two answers." in response.content.decode()
    assert DeviceConfirmation.objects.get().status == DeviceConfirmation.Status.PENDING


def test_links_that_lead_nowhere_are_limited_per_address(settings, wallet, ticket, agent):
    settings.CONFIRMATION_LOOKUPS_PER_ADDRESS_HOUR = 2
    client = Client(REMOTE_ADDR="203.0.113.7")
    statuses = [client.get(confirm_url(f"guess{n}")).status_code for n in range(3)]
    assert statuses == [404, 404, 429]
    with pytest.raises(LookupsExhausted):
        pending_confirmation("another-guess", client_ip="203.0.113.7")


def test_a_body_over_the_limit_is_refused_before_it_is_read(wallet, ticket, agent, sms_gateway):
    confirm_on_device(ticket, wallet, acting_user=agent, channel="phone")
    response = Client().post(
        confirm_url(last_sms_link(sms_gateway)),
        data="answer=yes&" + "x" * 5000,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert DeviceConfirmation.objects.get().status == DeviceConfirmation.Status.PENDING


def test_another_customers_wallet_or_a_missing_contact_is_refused(
    wallet, ticket, agent, other_customer, sms_gateway
):
    with pytest.raises(ValidationError, match="does not belong"):
        confirm_on_device(ticket, other_customer.wallets.get(), acting_user=agent, channel="phone")
    wallet.registered_email = ""
    wallet.save()
    with pytest.raises(ValidationError, match="no registered contact"):
        confirm_on_device(ticket, wallet, acting_user=agent, channel="email")
    assert sms_gateway.messages == []
    assert not DeviceConfirmation.objects.exists()


def test_without_a_customer_site_no_link_is_sent(settings, wallet, ticket, agent, sms_gateway):
    settings.CUSTOMER_SITE_URL = ""
    with pytest.raises(CodeNotSent, match="CUSTOMER_SITE_URL"):
        confirm_on_device(ticket, wallet, acting_user=agent, channel="phone")
    assert sms_gateway.messages == []


def test_a_link_that_cannot_be_delivered_is_marked_so(wallet, ticket, agent, sms_gateway):
    sms_gateway.fail_with = 503
    with pytest.raises(CodeNotSent, match="could not send the confirmation"):
        confirm_on_device(ticket, wallet, acting_user=agent, channel="phone")
    assert DeviceConfirmation.objects.get().status == DeviceConfirmation.Status.UNDELIVERED


def test_no_token_or_full_number_reaches_the_logs(wallet, ticket, agent, sms_gateway, caplog):
    caplog.set_level(logging.DEBUG)
    confirm_on_device(ticket, wallet, acting_user=agent, channel="phone")
    token = last_sms_link(sms_gateway)
    Client().post(confirm_url(token), {"answer": "yes"})
    assert caplog.records
    for record in caplog.records:
        line = record.getMessage()
        assert token not in line
        assert "13800138000" not in line


# --- budgets --------------------------------------------------------------------------------


def test_anonymous_resets_cannot_use_up_what_the_agent_needs(
    settings, wallet, ticket, agent, sms_gateway, caplog, django_capture_on_commit_callbacks
):
    settings.CODE_RESEND_SECONDS = 0  # each request a new code, so each spends the budget
    settings.CODE_LIMIT_PER_CONTACT_HOUR = 100  # the wallet's limit is the one tested here
    caplog.set_level(logging.INFO)
    for n in range(settings.CODE_LIMIT_PER_ACCOUNT_HOUR + 1):
        with django_capture_on_commit_callbacks(execute=True):
            start_reset(PHONE, client_ip=f"10.0.0.{n % 2 + 1}")
    assert "not sent: account_limit" in caplog.text
    assert len(sms_gateway.to(PHONE)) == settings.CODE_LIMIT_PER_ACCOUNT_HOUR
    # The customers' budget is spent; the agent's confirmation still goes out.
    confirm_on_device(ticket, wallet, acting_user=agent, channel="phone")
    assert LINK.search(sms_gateway.to(PHONE)[-1].text)


def test_the_agents_budget_has_its_own_limit(
    settings, wallet, ticket, agent, sms_gateway, django_capture_on_commit_callbacks
):
    settings.CODE_AGENT_LIMIT_PER_ACCOUNT_HOUR = 2
    for _attempt in range(2):
        confirm_on_device(ticket, wallet, acting_user=agent, channel="phone")
    with pytest.raises(CodeNotSent, match="Too many"):
        confirm_on_device(ticket, wallet, acting_user=agent, channel="phone")
    assert len(sms_gateway.to(PHONE)) == 2
    # ...and it is not the customers': a reset code still goes out.
    assert cache.get(codes.account_key(wallet.pk, codes.BY_CUSTOMER)) is None
    with django_capture_on_commit_callbacks(execute=True):
        start_reset(PHONE, client_ip="10.0.0.1")
    assert len(sms_gateway.to(PHONE)) == 3


def test_the_panel_reads_the_links_in_one_query_however_many(
    wallet, ticket, agent, sms_gateway, django_assert_num_queries
):
    def panel_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            (row,) = security_panel(ticket, agent, stepped_up_at=None).wallets
            [(c.status, c.expired) for c in row.confirmations]
        return len(queries)

    confirm_on_device(ticket, wallet, acting_user=agent, channel="phone")
    with_one = panel_queries()
    for channel in ("email", "phone", "email"):
        confirm_on_device(ticket, wallet, acting_user=agent, channel=channel)
    with django_assert_num_queries(with_one):
        (row,) = security_panel(ticket, agent, stepped_up_at=None).wallets
    # The latest link of each purpose: the agent sees where the customer is now.
    assert [c.channel for c in row.confirmations] == ["email"]
