"""Customers' own security changes: the payment-password reset and the contact change.

The pages (accounts.views) keep the flow's state in the session and call these. Both flows
prove possession of a registered contact with a one-time code (accounts.codes).

The reset never tells whether a phone number or email belongs to a wallet: `start_reset`
answers the same for a contact no wallet has (nothing is sent; the client address's quota
is spent and a delivery task queued alike), and the code step then simply never accepts a
code, with the same back-off after five tries as a real one.
"""

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from mywallet_support.masking import mask_identity

from .. import codes, otp
from ..audit import record_event
from ..codes import CodeLocked, CodeNotSent
from ..identities import normalise_email, normalise_phone
from ..models import AccountEvent, CodeDevice, WalletAccount
from ..notify import tell_customer
from . import link_registered_contact

logger = logging.getLogger(__name__)

PASSWORD_DIGITS = 6
# After the code, the new password must be set within this time.
RESET_GRANT = timedelta(minutes=15)


# --- finding the wallet ---------------------------------------------------------------------


def parse_contact(value: str) -> tuple[str, str]:
    """("phone" | "email", normalised value) for what the customer typed; ValidationError
    when it is neither a phone number nor an email address."""
    value = (value or "").strip()
    if not value:
        raise ValidationError(_("Enter your registered phone number or email address."))
    if "@" in value:
        return CodeDevice.Channel.EMAIL, normalise_email(value)
    return CodeDevice.Channel.PHONE, normalise_phone(value)


def wallet_for_contact(kind: str, value: str) -> WalletAccount | None:
    """The open wallet registered with this phone or email, if any."""
    wallets = WalletAccount.objects.select_related("customer").exclude(
        status=WalletAccount.Status.CLOSED
    )
    if kind == CodeDevice.Channel.PHONE:
        wallets = wallets.filter(registered_phone=value)
    else:
        wallets = wallets.filter(registered_email__iexact=value)
    return wallets.order_by("pk").first()


# --- the payment-password reset -------------------------------------------------------------


@dataclass(frozen=True)
class ResetStarted:
    channel: str
    masked: str  # the contact as typed, masked: the same whether or not a wallet has it
    device_id: int | None  # None: no wallet has this contact (never shown to the customer)
    decoy_key: str = ""  # where a stand-in code's wrong tries are counted (no personal data)


def start_reset(
    contact: str | None = None,
    *,
    wallet: WalletAccount | None = None,
    channel: str = "",
    client_ip: str | None,
    language: str = "",
) -> ResetStarted:
    """Step 1: send a reset code to ``contact`` if a wallet has it. A signed-in customer
    passes their own ``wallet`` and the ``channel`` of the registered contact instead.

    Raises ValidationError for a malformed contact and CodeNotSent only for the client
    address's limit, which does not depend on the contact. Every other refusal (the
    wallet's limit, the cool-down, a delivery failure) is logged and answered like a send.

    The code leaves from a task (`codes.deliver_code`), which generates it, so the request
    does no digest work. What a request with a wallet inserts into the task table, one
    without inserts too: the same task with no device, which sends nothing. A wallet's
    request that is refused (its limit, the cool-down) queues that stand-in as well, so
    every answered request queues exactly one task.
    """
    if wallet is None:
        channel, value = parse_contact(contact)
        wallet = wallet_for_contact(channel, value)
    else:
        value = wallet.registered_phone if channel == "phone" else wallet.registered_email
        if not value:
            raise ValidationError(_("Your wallet has no registered contact of this kind."))
    masked = mask_identity(channel, value)
    if wallet is None:
        # What a real send costs the request: the address quota and a queued task.
        codes.spend_address_quota(client_ip)
        codes.enqueue_delivery(None, language)
        logger.info("payment-password reset asked for %s: no wallet", masked)
        return ResetStarted(
            channel=channel, masked=masked, device_id=None, decoy_key=decoy_key(channel, value)
        )
    try:
        device = codes.send_code(
            wallet,
            channel=channel,
            purpose=CodeDevice.Purpose.PAYMENT_PASSWORD_RESET,
            destination=value,
            client_ip=client_ip,
            language=language,
            # The gateway's latency must not tell which contacts have a wallet.
            in_background=True,
        )
    except CodeNotSent as exc:
        if exc.reason == CodeNotSent.ADDRESS_LIMIT:
            raise
        logger.info("payment-password reset code for wallet %s not sent: %s", wallet.pk, exc.reason)
        codes.enqueue_delivery(None, language)  # the task row a send would have queued
        device = _pending_reset_device(wallet, channel, value)
    return ResetStarted(
        channel=channel,
        masked=masked,
        device_id=device.pk if device is not None else None,
        decoy_key=decoy_key(channel, value),
    )


