"""Security operations on wallets: lock, freeze, unlock, unfreeze, protected changes.

Each is one transaction that locks the wallet row, checks its state, changes it and
writes its AccountEvent; the customer's notice is prepared in the same transaction and
leaves after commit (accounts.notify). ``on_notice`` is called with each notice sent, so
that the caller can show it where the change was asked for (the ticket side,
tickets.actions.wallets, puts it on the ticket's thread).
Protective changes (lock, freeze) need no verification; lifting them does, and so does
every change an agent asks for on the customer's behalf (unfreeze, national ID number,
contact): a strong verification on the ticket made by the acting agent or by the MY Wallet
app. A colleague's verification does not count, and a two-person request is approved only
when it rests on such a verification.

What an action needs before it acts is listed by its ``*_preconditions`` function, which
the action itself calls and refuses by; the ticket page's security panel shows the same
list, so it never offers as possible what the action would refuse.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from mywallet_support.masking import mask_id_number, mask_identity

from ..app_identity import AppIdentity
from ..audit import record_event
from ..identities import normalise_email, normalise_phone
from ..models import (
    AccountEvent,
    ApprovalRequest,
    DeviceConfirmation,
    Verification,
    WalletAccount,
)
from ..notify import Notice, tell_customer
from ..permissions import (
    CHANGE_PROTECTED_DETAILS,
    FREEZE_WALLETS,
    UNFREEZE_WALLETS,
    UNLOCK_WALLETS,
    VIEW_WALLETS,
    permission_refusal,
)
from ..verification import (
    APP,
    answers_digest,
    check_answers,
    normalise_answers,
    reached_through,
    validate_national_id,
)
from . import link_registered_contact

logger = logging.getLogger(__name__)


OnNotice = Callable[[Notice], None] | None


def _notify(account: WalletAccount, *, event: str, ticket, on_notice: OnNotice, also_to=()) -> None:
    notice = tell_customer(account, event=event, ticket=ticket, also_to=also_to)
    if notice is not None and on_notice is not None:
        on_notice(notice)


def _locked_wallet(account: WalletAccount) -> WalletAccount:
    return WalletAccount.objects.select_for_update().select_related("customer").get(pk=account.pk)


# --- preconditions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Precondition:
    """One thing an action needs, met or not, with the text the action refuses with."""

    reason: str  # why it is not met; "" when it is
    # What the agent does about it on the page (verify, re-enter a code), listed there
    # with a tick or a cross; "" for what decides whether the page offers the control at
    # all (a permission, the wallet's state), which it does not list.
    label: str = ""
    denied: bool = False  # refused as PermissionDenied (a permission), else ValidationError

    @property
    def met(self) -> bool:
        return not self.reason


MET = Precondition("")


class Preconditions(list):
    """An action's preconditions, in the order the action checks them."""

    @property
    def met(self) -> bool:
        return all(p.met for p in self)

    @property
    def offered(self) -> bool:
        """Whether a page offers the control: everything but the agent's steps is met."""
        return all(p.met for p in self if not p.label)

    @property
    def steps(self) -> list[Precondition]:
        return [p for p in self if p.label]

    @property
    def unmet(self) -> Precondition | None:
        """The first unmet precondition: what the action refuses with."""
        return next((p for p in self if not p.met), None)

    def require(self) -> None:
        unmet = self.unmet
        if unmet is not None:
            raise (PermissionDenied if unmet.denied else ValidationError)(unmet.reason)


def _permission(user, perm: str) -> Precondition:
    return Precondition(permission_refusal(user, perm), denied=True)


def _agent(user) -> Precondition:
    """Any agent may verify a caller and file requests; the changes need more."""
    return Precondition(permission_refusal(user, VIEW_WALLETS, agent=True), denied=True)


def _customer(ticket, account: WalletAccount) -> Precondition:
    if ticket is not None and ticket.customer_id == account.customer_id:
        return MET
    return Precondition(_("This wallet does not belong to the ticket's customer."))


def freeze_preconditions(*, acting_user) -> Preconditions:
    """An agent's freeze: the freeze permission (the system freezes without a user)."""
    return Preconditions([_permission(acting_user, FREEZE_WALLETS)])


def freezable(wallet: WalletAccount) -> bool:
    """Whether freezing changes ``wallet``: a frozen one stays as it is, a closed one closed."""
    return wallet.status not in (WalletAccount.Status.FROZEN, WalletAccount.Status.CLOSED)


