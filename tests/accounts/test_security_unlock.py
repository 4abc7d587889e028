"""Unlock through the ticket page over HTTP: the unlock permission, a valid strong
verification of this customer on this ticket, and the agent's own authenticator code
entered again within five minutes; anything less is refused and nothing changes."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.actions.security import unlock_wallet, verify_identity
from accounts.models import AccountEvent, Verification, WalletAccount
from accounts.stepup import SESSION_KEY
from tests.accounts.security_helpers import (
    PHONE,
    authenticator_code,
    last_sms_link,
    lock,
    page_messages,
    security_url,
    strong_verification,
    ticket_for,
    ticket_url,
    wallet_with_payment,
)
from tests.conftest import verified_client
from tickets.actions import open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallet(customer):
    wallet = wallet_with_payment(customer)
    lock(wallet)
    return wallet


@pytest.fixture
def ticket(customer):
    return ticket_for(customer)


def verify_strongly(client, ticket, wallet, gateway):
    """The agent sends a confirmation link from the panel; the customer opens it on their
    phone and says yes; the panel shows it. Returns the link's token."""
    response = client.post(
        security_url(ticket, "confirm"), {"account": wallet.pk, "channel": "phone"}, follow=True
    )
    assert "Confirmation link sent to +86 138****8000" in " ".join(page_messages(response))
    assert "Waiting for the customer to confirm on their phone" in page_text(client, ticket)
    token = last_sms_link(gateway)
    phone = Client(enforce_csrf_checks=True)
    url = reverse("account_confirm", args=[token])
    form = phone.get(url)
    response = phone.post(url, {"answer": "yes", "csrfmiddlewaretoken": csrf_token(form)})
    assert "you have confirmed that it is you" in response.content.decode()
    assert "confirmed by the customer" in page_text(client, ticket)
    return token


def page_text(client, ticket) -> str:
    return unescape(client.get(ticket_url(ticket)).content.decode())


def csrf_token(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())[1]


def post_unlock(client, ticket, wallet):
    return client.post(
        security_url(ticket, "unlock"), {"account": wallet.pk, "reason": "called in"}, follow=True
    )


def test_an_agent_unlocks_a_wallet_from_the_ticket_page(
    agent, agent_client, ticket, wallet, sms_gateway, django_capture_on_commit_callbacks
):
    token = verify_strongly(agent_client, ticket, wallet, sms_gateway)
    response = agent_client.post(
        security_url(ticket, "step-up"), {"token": authenticator_code(agent)}, follow=True
    )
    assert "Authenticator code confirmed." in page_messages(response)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_unlock(agent_client, ticket, wallet)
    assert response.status_code == 200
    assert "unlocked" in " ".join(page_messages(response))
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.ACTIVE
    assert wallet.lock_reason == ""
    assert wallet.failed_password_attempts == 0

    event = AccountEvent.objects.get(action=AccountEvent.Action.UNLOCK)
    verification = Verification.objects.get()
    assert event.actor == agent
    assert event.ticket == ticket
    assert event.verification["id"] == verification.pk
    assert event.verification["strength"] == "strong"
    assert event.details["failed_password_attempts"] == 5
    # The customer is told on the ticket and by SMS to the registered phone.
    assert ticket.messages.filter(metadata__system=True).exists()
    notices = [sms.text for sms in sms_gateway.to(PHONE)][1:]
    assert notices and all(token not in text for text in notices)
    # The page shows the wallet active again, and never the customer's link.
    page = agent_client.get(ticket_url(ticket)).content.decode()
    assert token not in page
    assert 'id="security"' in page


def test_unlock_is_refused_without_step_up(agent_client, ticket, wallet, sms_gateway):
    verify_strongly(agent_client, ticket, wallet, sms_gateway)
    response = post_unlock(agent_client, ticket, wallet)
    assert "Enter your authenticator code again" in " ".join(page_messages(response))
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.LOCKED
    assert not AccountEvent.objects.filter(action=AccountEvent.Action.UNLOCK).exists()


def test_a_step_up_older_than_five_minutes_does_not_count(
    agent, agent_client, ticket, wallet, sms_gateway
):
    verify_strongly(agent_client, ticket, wallet, sms_gateway)
    session = agent_client.session
    session[SESSION_KEY] = (timezone.now() - timedelta(minutes=6)).isoformat()
    session.save()
    post_unlock(agent_client, ticket, wallet)
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.LOCKED


def test_a_wrong_authenticator_code_is_no_step_up(agent, agent_client, ticket, wallet):
    right = authenticator_code(agent)
    wrong = "000000" if right != "000000" else "111111"
    response = agent_client.post(security_url(ticket, "step-up"), {"token": wrong}, follow=True)
    assert "That authenticator code is not valid." in page_messages(response)
    assert SESSION_KEY not in agent_client.session


def test_unlock_is_refused_with_a_weak_verification(agent, agent_client, ticket, wallet):
    agent_client.post(
        security_url(ticket, "verify"),
        {"account": wallet.pk, "phone": PHONE, "email": "li.wei@example.com"},
    )
    assert Verification.objects.get().strength == Verification.Strength.WEAK
    agent_client.post(security_url(ticket, "step-up"), {"token": authenticator_code(agent)})
    response = post_unlock(agent_client, ticket, wallet)
    assert "strong identity verification" in " ".join(page_messages(response))
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.LOCKED