def _pending_reset_device(wallet, channel, value) -> CodeDevice | None:
    """The wallet's unused reset code for this contact (a code sent a moment ago still
    works when the customer asks again too soon)."""
    return (
        CodeDevice.objects.filter(
            account=wallet,
            channel=channel,
            destination=value,
            purpose=CodeDevice.Purpose.PAYMENT_PASSWORD_RESET,
            ticket=None,
            used_at__isnull=True,
        )
        .order_by("-pk")
        .first()
    )


def decoy_key(channel: str, value: str) -> str:
    digest = salted_hmac("accounts.self_service.decoy", f"{channel}:{value}", algorithm="sha256")
    return f"codes:decoy:{digest.hexdigest()[:32]}"


class Decoy:
    """The code step of a reset for a contact no wallet has: every code is wrong, and the
    back-off after CODE_MAX_TRIES wrong ones is the real code's, counted per contact in the
    cache like a real code's on its device, so a resend or a new session resets neither."""

    KEEP_SECONDS = 24 * 3600

    def __init__(self, key: str):
        self.key = key
        self.failures, failed_at = cache.get(key) or (0, None)
        self.failed_at = datetime.fromtimestamp(failed_at, tz=UTC) if failed_at else None

    def check(self, code: str) -> bool:
        until = otp.backoff_until(self.failures, self.failed_at)
        if until is not None:
            raise CodeLocked(
                _("Too many wrong codes. You can try again in %(n)s seconds.")
                % {"n": max(1, int((until - timezone.now()).total_seconds() + 0.999))},
                until=until,
            )
        otp.digest(0, code)
        self.failures += 1
        self.failed_at = timezone.now()
        cache.set(self.key, (self.failures, self.failed_at.timestamp()), self.KEEP_SECONDS)
        return False


def check_reset_code(device_id: int | None, code: str, *, decoy_key: str) -> bool:
    """Step 2: whether ``code`` is the reset code. Raises CodeLocked after too many wrong
    tries. Without a device, a `Decoy` for the contact (``decoy_key``) stands in."""
    device = (
        CodeDevice.objects.filter(
            pk=device_id, purpose=CodeDevice.Purpose.PAYMENT_PASSWORD_RESET
        ).first()
        if device_id is not None
        else None
    )
    if device is None:
        return Decoy(decoy_key).check(code)
    return codes.check_code(device, code)


def validate_payment_password(value: str) -> None:
    """Six digits, and not one anybody would guess: refuses repeated digits (111111),
    runs up or down (123456, 654321, 890123), repeated pairs or triples (121212, 123123)."""
    if not re.fullmatch(rf"\d{{{PASSWORD_DIGITS}}}", value or ""):
        raise ValidationError(_("The payment password must be exactly 6 digits."), code="format")
    digits = [int(char) for char in value]
    steps = {(b - a) % 10 for a, b in pairwise(digits)}
    if steps in ({1}, {9}):
        raise ValidationError(
            _("Digits counting up or down, like 123456 or 654321, are too easy to guess."),
            code="run",
        )
    for period in (1, 2, 3):
        if value == (value[:period] * PASSWORD_DIGITS)[:PASSWORD_DIGITS]:
            raise ValidationError(
                _("Repeated digits or patterns, like 111111 or 121212, are too easy to guess."),
                code="repeated",
            )