def freeze_wallet(
    account: WalletAccount,
    *,
    acting_user=None,
    reason: str,
    ticket=None,
    lock_reason: str = WalletAccount.LockReason.AGENT,
    on_notice: OnNotice = None,
) -> WalletAccount:
    """Freeze a wallet at once: protective, so no verification is needed.

    ``acting_user`` None means the system (a risk rule). Idempotent: freezing a frozen
    wallet changes and records nothing. A closed wallet stays closed.
    """
    if acting_user is not None:
        freeze_preconditions(acting_user=acting_user).require()
    with transaction.atomic():
        wallet = _locked_wallet(account)
        if not freezable(wallet):
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
        _notify(wallet, event=event, ticket=ticket, on_notice=on_notice)
    logger.info("Wallet %s frozen (%s)", wallet.pk, lock_reason)
    return wallet


def lock_wallet(
    account: WalletAccount,
    *,
    reason: str,
    lock_reason: str = WalletAccount.LockReason.WRONG_PASSWORD,
    ticket=None,
    on_notice: OnNotice = None,
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
        _notify(wallet, event=event, ticket=ticket, on_notice=on_notice)
    logger.info("Wallet %s locked (%s)", wallet.pk, lock_reason)
    return wallet


# --- identity verification ------------------------------------------------------------------


def _require_agent(user) -> None:
    Preconditions([_agent(user)]).require()


def _same_customer(ticket, account: WalletAccount) -> None:
    """The wallet may be verified on this ticket: the ticket's customer's, or the customer a
    chat's typed contact claims to be (verifying that claim is how the ticket gets linked
    to them, tickets.actions.claims); every change still needs the ticket's own customer."""
    claimed = ticket.claimed_identity if ticket is not None else None
    if claimed is not None and claimed.customer_id == account.customer_id:
        return
    Preconditions([_customer(ticket, account)]).require()


def verify_identity(ticket, account: WalletAccount, *, acting_user, answers: dict) -> Verification:
    """Check what the caller says against the wallet and record the result.

    ``answers``: phone, email, transaction_amount / transaction_date /
    transaction_merchant (one recent transaction). What a caller knows is weak: anyone
    may have learnt it. A strong verification comes only from the customer's own device
    (accounts.actions.confirmation) or the MY Wallet app; no one asks for a code read out.
    Any wrong answer makes it fail. Answers are kept only as a keyed digest.
    """
    _require_agent(acting_user)
    _same_customer(ticket, account)
    parsed = normalise_answers(answers)
    passed, failed = check_answers(account, parsed)
    if not passed and not failed:
        raise ValidationError(_("Ask at least one question."))
    strength = Verification.Strength.NONE if failed else Verification.Strength.WEAK
    with transaction.atomic():
        verification = Verification.objects.create(
            ticket=ticket,
            account=account,
            agent=acting_user,
            checks_passed=passed,
            checks_failed=failed,
            strength=strength,
            answers_digest=answers_digest(parsed),
            expires_at=timezone.now() + timedelta(minutes=settings.VERIFICATION_VALID_MINUTES),
        )
        record_event(
            customer=account.customer,
            account=account,
            ticket=ticket,
            action=(
                AccountEvent.Action.VERIFICATION_FAILED
                if strength == Verification.Strength.NONE
                else AccountEvent.Action.IDENTITY_VERIFIED
            ),
            acting_user=acting_user,
            verification=verification_summary(verification),
        )
    return verification


def verification_summary(verification: Verification) -> dict:
    return {
        "id": verification.pk,
        "strength": verification.strength,
        "passed": verification.checks_passed,
        "failed": verification.checks_failed,
        "ticket": verification.ticket_id,
        "expires_at": verification.expires_at.isoformat(),
    }


def latest_verification(ticket, account: WalletAccount) -> Verification | None:
    """The verification that counts on this ticket: the latest one (a failed attempt after
    a strong one takes its place)."""
    return (
        Verification.objects.filter(ticket=ticket, account=account)
        .order_by("-created_at", "-pk")
        .first()
    )


def verification_refusal(
    verification: Verification | None, *, account: WalletAccount, ticket, strong: bool = True
) -> str:
    """Why ``verification`` does not count for a change to ``account`` on ``ticket`` ("" when
    it does): valid, on this ticket, of this wallet, and strong (or at least passed)."""
    if verification is None:
        return _("Verify the customer's identity on this ticket first.")
    if ticket is None or verification.ticket_id != ticket.pk:
        return _("The identity verification was made on another ticket.")
    if verification.account_id != account.pk:
        return _("The identity verification is for another wallet.")
    if verification.expires_at <= timezone.now():
        return _("The identity verification has expired; verify again.")
    wanted = [Verification.Strength.STRONG]
    if not strong:
        wanted.append(Verification.Strength.WEAK)
    if verification.strength not in wanted:
        return (
            _(
                "This needs a strong identity verification: the customer confirms on their "
                "own phone or email, or is signed in to the MY Wallet app."
            )
            if strong
            else _("The identity verification did not pass.")
        )
    return ""


def _require_verification(
    verification: Verification | None, *, account: WalletAccount, ticket, strong: bool = True
) -> None:
    reason = verification_refusal(verification, account=account, ticket=ticket, strong=strong)
    if reason:
        raise ValidationError(reason)


def _verified(verification, *, account: WalletAccount, ticket) -> Precondition:
    return Precondition(
        verification_refusal(verification, account=account, ticket=ticket),
        label=_("strong verification on this ticket"),
    )


def _verified_by_self_or_app(verification: Verification | None, user) -> Precondition:
    """The verification a change an agent asks for rests on is theirs or the app's: the one
    who heard the caller answers for it; a colleague's check is not passed on."""
    own = verification is not None and (
        verification.by_app or (user is not None and verification.agent_id == user.pk)
    )
    reason = "" if own else _("Verify the customer's identity yourself on their ticket first.")
    return Precondition(reason, label=_("verified by you or by the MY Wallet app"))


def verified_strongly_on(ticket, user) -> bool:
    """Whether ``user`` may see the full contacts on ``ticket``: one of its customer's
    wallets has, on this ticket, the verification a protective change would rest on (valid,
    strong, by this agent or by the app: `verification_refusal` and
    `_verified_by_self_or_app`, the security panel's own ticks). Until then the workspace
    shows phone numbers and addresses masked (workspace/admin/tickets.py)."""
    if ticket is None or user is None:
        return False
    for wallet in ticket.customer.wallets.all():
        verification = latest_verification(ticket, wallet)
        if (
            not verification_refusal(verification, account=wallet, ticket=ticket)
            and _verified_by_self_or_app(verification, user).met
        ):
            return True
    return False


def own_latest_verification(account: WalletAccount, acting_user) -> Verification | None:
    """The agent's own latest verification of ``account`` on any ticket: what a change
    asked for outside a ticket (the wallet list) rests on, recorded on that ticket."""
    return (
        Verification.objects.filter(account=account, agent=acting_user)
        .select_related("ticket")
        .order_by("-created_at", "-pk")
        .first()
    )


def step_up_until(stepped_up_at: datetime | None) -> datetime | None:
    """Until when the agent's re-entered authenticator code counts; None when it does not."""
    if stepped_up_at is None:
        return None
    until = stepped_up_at + timedelta(minutes=settings.SECURITY_STEP_UP_MINUTES)
    return until if until >= timezone.now() else None


def _stepped_up(stepped_up_at: datetime | None) -> Precondition:
    reason = ""
    if step_up_until(stepped_up_at) is None:
        reason = _(
            "Enter your authenticator code again (needed within the last %(minutes)d minutes)."
        ) % {"minutes": settings.SECURITY_STEP_UP_MINUTES}
    return Precondition(reason, label=_("your authenticator code, just now"))


# --- unlock ---------------------------------------------------------------------------------


def unlock_preconditions(
    account: WalletAccount,
    *,
    acting_user,
    verification: Verification | None,
    ticket,
    stepped_up_at: datetime | None,
) -> Preconditions:
    """What ``unlock_wallet`` checks, in its order: the unlock permission, the agent's
    authenticator code re-entered within the last minutes, a valid strong verification of
    this wallet on this ticket, made by the agent themselves, and the wallet locked."""
    return Preconditions(
        [
            _permission(acting_user, UNLOCK_WALLETS),
            _stepped_up(stepped_up_at),
            _verified(verification, account=account, ticket=ticket),
            _verified_by(verification, acting_user),
            _locked(account),
        ]
    )


def _verified_by(verification: Verification | None, user) -> Precondition:
    # The one who heard the caller answer is the one who unlocks.
    own = verification is not None and user is not None and verification.agent_id == user.pk
    reason = "" if own else _("Verify the customer's identity yourself on their ticket first.")
    return Precondition(reason, label=_("verified by you"))


def _locked(account: WalletAccount) -> Precondition:
    if account.status == WalletAccount.Status.LOCKED:
        return MET
    return Precondition(
        _("This wallet is not locked (it is %(status)s).")
        % {"status": account.get_status_display()}
    )


def unlock_wallet(
    account: WalletAccount,
    *,
    acting_user,
    verification: Verification | None,
    ticket,
    stepped_up_at: datetime | None,
    reason: str = "",
    on_notice: OnNotice = None,
) -> WalletAccount:
    """Lift a lock: the unlock permission, a valid strong verification of this customer on
    this ticket, and the agent's own authenticator code re-entered within the last minutes
    (``stepped_up_at``, kept in the agent's session). Resets the failed attempts.

    Two agents unlocking at once: the second finds the wallet no longer locked and is
    refused, so there is one change and one event.
    """
    with transaction.atomic():
        # Checked on the locked row, so its state is the one this change starts from.
        wallet = _locked_wallet(account)
        unlock_preconditions(
            wallet,
            acting_user=acting_user,
            verification=verification,
            ticket=ticket,
            stepped_up_at=stepped_up_at,
        ).require()
        previous = {"lock_reason": wallet.lock_reason, "attempts": wallet.failed_password_attempts}
        wallet.status = WalletAccount.Status.ACTIVE
        wallet.lock_reason = WalletAccount.LockReason.NONE
        wallet.failed_password_attempts = 0
        wallet.save(
            update_fields=["status", "lock_reason", "failed_password_attempts", "updated_at"]
        )
        record_event(
            customer=wallet.customer,
            account=wallet,
            ticket=ticket,
            action=AccountEvent.Action.UNLOCK,
            acting_user=acting_user,
            reason=reason,
            verification=verification_summary(verification),
            details={
                "previous_lock_reason": previous["lock_reason"],
                "failed_password_attempts": previous["attempts"],
            },
        )
        _notify(wallet, event="unlocked", ticket=ticket, on_notice=on_notice)
    logger.info("Wallet %s unlocked by user %s", wallet.pk, acting_user.pk)
    return wallet


def unlock_with_own_verification(
    account: WalletAccount,
    *,
    acting_user,
    stepped_up_at: datetime | None,
    reason: str = "",
    on_notice: OnNotice = None,
) -> WalletAccount:
    """Unlock from outside a ticket (the wallet list): on the agent's own latest
    verification of this wallet, recorded on that verification's ticket."""
    verification = own_latest_verification(account, acting_user)
    if verification is None:
        raise ValidationError(_("Verify the customer's identity yourself on their ticket first."))
    return unlock_wallet(
        account,
        acting_user=acting_user,
        verification=verification,
        ticket=verification.ticket,
        stepped_up_at=stepped_up_at,
        reason=reason,
        on_notice=on_notice,
    )


# --- two-person changes: unfreeze and the national ID number ---------------------------------


def unfreeze_request_preconditions(
    account: WalletAccount, *, acting_user, ticket, verification: Verification | None
) -> Preconditions:
    """What ``request_unfreeze`` checks before the reason: an agent, the ticket's customer's
    wallet, the wallet frozen, and a valid strong verification on the ticket made by the
    agent or by the app."""
    return Preconditions(
        [
            _agent(acting_user),
            # Outside a ticket there is no verification to rest on: refused just below.
            _customer(ticket, account) if ticket is not None else MET,
            _frozen(account),
            _verified(verification, account=account, ticket=ticket),
            _verified_by_self_or_app(verification, acting_user),
        ]
    )


def _frozen(account: WalletAccount) -> Precondition:
    if account.status == WalletAccount.Status.FROZEN:
        return MET
    return Precondition(_("This wallet is not frozen."))


def request_unfreeze(
    account: WalletAccount,
    *,
    acting_user,
    reason: str,
    ticket,
    verification: Verification | None,
) -> ApprovalRequest:
    """An agent asks for a frozen wallet to be unfrozen, for a customer strongly verified on
    ``ticket``; a supervisor other than the requester decides (``approve_request`` /
    ``reject_request``)."""
    with transaction.atomic():
        # Checked on the locked row, so its state is the one the request starts from.
        wallet = _locked_wallet(account)
        unfreeze_request_preconditions(
            wallet, acting_user=acting_user, ticket=ticket, verification=verification
        ).require()
        if not (reason or "").strip():
            raise ValidationError(_("Give a reason."))
        request = _new_request(
            wallet,
            kind=ApprovalRequest.Kind.UNFREEZE,
            acting_user=acting_user,
            reason=reason,
            ticket=ticket,
            verification=verification,
        )
        record_event(
            customer=wallet.customer,
            account=wallet,
            ticket=ticket,
            action=AccountEvent.Action.UNFREEZE_REQUESTED,
            acting_user=acting_user,
            reason=reason,
            verification=verification_summary(verification),
            details={"request": request.pk, "lock_reason": wallet.lock_reason},
        )
    return request


def request_unfreeze_with_own_verification(
    account: WalletAccount, *, acting_user, reason: str
) -> ApprovalRequest:
    """Ask for an unfreeze from outside a ticket (the wallet list): on the agent's own
    latest verification of this wallet, recorded on that verification's ticket."""
    verification = own_latest_verification(account, acting_user)
    return request_unfreeze(
        account,
        acting_user=acting_user,
        reason=reason,
        ticket=verification.ticket if verification else None,
        verification=verification,
    )


def national_id_change_preconditions(
    ticket, account: WalletAccount, *, acting_user, verification: Verification | None
) -> Preconditions:
    """What ``request_national_id_change`` checks before the new number: an agent, the
    ticket's customer's wallet, a valid strong verification on this ticket made by the
    agent or by the app."""
    return Preconditions(
        [
            _agent(acting_user),
            _customer(ticket, account),
            _verified(verification, account=account, ticket=ticket),
            _verified_by_self_or_app(verification, acting_user),
        ]
    )


def request_national_id_change(
    ticket,
    account: WalletAccount,
    *,
    acting_user,
    verification: Verification | None,
    new_id: str,
    reason: str,
) -> ApprovalRequest:
    """An agent files a national ID number change for a strongly verified customer; a
    second person with the protected-details permission approves it. The new number is
    kept encrypted on the request; the audit shows old and new masked only."""
    national_id_change_preconditions(
        ticket, account, acting_user=acting_user, verification=verification
    ).require()
    new_id = validate_national_id(new_id)
    if not (reason or "").strip():
        raise ValidationError(_("Give a reason."))
    with transaction.atomic():
        wallet = _locked_wallet(account)
        if new_id == wallet.national_id:
            raise ValidationError(_("This is already the wallet's national ID number."))
        request = _new_request(
            wallet,
            kind=ApprovalRequest.Kind.NATIONAL_ID_CHANGE,
            acting_user=acting_user,
            reason=reason,
            ticket=ticket,
            verification=verification,
            new_value=new_id,
        )
        record_event(
            customer=wallet.customer,
            account=wallet,
            ticket=ticket,
            action=AccountEvent.Action.NATIONAL_ID_CHANGE_REQUESTED,
            acting_user=acting_user,
            reason=reason,
            verification=verification_summary(verification),
            details={
                "request": request.pk,
                "old": mask_id_number(wallet.national_id),
                "new": mask_id_number(new_id),
            },
        )
    return request


def _new_request(wallet, *, kind, acting_user, reason, ticket, verification, new_value=""):
    try:
        with transaction.atomic():
            return ApprovalRequest.objects.create(
                kind=kind,
                account=wallet,
                ticket=ticket,
                verification=verification,
                requested_by=acting_user,
                reason=reason,
                new_value=new_value,
            )
    except IntegrityError:
        raise ValidationError(
            _("A request of this kind is already waiting for approval on this wallet.")
        ) from None


_APPROVER_PERMISSION = {
    ApprovalRequest.Kind.UNFREEZE: UNFREEZE_WALLETS,
    ApprovalRequest.Kind.NATIONAL_ID_CHANGE: CHANGE_PROTECTED_DETAILS,
}


def decision_preconditions(request: ApprovalRequest, user) -> Preconditions:
    """What approving or rejecting checks: the kind's permission, someone other than the
    requester, and the request still pending."""
    return Preconditions(
        [
            _permission(user, _APPROVER_PERMISSION[request.kind]),
            _not_requester(request, user),
            _pending(request),
        ]
    )


def _not_requester(request: ApprovalRequest, user) -> Precondition:
    if user is None or user.pk != request.requested_by_id:
        return MET
    reason = _("A request must be decided by someone other than its requester.")
    return Precondition(reason, denied=True)


def _pending(request: ApprovalRequest) -> Precondition:
    if request.status == ApprovalRequest.Status.PENDING:
        return MET
    return Precondition(
        _("This request has already been decided (%(status)s).")
        % {"status": request.get_status_display()}
    )


def approval_preconditions(request: ApprovalRequest, user) -> Preconditions:
    """What approving checks: the decision's preconditions, then that the request rests on
    a strong verification of its wallet on its ticket, made by the requester or by the app
    (checked when it was filed; an approval may come after it has expired). A request
    without one can only be rejected."""
    return Preconditions(
        [*decision_preconditions(request, user), _rests_on_strong_verification(request)]
    )


def _rests_on_strong_verification(request: ApprovalRequest) -> Precondition:
    verification = request.verification
    sound = (
        verification is not None
        and verification.strength == Verification.Strength.STRONG
        and verification.account_id == request.account_id
        and request.ticket_id is not None
        and verification.ticket_id == request.ticket_id
        and (verification.by_app or verification.agent_id == request.requested_by_id)
    )
    if sound:
        return MET
    return Precondition(
        _(
            "This request does not rest on a strong identity verification by its requester "
            "or by the MY Wallet app: it can only be rejected."
        )
    )


def can_decide(request: ApprovalRequest, user) -> bool:
    """Whether ``user`` may reject ``request`` now (approving needs more: ``can_approve``)."""
    return decision_preconditions(request, user).met


def can_approve(request: ApprovalRequest, user) -> bool:
    """Whether ``user`` may approve ``request`` now."""
    return approval_preconditions(request, user).met


def approval_refusal(request: ApprovalRequest, user) -> str:
    """Why ``user`` may not approve ``request`` ("" when they may), as the action says it."""
    unmet = approval_preconditions(request, user).unmet
    return unmet.reason if unmet is not None else ""


def decision_refusal(request: ApprovalRequest, user) -> str:
    """Why ``user`` may not decide ``request`` ("" when they may), as the action says it."""
    unmet = decision_preconditions(request, user).unmet
    return unmet.reason if unmet is not None else ""


def decides_some_kind(user) -> bool:
    """Whether ``user`` holds the approver permission of some kind of request: a list offers
    its bulk decisions then, and each request is still checked (``can_decide``)."""
    return any(not permission_refusal(user, perm) for perm in _APPROVER_PERMISSION.values())


def _pending_for_decision(
    request: ApprovalRequest, acting_user, *, approving: bool
) -> ApprovalRequest:
    request = (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("account__customer", "verification")
        .get(pk=request.pk)
    )
    # On the locked row: a decision made meanwhile is seen.
    preconditions = approval_preconditions if approving else decision_preconditions
    preconditions(request, acting_user).require()
    return request


def approve_request(
    request: ApprovalRequest, *, acting_user, note: str = "", on_notice: OnNotice = None
) -> ApprovalRequest:
    """A second person approves: the change is made now, in the same transaction."""
    with transaction.atomic():
        request = _pending_for_decision(request, acting_user, approving=True)
        wallet = _locked_wallet(request.account)
        if request.kind == ApprovalRequest.Kind.UNFREEZE:
            _apply_unfreeze(wallet, request, acting_user=acting_user, note=note)
            event = "unfrozen"
        else:
            _apply_national_id(wallet, request, acting_user=acting_user, note=note)
            event = "national_id_changed"
        _notify(wallet, event=event, ticket=request.ticket, on_notice=on_notice)
        request.status = ApprovalRequest.Status.APPROVED
        request.decided_by = acting_user
        request.decided_at = timezone.now()
        # Applied: the new value now lives on the wallet; no second copy is kept.
        request.new_value = ""
        request.save(update_fields=["status", "decided_by", "decided_at", "new_value"])
    return request


def _approval_summary(request: ApprovalRequest, acting_user) -> dict:
    summary = {
        "request": request.pk,
        "requested_by": request.requested_by_id,
        "approved_by": acting_user.pk,
    }
    if request.verification_id:
        summary["verification"] = request.verification_id
    return summary


def _apply_unfreeze(wallet, request, *, acting_user, note: str) -> None:
    if wallet.status != WalletAccount.Status.FROZEN:
        raise ValidationError(_("This wallet is not frozen any more."))
    previous = wallet.lock_reason
    wallet.status = WalletAccount.Status.ACTIVE
    wallet.lock_reason = WalletAccount.LockReason.NONE
    wallet.failed_password_attempts = 0
    wallet.save(update_fields=["status", "lock_reason", "failed_password_attempts", "updated_at"])
    record_event(
        customer=wallet.customer,
        account=wallet,
        ticket=request.ticket,
        action=AccountEvent.Action.UNFREEZE,
        acting_user=acting_user,
        reason=note or request.reason,
        verification=_approval_summary(request, acting_user),
        details={"previous_lock_reason": previous},
    )


def _apply_national_id(wallet, request, *, acting_user, note: str) -> None:
    new_id = validate_national_id(request.new_value)
    old = wallet.national_id
    wallet.national_id = new_id
    wallet.save(update_fields=["national_id", "updated_at"])
    record_event(
        customer=wallet.customer,
        account=wallet,
        ticket=request.ticket,
        action=AccountEvent.Action.NATIONAL_ID_CHANGED,
        acting_user=acting_user,
        reason=note or request.reason,
        verification=_approval_summary(request, acting_user),
        details={"old": mask_id_number(old), "new": mask_id_number(new_id)},
    )


def reject_request(request: ApprovalRequest, *, acting_user, note: str = "") -> ApprovalRequest:
    with transaction.atomic():
        request = _pending_for_decision(request, acting_user, approving=False)
        request.status = ApprovalRequest.Status.REJECTED
        request.decided_by = acting_user
        request.decided_at = timezone.now()
        request.new_value = ""
        request.save(update_fields=["status", "decided_by", "decided_at", "new_value"])
        record_event(
            customer=request.account.customer,
            account=request.account,
            ticket=request.ticket,
            action=AccountEvent.Action.APPROVAL_REJECTED,
            acting_user=acting_user,
            reason=note,
            details={"request": request.pk, "kind": request.kind},
        )
    return request


# --- contact change with the old contact lost ------------------------------------------------


def new_contact_value(account: WalletAccount, kind: str, value: str) -> str:
    """``value`` normalised as a new registered ``kind`` (phone or email) of ``account``;
    ValidationError when it is not one, is the current one, or is another wallet's."""
    if kind == "phone":
        value, field = normalise_phone(value), "registered_phone"
    elif kind == "email":
        value, field = normalise_email(value), "registered_email"
    else:
        raise ValidationError(_("Choose phone or email."))
    if value == getattr(account, field):
        raise ValidationError(_("This is already the wallet's registered contact."))
    if WalletAccount.objects.filter(**{field: value}).exclude(pk=account.pk).exists():
        raise ValidationError(_("This contact is registered to another wallet."))
    return value


def contact_change_preconditions(
    ticket, account: WalletAccount, *, acting_user, verification: Verification | None
) -> Preconditions:
    """What ``change_contact_by_agent`` checks before what the agent enters: the unlock
    permission (a lost contact is a way into the wallet), the ticket's customer's wallet,
    and a verification made by the agent or by the app. How strong, and through which
    contact, depends on which contact was lost (contact_change_override)."""
    return Preconditions(
        [
            _permission(acting_user, UNLOCK_WALLETS),
            _customer(ticket, account),
            _verified_by_self_or_app(verification, acting_user),
        ]
    )


def change_contact_by_agent(
    ticket,
    account: WalletAccount,
    *,
    acting_user,
    kind: str,
    new_value: str,
    verification: Verification | None,
    reason: str,
    on_notice: OnNotice = None,
) -> WalletAccount:
    """Replace a registered phone or email the customer has lost.

    The old contact cannot be reached, so the strong verification must have reached the
    OTHER registered contact (the email when the phone is lost, and vice versa) or come
    from the app, and the customer must have confirmed the new contact from it too (a link
    sent by accounts.actions.confirmation.confirm_new_contact; no code is read out). When
    the customer has no other contact either, a supervisor may make the change on a passed
    (weak) verification (`contact_change_override`); that override is written in the audit.
    """
    contact_change_preconditions(
        ticket, account, acting_user=acting_user, verification=verification
    ).require()
    if not (reason or "").strip():
        raise ValidationError(_("Give a reason."))
    new_value = new_contact_value(account, kind, new_value)
    override = contact_change_override(
        ticket, account, acting_user=acting_user, kind=kind, verification=verification
    )
    field = "registered_phone" if kind == "phone" else "registered_email"
    with transaction.atomic():
        _use_new_contact_confirmation(ticket, account, destination=new_value)
        wallet = _locked_wallet(account)
        old = getattr(wallet, field)
        setattr(wallet, field, new_value)
        wallet.save(update_fields=[field, "updated_at"])
        link_registered_contact(
            wallet.customer, kind=kind, value=new_value, acting_user=acting_user
        )
        masked = {
            "kind": kind,
            "old": mask_identity(kind, old),
            "new": mask_identity(kind, new_value),
        }
        record_event(
            customer=wallet.customer,
            account=wallet,
            ticket=ticket,
            action=AccountEvent.Action.CONTACT_CHANGED,
            acting_user=acting_user,
            reason=reason,
            verification=verification_summary(verification),
            details={**masked, "old_contact_lost": True, "supervisor_override": override},
        )
        # Both: the registered contacts (the new one among them) and the old one, in case
        # it was not lost but taken.
        _notify(
            wallet,
            event="contact_changed",
            ticket=ticket,
            on_notice=on_notice,
            also_to=[old] if old else [],
        )
    return wallet


def _use_new_contact_confirmation(ticket, account: WalletAccount, *, destination: str) -> None:
    """Spend the customer's confirmation of ``destination`` from that contact, answered on
    this ticket within its validity; ValidationError when there is none."""
    confirmation = (
        DeviceConfirmation.objects.select_for_update()
        .filter(
            ticket=ticket,
            account=account,
            purpose=DeviceConfirmation.Purpose.NEW_CONTACT,
            destination=destination,
            status=DeviceConfirmation.Status.CONFIRMED,
            answered_at__lte=F("expires_at"),
        )
        .order_by("-pk")
        .first()
    )
    if confirmation is None:
        raise ValidationError(
            _("The customer has not confirmed the new contact yet: send them a link first.")
        )
    confirmation.status = DeviceConfirmation.Status.USED
    confirmation.save(update_fields=["status"])


def contact_change_override(
    ticket, account: WalletAccount, *, acting_user, kind: str, verification
) -> bool:
    """Whether a lost contact's change by ``acting_user`` on ``verification`` is a
    supervisor's override (True) or the normal path (False); raises ValidationError when
    it is neither. Normal: a valid strong verification whose code went to the OTHER
    registered contact, or the app's. Override: a supervisor (protected details) on a
    passed one. Either way the verification is the agent's own or the app's."""
    Preconditions([_verified_by_self_or_app(verification, acting_user)]).require()
    other = "email" if kind == "phone" else "phone"
    try:
        _require_verification(verification, account=account, ticket=ticket)
        if not verification.by_app and not set(reached_through(other)) & set(
            verification.checks_passed
        ):
            raise ValidationError(
                _(
                    "The customer must have confirmed from the registered %(other)s, not the "
                    "lost contact."
                )
                % {"other": other}
            )
    except ValidationError:
        if not acting_user.has_perm(CHANGE_PROTECTED_DETAILS):
            raise
        _require_verification(verification, account=account, ticket=ticket, strong=False)
        return True
    return False


# --- the MY Wallet app's verification ---------------------------------------------------------


@transaction.atomic
def record_app_verification(ticket, account: WalletAccount, identity: AppIdentity) -> Verification:
    """The app proved the customer (a valid identity token for ``account``, app_identity.verify):
    recorded on the ticket like an agent's strong verification, with no agent, so agents on
    the ticket may rely on it; it expires like any other verification."""
    if ticket.customer_id != account.customer_id:
        raise ValidationError(_("This wallet does not belong to the ticket's customer."))
    verification = Verification.objects.create(
        ticket=ticket,
        account=account,
        agent=None,
        checks_passed=[APP],
        strength=Verification.Strength.STRONG,
        expires_at=timezone.now() + timedelta(minutes=settings.VERIFICATION_VALID_MINUTES),
    )
    record_event(
        customer=account.customer,
        account=account,
        ticket=ticket,
        action=AccountEvent.Action.IDENTITY_VERIFIED,
        verification=verification_summary(verification),
        # The token's id and key, never the token: enough to trace it to the app's log.
        details={"via": "app", "token_id": identity.jti, "key_id": identity.key_id},
    )
    return verification
