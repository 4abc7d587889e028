"""Security operations on wallets: lock, freeze, unlock, unfreeze, protected changes.

Each is one transaction that locks the wallet row, checks its state, changes it and
writes its AccountEvent; the customer is told after commit (accounts.notify).
Protective changes (lock, freeze) need no verification; lifting them does.
"""

import logging

from django.db import transaction

from ..models import AccountEvent, WalletAccount
from . import record_event, require_permission

logger = logging.getLogger(__name__)


def _notify_after_commit(account: WalletAccount, *, event: str, ticket=None) -> None:
    """Tell the customer once the change is committed. accounts.notify is imported late:
    it sends SMS and email, and a failure there never undoes the change."""

    def send():
        try:
            from ..notify import notify_customer
        except ImportError:  # pragma: no cover - only before accounts.notify exists
            logger.warning("accounts.notify missing; customer not told of %s", event)
            return
        try:
            notify_customer(account, event=event, ticket=ticket)
        except Exception:
            logger.exception("Could not notify the customer of wallet %s (%s)", account.pk, event)

    transaction.on_commit(send)


def _locked_wallet(account: WalletAccount) -> WalletAccount:
    return WalletAccount.objects.select_for_update().select_related("customer").get(pk=account.pk)


def freeze_wallet(
    account: WalletAccount,
    *,
    acting_user=None,
    reason: str,
    ticket=None,
    lock_reason: str = WalletAccount.LockReason.AGENT,
) -> WalletAccount:
    """Freeze a wallet at once: protective, so no verification is needed.

    ``acting_user`` None means the system (a risk rule). Idempotent: freezing a frozen
    wallet changes and records nothing. A closed wallet stays closed.
    """
    if acting_user is not None:
        require_permission(acting_user, "accounts.freeze_walletaccount")
    with transaction.atomic():
        wallet = _locked_wallet(account)
        if wallet.status in (WalletAccount.Status.FROZEN, WalletAccount.Status.CLOSED):
            return wallet
        previous = wallet.status
        wallet.status = WalletAccount.Status.FROZEN
        wallet.lock_reason = lock_reason
        wallet.save(update_fields=["status", "lock_reason", "updated_at"])
        record_event(
            customer=wallet.customer,
            account=wallet,
            ticket=ticket,
            action=AccountEvent.Action.FREEZE,
            acting_user=acting_user,
            reason=reason,
            details={"previous_status": previous, "lock_reason": lock_reason},
        )
        event = "risk_frozen" if lock_reason == WalletAccount.LockReason.RISK else "frozen"
        _notify_after_commit(wallet, event=event, ticket=ticket)
    logger.info("Wallet %s frozen (%s)", wallet.pk, lock_reason)
    return wallet


def lock_wallet(
    account: WalletAccount,
    *,
    reason: str,
    lock_reason: str = WalletAccount.LockReason.WRONG_PASSWORD,
    ticket=None,
) -> WalletAccount:
    """The system locks a wallet (too many wrong payment passwords, a security policy).

    Only an active wallet is locked; a locked, frozen or closed one is left as it is.
    """
    with transaction.atomic():
        wallet = _locked_wallet(account)
        if wallet.status != WalletAccount.Status.ACTIVE:
            return wallet
        wallet.status = WalletAccount.Status.LOCKED
        wallet.lock_reason = lock_reason
        wallet.save(update_fields=["status", "lock_reason", "updated_at"])
        record_event(
            customer=wallet.customer,
            account=wallet,
            ticket=ticket,
            action=AccountEvent.Action.LOCK,
            reason=reason,
            details={
                "lock_reason": lock_reason,
                "failed_password_attempts": wallet.failed_password_attempts,
            },
        )
        event = (
            "locked_wrong_password"
            if lock_reason == WalletAccount.LockReason.WRONG_PASSWORD
            else "locked"
        )
        _notify_after_commit(wallet, event=event, ticket=ticket)
    logger.info("Wallet %s locked (%s)", wallet.pk, lock_reason)
    return wallet
