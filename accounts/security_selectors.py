"""What the ticket page's security panel shows for each of the customer's wallets.

Whether a control is offered, and the ticks beside it, are the actions' own preconditions
(accounts.actions.security), never worked out again here: the panel shows an action as
possible exactly when the action would do it.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from .actions import security
from .actions.security import Preconditions
from .models import ApprovalRequest, DeviceConfirmation, Verification, WalletAccount
from .verification import check_label


@dataclass
class WalletSecurity:
    wallet: WalletAccount
    verification: Verification | None
    verification_valid: bool
    verification_minutes_left: int
    unlock: Preconditions
    freeze_offered: bool
    unfreeze_request: Preconditions
    national_id_change: Preconditions
    contact_change: Preconditions
    pending: list = field(default_factory=list)
    # The latest link of each purpose sent on this ticket, newest first: waiting,
    # confirmed, declined or expired, for the agent to see where the customer is.
    confirmations: list = field(default_factory=list)

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
class ClaimedWallet:
    wallet: WalletAccount
    # The latest confirmation links sent to it from this ticket, and their answers.
    confirmations: list = field(default_factory=list)


@dataclass
class SecurityPanel:
    wallets: list[WalletSecurity]
    step_up_valid_until: datetime | None
    # The wallets of the customer a typed contact claims (Ticket.claimed_identity): offered
    # for verification only, which links the ticket to them (tickets.actions.claims).
    claimed_wallets: list[ClaimedWallet] = field(default_factory=list)


def verifiable_wallets(ticket):
    """The wallets an agent may verify on ``ticket``: its customer's and the claimed
    customer's, as accounts.actions.security._same_customer accepts them."""
    customers = [ticket.customer_id]
    if ticket.claimed_identity_id:
        customers.append(ticket.claimed_identity.customer_id)
    return WalletAccount.objects.filter(customer_id__in=customers)


def security_panel(ticket, user, *, stepped_up_at: datetime | None) -> SecurityPanel:
    wallets = list(ticket.customer.wallets.order_by("number"))
    ids = [w.pk for w in wallets]
    claimed = []
    if ticket.claimed_identity_id:
        claimed = list(
            WalletAccount.objects.filter(customer_id=ticket.claimed_identity.customer_id).order_by(
                "number"
            )
        )
    latest = _latest_verifications(ticket, ids)
    pending = _pending_requests(ids, user)
    confirmations = _latest_confirmations(ticket, ids + [w.pk for w in claimed])
    rows = [
        _wallet_security(
            ticket,
            wallet,
            user,
            verification=latest.get(wallet.pk),
            stepped_up_at=stepped_up_at,
            pending=pending.get(wallet.pk, []),
            confirmations=confirmations.get(wallet.pk, []),
        )
        for wallet in wallets
    ]
    return SecurityPanel(
        wallets=rows,
        step_up_valid_until=security.step_up_until(stepped_up_at),
        claimed_wallets=[
            ClaimedWallet(wallet, confirmations.get(wallet.pk, [])) for wallet in claimed
        ],
    )


def _wallet_security(ticket, wallet, user, *, verification, stepped_up_at, **lists):
    left = (verification.expires_at - timezone.now()).total_seconds() if verification else 0
    # A verification is shown as valid when a change that takes a weak one would count it.
    refusal = security.verification_refusal(
        verification, account=wallet, ticket=ticket, strong=False
    )
    return WalletSecurity(
        wallet=wallet,
        verification=verification,
        verification_valid=not refusal,
        verification_minutes_left=max(0, int(left // 60) + (1 if left % 60 else 0)),
        unlock=security.unlock_preconditions(
            wallet,
            acting_user=user,
            verification=verification,
            ticket=ticket,
            stepped_up_at=stepped_up_at,
        ),
        freeze_offered=security.freeze_preconditions(acting_user=user).met
        and security.freezable(wallet),
        unfreeze_request=security.unfreeze_request_preconditions(
            wallet, acting_user=user, ticket=ticket, verification=verification
        ),
        national_id_change=security.national_id_change_preconditions(
            ticket, wallet, acting_user=user, verification=verification
        ),
        contact_change=security.contact_change_preconditions(
            ticket, wallet, acting_user=user, verification=verification
        ),
        **lists,
    )


def _latest_verifications(ticket, ids) -> dict[int, Verification]:
    """Each wallet's latest verification on the ticket: the one the actions are given
    (security.latest_verification), read for all the wallets at once."""
    latest: dict[int, Verification] = {}
    for verification in (
        Verification.objects.filter(ticket=ticket, account_id__in=ids)
        .select_related("agent")
        .order_by("created_at", "pk")
    ):
        latest[verification.account_id] = verification
    return latest


def _pending_requests(ids, user) -> dict[int, list]:
    pending: dict[int, list] = {}
    for request in ApprovalRequest.objects.filter(
        account_id__in=ids, status=ApprovalRequest.Status.PENDING
    ).select_related("requested_by", "verification"):
        request.user_can_decide = security.can_decide(request, user)
        request.user_can_approve = security.can_approve(request, user)
        pending.setdefault(request.account_id, []).append(request)
    return pending


def _latest_confirmations(ticket, ids) -> dict[int, list[DeviceConfirmation]]:
    """Each wallet's latest confirmation link of each purpose on the ticket (one query)."""
    latest: dict[tuple[int, str], DeviceConfirmation] = {}
    for confirmation in DeviceConfirmation.objects.filter(
        ticket=ticket, account_id__in=ids
    ).order_by("created_at", "pk"):
        latest[confirmation.account_id, confirmation.purpose] = confirmation
    by_wallet: dict[int, list[DeviceConfirmation]] = {}
    for confirmation in sorted(latest.values(), key=lambda c: c.pk, reverse=True):
        by_wallet.setdefault(confirmation.account_id, []).append(confirmation)
    return by_wallet