def reset_payment_password(
    device_id: int, *, new_password: str, acting_user=None, client_ip: str | None = None
) -> WalletAccount:
    """Step 3: set the new payment password of the wallet whose reset code ``device_id``
    was just confirmed. A lock from wrong passwords is lifted and the count reset; both
    contacts are told. Raises ValidationError for a weak password or a stale code."""
    validate_payment_password(new_password)
    with transaction.atomic():
        device = (
            CodeDevice.objects.select_related("account__customer")
            .filter(pk=device_id, purpose=CodeDevice.Purpose.PAYMENT_PASSWORD_RESET)
            .first()
        )
        if (
            device is None
            or device.used_at is None
            or timezone.now() - device.used_at > RESET_GRANT
        ):
            raise ValidationError(_("This reset has expired. Please start again."), code="expired")
        wallet = WalletAccount.objects.select_for_update().get(pk=device.account_id)
        already = AccountEvent.objects.filter(
            account=wallet,
            action=AccountEvent.Action.PAYMENT_PASSWORD_RESET,
            details__device=device.pk,
        ).exists()
        if already:
            raise ValidationError(
                _("This reset has already been used. Please start again."), code="used"
            )
        wallet.set_payment_password(new_password)
        wallet.failed_password_attempts = 0
        unlocked = (
            wallet.status == WalletAccount.Status.LOCKED
            and wallet.lock_reason == WalletAccount.LockReason.WRONG_PASSWORD
        )
        if unlocked:
            wallet.status = WalletAccount.Status.ACTIVE
            wallet.lock_reason = WalletAccount.LockReason.NONE
        wallet.save(
            update_fields=[
                "payment_password",
                "failed_password_attempts",
                "status",
                "lock_reason",
                "updated_at",
            ]
        )
        proof = {
            "method": "one_time_code",
            "device": device.pk,
            "channel": device.channel,
            "destination": mask_identity(device.channel, device.destination),
        }
        record_event(
            customer=wallet.customer,
            account=wallet,
            acting_user=acting_user,
            action=AccountEvent.Action.PAYMENT_PASSWORD_RESET,
            reason=_("Self-service reset"),
            verification=proof,
            details={"device": device.pk, "unlocked": unlocked, "client_ip": client_ip or ""},
        )
        if unlocked:
            record_event(
                customer=wallet.customer,
                account=wallet,
                acting_user=acting_user,
                action=AccountEvent.Action.UNLOCK,
                reason=_("Payment password reset by the customer"),
                verification=proof,
                details={"lock_reason": WalletAccount.LockReason.WRONG_PASSWORD},
            )
        tell_customer(wallet, event="payment_password_reset")
    logger.info("payment password of wallet %s reset (unlocked: %s)", wallet.pk, unlocked)
    wallet.unlocked_by_reset = unlocked  # for the page's answer
    return wallet


# --- the contact change ---------------------------------------------------------------------


@dataclass(frozen=True)
class ContactChangeStarted:
    kind: str
    new_value: str
    old_device_id: int
    new_device_id: int
    old_masked: str
    new_masked: str


def start_contact_change(
    wallet: WalletAccount,
    *,
    acting_user,
    new_contact: str,
    client_ip: str | None,
    language: str = "",
) -> ContactChangeStarted:
    """Send one code to the registered contact (the old one of the same kind, else the
    other kind) and one to ``new_contact``. Raises ValidationError or CodeNotSent."""
    _require_owner(wallet, acting_user)
    kind, value = parse_contact(new_contact)
    current = wallet.registered_phone if kind == "phone" else wallet.registered_email
    if current and current.lower() == value.lower():
        raise ValidationError(_("This is already your registered contact."))
    if wallet_for_contact(kind, value) is not None:
        # Costs the two codes a change sends: whether a contact is another wallet's can be
        # asked only as often as the wallet's hourly code limit allows.
        codes.spend_account_quota(wallet, client_ip, codes=2)
        raise ValidationError(
            _("This phone number or email cannot be used. Please contact our support team.")
        )
    old_kind, old_value = _old_contact(wallet, kind)
    old_device = codes.send_code(
        wallet,
        channel=old_kind,
        purpose=CodeDevice.Purpose.CONTACT_CHANGE_OLD,
        destination=old_value,
        client_ip=client_ip,
        language=language,
    )
    new_device = codes.send_code(
        wallet,
        channel=kind,
        purpose=CodeDevice.Purpose.CONTACT_CHANGE_NEW,
        destination=value,
        client_ip=client_ip,
        language=language,
    )
    return ContactChangeStarted(
        kind=kind,
        new_value=value,
        old_device_id=old_device.pk,
        new_device_id=new_device.pk,
        old_masked=mask_identity(old_kind, old_value),
        new_masked=mask_identity(kind, value),
    )


