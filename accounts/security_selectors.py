"""What the ticket page's security panel shows for each of the customer's wallets."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .actions.security import can_decide
from .models import ApprovalRequest, CodeDevice, Verification, WalletAccount
from .verification import check_label


@dataclass
class WalletSecurity:
    wallet: WalletAccount
    verification: Verification | None
    verification_valid: bool
    verification_minutes_left: int
    pending: list = field(default_factory=list)
    waiting_codes: list = field(default_factory=list)

    @property
    def passed(self) -> list[str]:
        return (
            [check_label(c) for c in self.verification.checks_passed] if self.verification else []
        )

    @property
    def failed(self) -> list[str]:
        return (
            [check_label(c) for c in self.verification.checks_failed] if self.verification else []
        )


@dataclass
class SecurityPanel:
    wallets: list[WalletSecurity]
    step_up_valid_until: datetime | None
    can_unlock: bool
    can_freeze: bool
    can_change_contact: bool


def security_panel(ticket, user, *, stepped_up_at: datetime | None) -> SecurityPanel:
    now = timezone.now()
    wallets = list(ticket.customer.wallets.order_by("number"))
    ids = [w.pk for w in wallets]
    latest: dict[int, Verification] = {}
    for verification in Verification.objects.filter(ticket=ticket, account_id__in=ids).order_by(
        "created_at", "pk"
    ):
        latest[verification.account_id] = verification
    pending: dict[int, list] = {}
    for request in ApprovalRequest.objects.filter(
        account_id__in=ids, status=ApprovalRequest.Status.PENDING
    ).select_related("requested_by"):
        request.user_can_decide = can_decide(request, user)
        pending.setdefault(request.account_id, []).append(request)
    codes: dict[int, list] = {}
    for device in (
        CodeDevice.objects.filter(
            account_id__in=ids, ticket=ticket, used_at__isnull=True, valid_until__gt=now
        )
        .exclude(token__isnull=True)
        .order_by("-pk")
    ):
        codes.setdefault(device.account_id, []).append(device)
    rows = []
    for wallet in wallets:
        verification = latest.get(wallet.pk)
        left = (verification.expires_at - now).total_seconds() if verification else 0
        rows.append(
            WalletSecurity(
                wallet=wallet,
                verification=verification,
                verification_valid=bool(verification)
                and left > 0
                and verification.strength != Verification.Strength.NONE,
                verification_minutes_left=max(0, int(left // 60) + (1 if left % 60 else 0)),
                pending=pending.get(wallet.pk, []),
                waiting_codes=codes.get(wallet.pk, []),
            )
        )
    step_up_until = None
    if stepped_up_at is not None:
        step_up_until = stepped_up_at + timedelta(minutes=settings.SECURITY_STEP_UP_MINUTES)
        if step_up_until <= now:
            step_up_until = None
    return SecurityPanel(
        wallets=rows,
        step_up_valid_until=step_up_until,
        can_unlock=user.has_perm("accounts.unlock_walletaccount"),
        can_freeze=user.has_perm("accounts.freeze_walletaccount"),
        can_change_contact=user.has_perm("accounts.unlock_walletaccount"),
    )