def test_unlock_is_refused_with_a_verification_on_another_ticket(
    agent, agent_client, customer, ticket, wallet, sms_gateway
):
    verify_strongly(agent_client, ticket, wallet, sms_gateway)
    other_ticket = open_ticket(
        customer=customer, channel="phone", subject="Hotline", acting_user=agent
    )
    agent_client.post(security_url(ticket, "step-up"), {"token": authenticator_code(agent)})
    response = post_unlock(agent_client, other_ticket, wallet)
    assert "Verify the customer's identity on this ticket first." in page_messages(response)
    # And the action itself, given the other ticket's verification, says why.
    with pytest.raises(ValidationError, match="another ticket"):
        unlock_wallet(
            wallet,
            acting_user=agent,
            verification=Verification.objects.get(),
            ticket=other_ticket,
            stepped_up_at=timezone.now(),
        )
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.LOCKED


def test_unlock_is_refused_once_the_verification_expired(
    agent, agent_client, ticket, wallet, sms_gateway
):
    verify_strongly(agent_client, ticket, wallet, sms_gateway)
    Verification.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    agent_client.post(security_url(ticket, "step-up"), {"token": authenticator_code(agent)})
    response = post_unlock(agent_client, ticket, wallet)
    assert "expired" in " ".join(page_messages(response))
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.LOCKED


def test_a_failed_verification_after_a_strong_one_takes_its_place(
    agent, agent_client, ticket, wallet, sms_gateway
):
    verify_strongly(agent_client, ticket, wallet, sms_gateway)
    agent_client.post(
        security_url(ticket, "verify"), {"account": wallet.pk, "phone": "13900000000"}
    )
    agent_client.post(security_url(ticket, "step-up"), {"token": authenticator_code(agent)})
    post_unlock(agent_client, ticket, wallet)
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.LOCKED


def test_unlock_needs_the_unlock_permission(django_user_model, customer, ticket, wallet):
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_ticket", "change_ticket", "view_walletaccount", "add_message"]
        )
    )
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=clerk, name="app", confirmed=True)
    verification = verify_identity(ticket, wallet, acting_user=clerk, answers={"phone": PHONE})
    with pytest.raises(PermissionDenied):
        unlock_wallet(
            wallet,
            acting_user=clerk,
            verification=verification,
            ticket=ticket,
            stepped_up_at=timezone.now(),
        )
    # Over HTTP: no unlock form on the page, and the URL refuses.
    client = verified_client(clerk)
    page = client.get(ticket_url(ticket)).content.decode()
    assert security_url(ticket, "unlock") not in page
    response = client.post(security_url(ticket, "unlock"), {"account": wallet.pk}, follow=True)
    assert "You do not have permission to do this." in page_messages(response)
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.LOCKED


def test_an_active_wallet_is_not_unlocked_twice(agent, customer):
    wallet = customer.wallets.get()
    ticket = ticket_for(customer)
    verification = strong_verification(ticket, wallet, agent)
    with pytest.raises(ValidationError, match="not locked"):
        unlock_wallet(
            wallet,
            acting_user=agent,
            verification=verification,
            ticket=ticket,
            stepped_up_at=timezone.now(),
        )


def test_the_wallet_admin_action_unlocks_with_the_tickets_verification(
    agent, agent_client, ticket, wallet, sms_gateway
):
    verify_strongly(agent_client, ticket, wallet, sms_gateway)
    changelist = reverse("admin:accounts_walletaccount_changelist")
    action = {"action": "unlock_selected", "_selected_action": [wallet.pk], "reason": "ok"}
    response = agent_client.post(changelist, action, follow=True)
    assert "Enter your authenticator code again" in " ".join(page_messages(response))
    agent_client.post(security_url(ticket, "step-up"), {"token": authenticator_code(agent)})
    response = agent_client.post(changelist, action, follow=True)
    assert "1 wallet(s) unlocked." in page_messages(response)
    event = AccountEvent.objects.get(action=AccountEvent.Action.UNLOCK)
    assert event.ticket == ticket


def test_an_agent_cannot_unlock_on_a_colleagues_verification_of_the_same_ticket(
    agent, other_agent, ticket, wallet
):
    verification = strong_verification(ticket, wallet, other_agent)
    with pytest.raises(ValidationError, match="yourself"):
        unlock_wallet(
            wallet,
            acting_user=agent,
            verification=verification,
            ticket=ticket,
            stepped_up_at=timezone.now(),
        )
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.LOCKED


def test_the_wallet_admin_action_does_not_unlock_on_another_agents_verification(
    agent, other_agent, ticket, wallet
):
    strong_verification(ticket, wallet, other_agent)
    client = verified_client(agent)
    session = client.session
    session[SESSION_KEY] = timezone.now().isoformat()
    session.save()
    changelist = reverse("admin:accounts_walletaccount_changelist")
    action = {"action": "unlock_selected", "_selected_action": [wallet.pk], "reason": "ok"}
    response = client.post(changelist, action, follow=True)
    assert "Verify the customer's identity yourself" in " ".join(page_messages(response))
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.LOCKED
    assert not AccountEvent.objects.filter(action=AccountEvent.Action.UNLOCK).exists()


def test_the_security_panel_shows_status_verification_and_time_left(
    agent_client, ticket, wallet, sms_gateway
):
    verify_strongly(agent_client, ticket, wallet, sms_gateway)
    page = agent_client.get(ticket_url(ticket)).content.decode()
    assert "Too many wrong payment passwords" in page
    assert "confirmed on the registered phone" in page
    assert "valid 30 more minutes" in page
    assert "13800138000" not in page
    for step in ("confirm", "verify", "step-up", "unlock", "freeze"):
        assert security_url(ticket, step) in page
    assert page.count("csrfmiddlewaretoken") >= 6


def test_the_security_urls_need_csrf(agent, ticket, wallet):
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = agent.totpdevice_set.get().persistent_id
    session.save()
    response = client.post(security_url(ticket, "freeze"), {"account": wallet.pk, "reason": "x"})
    assert response.status_code == 403
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.LOCKED