def _old_contact(wallet: WalletAccount, kind: str) -> tuple[str, str]:
    same = wallet.registered_phone if kind == "phone" else wallet.registered_email
    if same:
        return kind, same
    if wallet.registered_phone:
        return "phone", wallet.registered_phone
    if wallet.registered_email:
        return "email", wallet.registered_email
    raise ValidationError(
        _(
            "Your wallet has no registered contact to confirm this change. Please contact our "
            "support team."
        )
    )


def confirm_contact_change(
    wallet: WalletAccount,
    *,
    acting_user,
    old_device_id: int,
    new_device_id: int,
    old_code: str,
    new_code: str,
    client_ip: str | None = None,
) -> WalletAccount:
    """Check both codes and, when both are right, register the new contact; the old and
    the new contact are told. Raises ValidationError naming the wrong code, or CodeLocked."""
    _require_owner(wallet, acting_user)
    old_device = _contact_device(wallet, old_device_id, CodeDevice.Purpose.CONTACT_CHANGE_OLD)
    new_device = _contact_device(wallet, new_device_id, CodeDevice.Purpose.CONTACT_CHANGE_NEW)
    errors = {}
    # A device already used by a first submission (the other code was wrong) stays good.
    if old_device.used_at is None and not codes.check_code(old_device, old_code):
        errors["old_code"] = _("The code sent to your current contact is wrong or has expired.")
    if new_device.used_at is None and not codes.check_code(new_device, new_code):
        errors["new_code"] = _("The code sent to your new contact is wrong or has expired.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        wallet = WalletAccount.objects.select_for_update().get(pk=wallet.pk)
        for device in (old_device, new_device):
            device.refresh_from_db()
            if device.used_at is None or timezone.now() - device.used_at > RESET_GRANT:
                raise ValidationError(_("This change has expired. Please start again."))
        if AccountEvent.objects.filter(
            account=wallet,
            action=AccountEvent.Action.CONTACT_CHANGED,
            details__new_device=new_device.pk,
        ).exists():
            raise ValidationError(_("This change has already been made."))
        kind, value = new_device.channel, new_device.destination
        owner = wallet_for_contact(kind, value)
        if owner is not None and owner.pk != wallet.pk:
            # Checked when the codes were sent; another wallet (through an agent) may have
            # taken the contact since.
            raise ValidationError(
                _("This phone number or email cannot be used. Please contact our support team.")
            )
        field = "registered_phone" if kind == "phone" else "registered_email"
        old_value = getattr(wallet, field)
        setattr(wallet, field, value)
        wallet.save(update_fields=[field, "updated_at"])
        link_registered_contact(wallet.customer, kind=kind, value=value, acting_user=acting_user)
        record_event(
            customer=wallet.customer,
            account=wallet,
            acting_user=acting_user,
            action=AccountEvent.Action.CONTACT_CHANGED,
            reason=_("Self-service change"),
            verification={
                "method": "one_time_codes",
                "old": mask_identity(old_device.channel, old_device.destination),
                "new": mask_identity(kind, value),
            },
            details={
                "kind": kind,
                "old": mask_identity(kind, old_value),
                "new": mask_identity(kind, value),
                "old_device": old_device.pk,
                "new_device": new_device.pk,
                "client_ip": client_ip or "",
            },
        )
        tell_customer(wallet, event="contact_changed", also_to=[old_value] if old_value else [])
    logger.info("wallet %s: registered %s changed by its owner", wallet.pk, kind)
    return wallet


def customer_wallet(user) -> WalletAccount | None:
    """The signed-in customer's wallet (the first open one), if the login is a customer's."""
    if user is None or not user.is_authenticated:
        return None
    customer = getattr(user, "customer", None)
    if customer is None:
        return None
    return customer.wallets.exclude(status=WalletAccount.Status.CLOSED).order_by("pk").first()


def _require_owner(wallet: WalletAccount, user) -> None:
    owner = customer_wallet(user)
    if owner is None or owner.customer_id != wallet.customer_id:
        raise PermissionDenied(_("Only the wallet's owner, signed in, can do this."))


def _contact_device(wallet: WalletAccount, device_id: int, purpose: str) -> CodeDevice:
    device = CodeDevice.objects.filter(pk=device_id, account=wallet, purpose=purpose).first()
    if device is None:
        raise ValidationError(_("This change has expired. Please start again."))
    return device
