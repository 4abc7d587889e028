"""Freeze and lock: protective, immediate, audited, idempotent."""

import pytest
from django.core.exceptions import PermissionDenied

from accounts.actions.security import freeze_wallet, lock_wallet
from accounts.models import AccountEvent, WalletAccount


@pytest.fixture
def wallet(customer):
    return customer.wallets.get()


def test_an_agent_freezes_a_wallet_at_once(wallet, agent):
    freeze_wallet(wallet, acting_user=agent, reason="Customer reports a stolen phone")
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.FROZEN
    assert wallet.lock_reason == WalletAccount.LockReason.AGENT
    event = AccountEvent.objects.get(action=AccountEvent.Action.FREEZE)
    assert event.actor == agent
    assert event.actor_kind == AccountEvent.ActorKind.AGENT
    assert event.reason == "Customer reports a stolen phone"


def test_a_risk_rule_freezes_as_the_system(wallet):
    freeze_wallet(wallet, reason="large payment", lock_reason=WalletAccount.LockReason.RISK)
    event = AccountEvent.objects.get(action=AccountEvent.Action.FREEZE)
    assert event.actor is None
    assert event.actor_kind == AccountEvent.ActorKind.SYSTEM
    wallet.refresh_from_db()
    assert wallet.lock_reason == WalletAccount.LockReason.RISK


def test_freezing_a_frozen_wallet_changes_nothing(wallet, agent):
    freeze_wallet(wallet, acting_user=agent, reason="first")
    freeze_wallet(wallet, acting_user=agent, reason="second")
    assert AccountEvent.objects.filter(action=AccountEvent.Action.FREEZE).count() == 1


def test_freezing_needs_the_freeze_permission(wallet, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    with pytest.raises(PermissionDenied):
        freeze_wallet(wallet, acting_user=clerk, reason="no")
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.ACTIVE


def test_the_system_locks_an_active_wallet_only(wallet):
    lock_wallet(wallet, reason="5 wrong payment passwords")
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.LOCKED
    assert wallet.lock_reason == WalletAccount.LockReason.WRONG_PASSWORD
    lock_wallet(wallet, reason="again")
    assert AccountEvent.objects.filter(action=AccountEvent.Action.LOCK).count() == 1


def test_a_frozen_wallet_is_not_downgraded_to_locked(wallet, agent):
    freeze_wallet(wallet, acting_user=agent, reason="fraud")
    lock_wallet(wallet, reason="wrong passwords")
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.FROZEN
