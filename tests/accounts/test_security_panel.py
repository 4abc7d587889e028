"""The ticket page's security panel shows an action as possible exactly when the action
would do it: what it offers, and its ticks, are the action's own preconditions
(accounts.actions.security), so nothing shows as a tick and is then refused."""

from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.actions.security import (
    change_contact_by_agent,
    latest_verification,
    request_national_id_change,
    request_unfreeze,
    unlock_wallet,
)
from accounts.models import ApprovalRequest, Verification, WalletAccount
from accounts.security_selectors import security_panel
from accounts.stepup import SESSION_KEY
from tests.accounts.security_helpers import (
    NEW_ID,
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

NOT_OWN = "Verify the customer's identity yourself on their ticket first."
EXPIRED = "The identity verification has expired; verify again."
STEP_UP = "Enter your authenticator code again"
NOT_ON_TICKET = "Verify the customer's identity on this ticket first."
NOT_STRONG = "This needs a strong identity verification"


@pytest.fixture
def wallet(customer):
    wallet = wallet_with_payment(customer)
    lock(wallet)
    return wallet


@pytest.fixture
def ticket(customer):
    return ticket_for(customer)


def row(ticket, user, stepped_up_at):
    (only,) = security_panel(ticket, user, stepped_up_at=stepped_up_at).wallets
    return only


def refusal(run) -> tuple[type, str] | None:
    try:
        run()
    except (ValidationError, PermissionDenied) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        return type(exc), text
    return None


# Each: who verified (and how), and when the agent last entered their authenticator code.
def colleagues(ticket, wallet, agent, other_agent):
    strong_verification(ticket, wallet, other_agent)


def expired(ticket, wallet, agent, other_agent):
    strong_verification(ticket, wallet, agent)
    Verification.objects.update(expires_at=timezone.now() - timedelta(seconds=1))


def weak(ticket, wallet, agent, other_agent):
    strong_verification(ticket, wallet, agent)
    Verification.objects.update(strength=Verification.Strength.WEAK)


def on_another_ticket(ticket, wallet, agent, other_agent):
    other = open_ticket(customer=ticket.customer, channel="phone", subject="x", acting_user=agent)
    strong_verification(other, wallet, agent)


def nobody(ticket, wallet, agent, other_agent):
    pass


def own(ticket, wallet, agent, other_agent):
    strong_verification(ticket, wallet, agent)


def by_the_app(ticket, wallet, agent, other_agent):
    strong_verification(ticket, wallet, None)


def own_on_an_active_wallet(ticket, wallet, agent, other_agent):
    strong_verification(ticket, wallet, agent)
    WalletAccount.objects.filter(pk=wallet.pk).update(status=WalletAccount.Status.ACTIVE)


NOW, LONG_AGO, NEVER = 0, 6, None

CASES = [
    (colleagues, NOW, NOT_OWN),
    (expired, NOW, EXPIRED),
    (own, NEVER, STEP_UP),
    (own, LONG_AGO, STEP_UP),
    (weak, NOW, NOT_STRONG),
    (on_another_ticket, NOW, NOT_ON_TICKET),
    (nobody, NOW, NOT_ON_TICKET),
    (own_on_an_active_wallet, NOW, "This wallet is not locked"),
    (own, NOW, None),
]


@pytest.mark.parametrize(("verified", "minutes_ago", "refused_with"), CASES)
def test_the_panel_offers_unlock_exactly_when_unlock_wallet_does_it(
    verified, minutes_ago, refused_with, agent, other_agent, ticket, wallet
):
    verified(ticket, wallet, agent, other_agent)
    wallet = WalletAccount.objects.get(pk=wallet.pk)
    before = wallet.status
    stepped_up_at = None if minutes_ago is None else timezone.now() - timedelta(minutes=minutes_ago)
    shown = row(ticket, agent, stepped_up_at).unlock

    result = refusal(
        lambda: unlock_wallet(
            wallet,
            acting_user=agent,
            verification=latest_verification(ticket, wallet),
            ticket=ticket,
            stepped_up_at=stepped_up_at,
        )
    )

    assert shown.met == (result is None) == (refused_with is None)
    if refused_with is not None:
        # The action refuses with the first thing the panel shows as unmet, word for word.
        assert result == (ValidationError, shown.unmet.reason)
        assert refused_with in shown.unmet.reason
        wallet.refresh_from_db()
        assert wallet.status == before


def test_a_colleagues_verification_is_shown_unmet_with_the_reason_and_refused(
    agent, other_agent, agent_client, ticket, wallet
):
    strong_verification(ticket, wallet, other_agent)
    session = agent_client.session
    session[SESSION_KEY] = timezone.now().isoformat()
    session.save()
    page = unescape(agent_client.get(ticket_url(ticket)).content.decode())
    assert "✓ strong verification on this ticket" in page
    assert "✓ your authenticator code, just now" in page
    assert f'✗ verified by you <span class="mw-sec-why">{NOT_OWN}</span>' in page
    assert 'value="Unlock wallet" disabled' in page

    response = agent_client.post(
        security_url(ticket, "unlock"), {"account": wallet.pk}, follow=True
    )
    assert NOT_OWN in page_messages(response)
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.LOCKED


def test_missing_step_up_is_shown_unmet_and_the_button_is_off(agent, agent_client, ticket, wallet):
    strong_verification(ticket, wallet, agent)
    page = unescape(agent_client.get(ticket_url(ticket)).content.decode())
    assert "✓ verified by you" in page
    assert "✗ your authenticator code, just now" in page
    assert 'value="Unlock wallet" disabled' in page


def test_with_everything_met_the_panel_offers_unlock_and_it_succeeds(
    agent, agent_client, ticket, wallet, django_capture_on_commit_callbacks
):
    strong_verification(ticket, wallet, agent)
    session = agent_client.session
    session[SESSION_KEY] = timezone.now().isoformat()
    session.save()
    page = unescape(agent_client.get(ticket_url(ticket)).content.decode())
    for step in ("strong verification on this ticket", "your authenticator code", "verified by"):
        assert f"✓ {step}" in page
    assert "✗" not in page
    assert 'value="Unlock wallet">' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            security_url(ticket, "unlock"), {"account": wallet.pk}, follow=True
        )
    assert "Wallet MW6200000001 unlocked; the customer is told." in page_messages(response)
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.ACTIVE


def test_without_the_unlock_permission_no_unlock_or_contact_change_is_offered(
    django_user_model, ticket, wallet
):
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.set(
        Permission.objects.filter(codename__in=["view_ticket", "change_ticket"])
    )
    TOTPDevice.objects.create(user=clerk, name="app", confirmed=True)
    clerk = django_user_model.objects.get(pk=clerk.pk)
    strong_verification(ticket, wallet, clerk)
    shown = row(ticket, clerk, timezone.now())
    assert not shown.unlock.offered
    assert not shown.contact_change.offered
    # Nor the national ID change: the clerk may not look at wallets.
    assert not shown.national_id_change.offered
    with pytest.raises(PermissionDenied):
        change_contact_by_agent(
            ticket,
            wallet,
            acting_user=clerk,
            kind="phone",
            new_value="+8613700137000",
            verification=latest_verification(ticket, wallet),
            reason="lost",
        )
    page = verified_client(clerk).get(ticket_url(ticket)).content.decode()
    for step in ("unlock", "contact-confirm", "contact-change", "national-id"):
        assert security_url(ticket, step) not in page


@pytest.mark.parametrize("verified", [nobody, weak, expired, colleagues, own, by_the_app])
def test_the_national_id_change_is_possible_exactly_when_the_action_files_it(
    verified, agent, other_agent, ticket, wallet
):
    verified(ticket, wallet, agent, other_agent)
    shown = row(ticket, agent, None).national_id_change
    assert shown.offered
    result = refusal(
        lambda: request_national_id_change(
            ticket,
            wallet,
            acting_user=agent,
            verification=latest_verification(ticket, wallet),
            new_id=NEW_ID,
            reason="new card",
        )
    )
    # The agent's own or the app's: a colleague's check is not passed on.
    assert shown.met == (result is None) == (verified in (own, by_the_app))
    if result is not None:
        assert result == (ValidationError, shown.unmet.reason)


def test_an_unfreeze_request_is_offered_for_a_frozen_wallet_only(agent, ticket, wallet):
    verification = strong_verification(ticket, wallet, agent)
    assert not row(ticket, agent, None).unfreeze_request.offered
    with pytest.raises(ValidationError, match="not frozen"):
        request_unfreeze(
            wallet, acting_user=agent, reason="ok", ticket=ticket, verification=verification
        )
    WalletAccount.objects.filter(pk=wallet.pk).update(status=WalletAccount.Status.FROZEN)
    assert row(ticket, agent, None).unfreeze_request.offered
    request_unfreeze(
        wallet, acting_user=agent, reason="ok", ticket=ticket, verification=verification
    )


@pytest.mark.parametrize("verified", [nobody, weak, expired, colleagues, own, by_the_app])
def test_an_unfreeze_request_is_possible_exactly_when_the_action_files_it(
    verified, agent, other_agent, ticket, wallet
):
    WalletAccount.objects.filter(pk=wallet.pk).update(status=WalletAccount.Status.FROZEN)
    verified(ticket, wallet, agent, other_agent)
    shown = row(ticket, agent, None).unfreeze_request
    assert shown.offered
    result = refusal(
        lambda: request_unfreeze(
            wallet,
            acting_user=agent,
            reason="customer called",
            ticket=ticket,
            verification=latest_verification(ticket, wallet),
        )
    )
    assert shown.met == (result is None) == (verified in (own, by_the_app))
    if result is not None:
        assert result == (ValidationError, shown.unmet.reason)
        assert not ApprovalRequest.objects.exists()


@pytest.mark.parametrize("verified", [nobody, colleagues, own, by_the_app])
def test_the_contact_change_ticks_who_verified_as_the_action_checks_it(
    verified, agent, other_agent, ticket, wallet
):
    verified(ticket, wallet, agent, other_agent)
    shown = row(ticket, agent, None).contact_change
    result = refusal(
        lambda: change_contact_by_agent(
            ticket,
            wallet,
            acting_user=agent,
            kind="email",
            new_value="new.li@example.com",
            verification=latest_verification(ticket, wallet),
            reason="lost",
        )
    )
    # Who verified is the panel's tick; the new contact's confirmation is still missing.
    assert shown.met == (verified in (own, by_the_app))
    if not shown.met:
        assert result == (ValidationError, shown.unmet.reason)
    else:
        assert "not confirmed the new contact" in result[1]


def test_freeze_is_offered_where_it_changes_something(agent, ticket, wallet):
    assert row(ticket, agent, None).freeze_offered  # locked
    WalletAccount.objects.filter(pk=wallet.pk).update(status=WalletAccount.Status.FROZEN)
    assert not row(ticket, agent, None).freeze_offered
