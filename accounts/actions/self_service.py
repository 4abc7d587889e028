"""Customers' own security changes: the payment-password reset and the contact change.

The pages (accounts.views) keep the flow's state in the session and call these. Both flows
prove possession of a registered contact with a one-time code (accounts.codes). The reset
then asks for a second thing the wallet knows (`check_second_factor`, by the
SELF_SERVICE_SECOND_FACTOR policy); the contact change is for a customer the MY Wallet app
signed in (`sign_in_with_app`, accounts.app_session). The customer acts for themselves, so
the audit rows name the customer as the actor kind, with no user of ours.

The reset never tells whether a phone number or email belongs to a wallet: `start_reset`
does the same for every contact (the client address's and the contact's quotas spent, one
task queued) and the task (`send_reset_code`) finds the wallet and sends the code in the
background, so the page's answer, its cost and its time are the same; for a contact no
wallet has the code step simply never accepts a code, with the same back-off after five
tries as a real one. So the second question, asked
only after a right code, is never reached for a contact no wallet has; and its answers do
not tell whether the wallet has the data asked for on record.
"""

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.tasks import task
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from mywallet_support.masking import mask_identity

from .. import app_identity, codes, otp, verification
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


# --- signing in through the app -------------------------------------------------------------


def sign_in_with_app(token: str, *, client_ip: str | None) -> WalletAccount:
    """The wallet whose customer the app's ``token`` proves, for the self-service pages;
    the sign-in is audited. Raises AppTokenRefused (its message is for the customer) for a
    token that proves nothing, and for a closed wallet."""
    identity = app_identity.verify(token, audience=app_identity.AUDIENCE_ACCOUNT)
    wallet = identity.account
    if wallet.status == WalletAccount.Status.CLOSED:
        logger.info("app sign-in refused for wallet %s: closed", wallet.pk)
        raise app_identity.AppTokenRefused("closed_wallet")
    with transaction.atomic():
        record_event(
            customer=wallet.customer,
            account=wallet,
            action=AccountEvent.Action.IDENTITY_VERIFIED,
            reason=_("Signed in to the self-service pages through the MY Wallet app"),
            verification={"method": "app_token", "key_id": identity.key_id},
            details={"surface": "account", "client_ip": client_ip or ""},
            by_customer=True,
        )
    logger.info("wallet %s signed in to the self-service pages through the app", wallet.pk)
    return wallet


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
        wallets = wallets.alias(email_lower=Lower("registered_email")).filter(
            email_lower=value.lower()
        )
    return wallets.order_by("pk").first()


# --- the payment-password reset -------------------------------------------------------------


@dataclass(frozen=True)
class ResetStarted:
    """What the page keeps for the code step: the same for every contact of a kind (the
    request does not know, nor tell, whether a wallet has it)."""

    channel: str
    value: str  # the contact, normalised: the code step finds the code by it
    masked: str  # the contact as typed, masked
    wallet_id: int | None  # only for a customer the app signed in (their own wallet)
    decoy_key: str = ""  # where a stand-in code's wrong tries are counted (no personal data)


def start_reset(
    contact: str | None = None,
    *,
    wallet: WalletAccount | None = None,
    channel: str = "",
    client_ip: str | None,
    language: str = "",
) -> ResetStarted:
    """Step 1: ask for a reset code to ``contact``. A signed-in customer passes their own
    ``wallet`` and the ``channel`` of the registered contact instead.

    The request does the same work for every contact, whether or not a wallet has it: it
    spends the client address's and the contact's hourly quotas (`codes.spend_request_quota`)
    and queues `send_reset_code`, which finds the wallet, makes the code and sends it in the
    background. So the answer, its quota and its time tell nothing. Raises ValidationError
    for a malformed contact and CodeNotSent for the address's or the contact's limit.
    """
    if wallet is None:
        channel, value = parse_contact(contact)
        wallet_id = None
    else:
        value = wallet.registered_phone if channel == "phone" else wallet.registered_email
        if not value:
            raise ValidationError(_("Your wallet has no registered contact of this kind."))
        wallet_id = wallet.pk
    masked = mask_identity(channel, value)
    codes.spend_request_quota(client_ip, channel, value)
    transaction.on_commit(
        lambda: send_reset_code.enqueue(channel, value, wallet_id, client_ip or "", language),
        robust=True,
    )
    logger.info("payment-password reset asked for %s", masked)
    return ResetStarted(
        channel=channel,
        value=value,
        masked=masked,
        wallet_id=wallet_id,
        decoy_key=decoy_key(channel, value),
    )


@task(queue_name="default")
def send_reset_code(
    channel: str, value: str, wallet_id: int | None, client_ip: str, language: str
) -> str:
    """The background half of `start_reset`: the wallet with this contact (or the signed-in
    customer's ``wallet_id``) gets a reset code, generated and sent here. A contact no wallet
    has gets nothing, and every refusal (the wallet's hourly limit, the cool-down, a failed
    delivery) is logged masked: none of it reaches the page. The request has already spent
    the address's quota, so only the wallet's is taken here. Returns what happened, in
    words without personal data."""
    if wallet_id is not None:
        wallet = WalletAccount.objects.select_related("customer").filter(pk=wallet_id).first()
    else:
        wallet = wallet_for_contact(channel, value)
    if wallet is None:
        return "no wallet"
    try:
        codes.send_code(
            wallet,
            channel=channel,
            purpose=CodeDevice.Purpose.PAYMENT_PASSWORD_RESET,
            destination=value,
            client_ip=client_ip or None,
            language=language,
            address_counted=True,
        )
    except CodeNotSent as exc:
        logger.info("payment-password reset code for wallet %s not sent: %s", wallet.pk, exc.reason)
        return f"not sent: {exc.reason}"
    return "sent"


def reset_device(channel: str, value: str, wallet_id: int | None = None) -> CodeDevice | None:
    """The newest unused reset code sent to this contact (of the signed-in customer's
    ``wallet_id``, else of the wallet that has the contact), if any."""
    wallet = (
        WalletAccount.objects.filter(pk=wallet_id).first()
        if wallet_id is not None
        else wallet_for_contact(channel, value)
    )
    if wallet is None:
        return None
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


def check_reset_code(started: ResetStarted, code: str) -> int | None:
    """Step 2: the reset's device when ``code`` is the code sent for ``started``, else None.
    Raises CodeLocked after too many wrong tries. Without a code sent (no wallet has the
    contact, or its send was refused), a `Decoy` for the contact stands in."""
    device = reset_device(started.channel, started.value, started.wallet_id)
    if device is None:
        Decoy(started.decoy_key).check(code)
        return None
    return device.pk if codes.check_code(device, code) else None


# --- the reset's second factor --------------------------------------------------------------

ID_LAST4 = "id_last4"
RECENT_TRANSACTION = "recent_transaction"


@dataclass(frozen=True)
class SecondFactorAnswer:
    """What the customer answered, checked for its format at the edge (the form)."""

    id_last4: str = ""
    amount: Decimal | None = None
    merchant: str = ""


class SecondFactorRefused(Exception):
    """No answer is checked now. ``restart``: this reset is over (too many wrong answers,
    or it expired), a new code is needed; otherwise a lock that passes with time."""

    def __init__(self, message: str, *, restart: bool):
        super().__init__(message)
        self.restart = restart


def second_factor() -> str:
    """The policy's question: ID_LAST4 or RECENT_TRANSACTION."""
    return settings.SELF_SERVICE_SECOND_FACTOR


def check_second_factor(
    device_id: int, answer: SecondFactorAnswer, *, client_ip: str | None
) -> bool:
    """Step 3 of the reset, after a right code on ``device_id``: whether ``answer`` is
    right. A right answer is recorded (IDENTITY_VERIFIED, naming the code's device), and
    `reset_payment_password` wants that record. A wrong one is recorded and counted for the
    reset, the contact and the client address. Raises SecondFactorRefused when this reset
    has had its SELF_SERVICE_SECOND_FACTOR_TRIES (or expired), or while the contact or the
    address is locked. The answer is never stored or logged."""
    with transaction.atomic():
        # Locked: answers sent in parallel for one reset are counted one after the other.
        device = _confirmed_reset_device(device_id)
        if device is None:
            raise SecondFactorRefused(
                _("This reset has expired. Please start again."), restart=True
            )
        counters = _SecondFactorCounters(device, client_ip)
        counters.refuse_if_spent()
        policy = second_factor()
        right = _second_factor_matches(device.account, policy, answer)
        if not right:
            counters.count_failure()
        record_event(
            customer=device.account.customer,
            account=device.account,
            action=(
                AccountEvent.Action.IDENTITY_VERIFIED
                if right
                else AccountEvent.Action.VERIFICATION_FAILED
            ),
            reason=(
                _("Self-service reset: second factor")
                if right
                else _("Self-service reset: wrong answer to the second question")
            ),
            verification={"method": policy},
            details={"device": device.pk, "second_factor": policy, "client_ip": client_ip or ""},
            by_customer=True,
        )
    if right:
        return True
    logger.info("wrong second factor for the reset of wallet %s", device.account_id)
    counters.refuse_if_spent()  # the last try: say so now rather than at the next answer
    return False


def _confirmed_reset_device(device_id: int | None) -> CodeDevice | None:
    """The reset's device, locked, if its code was confirmed within RESET_GRANT."""
    device = (
        CodeDevice.objects.select_for_update(of=("self",))
        .select_related("account__customer")
        .filter(pk=device_id, purpose=CodeDevice.Purpose.PAYMENT_PASSWORD_RESET)
        .first()
    )
    if device is None or device.used_at is None or timezone.now() - device.used_at > RESET_GRANT:
        return None
    return device


def _second_factor_matches(wallet: WalletAccount, policy: str, answer: SecondFactorAnswer) -> bool:
    """Compares with what the wallet has on record. A wallet without it (no ID number, no
    recent payment) does the same work and is simply never matched, so the answers do not
    tell what is on record."""
    if policy == RECENT_TRANSACTION:
        answers = verification.normalise_answers(
            {"transaction_amount": answer.amount, "transaction_merchant": answer.merchant}
        )
        passed, _failed = verification.check_answers(wallet, answers)
        return verification.TRANSACTION in passed
    expected = (wallet.national_id or "")[-4:].upper()
    # A stand-in no answer can match (it is not 4 characters), compared at the same cost.
    expected = expected if len(expected) == 4 else secrets.token_hex(8)
    said = "".join(answer.id_last4.split()).upper()
    return constant_time_compare(_answer_digest(said), _answer_digest(expected))


def _answer_digest(value: str) -> str:
    return salted_hmac("accounts.self_service.second_factor", value, algorithm="sha256").hexdigest()


def second_factor_reset_key(device_id: int) -> str:
    return f"selfservice:second:reset:{device_id}"


def second_factor_contact_key(channel: str, value: str) -> str:
    digest = salted_hmac(
        "accounts.self_service.second_factor.contact", f"{channel}:{value}", algorithm="sha256"
    )
    return f"selfservice:second:contact:{digest.hexdigest()[:32]}"


def second_factor_address_key(client_ip: str) -> str:
    return f"selfservice:second:address:{client_ip}"


class _SecondFactorCounters:
    """Wrong answers, in the cache: for this reset (its device), for the contact the code
    went to (whatever reset or session), and for the client address. The contact's and the
    address's counts lock for SELF_SERVICE_SECOND_FACTOR_LOCK_MINUTES from the first wrong
    answer once they reach SELF_SERVICE_SECOND_FACTOR_LOCK_AFTER."""

    def __init__(self, device: CodeDevice, client_ip: str | None):
        self.reset_key = second_factor_reset_key(device.pk)
        self.lock_keys = [second_factor_contact_key(device.channel, device.destination)]
        if client_ip:
            self.lock_keys.append(second_factor_address_key(client_ip))

    def refuse_if_spent(self) -> None:
        if any(
            (cache.get(key) or 0) >= settings.SELF_SERVICE_SECOND_FACTOR_LOCK_AFTER
            for key in self.lock_keys
        ):
            raise SecondFactorRefused(
                _("Too many wrong answers. Please try again in %(n)s minutes.")
                % {"n": settings.SELF_SERVICE_SECOND_FACTOR_LOCK_MINUTES},
                restart=False,
            )
        if (cache.get(self.reset_key) or 0) >= settings.SELF_SERVICE_SECOND_FACTOR_TRIES:
            raise SecondFactorRefused(
                _("Too many wrong answers for this reset. Please start again with a new code."),
                restart=True,
            )

    def count_failure(self) -> None:
        lock_seconds = settings.SELF_SERVICE_SECOND_FACTOR_LOCK_MINUTES * 60
        reset_seconds = int(RESET_GRANT.total_seconds())
        for key in [self.reset_key, *self.lock_keys]:
            seconds = reset_seconds if key == self.reset_key else lock_seconds
            if not cache.add(key, 1, seconds):
                try:
                    cache.incr(key)
                except ValueError:  # expired between the two calls
                    cache.set(key, 1, seconds)


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
    device_id: int, *, new_password: str, client_ip: str | None = None
) -> WalletAccount:
    """Step 4: set the new payment password of the wallet whose reset code ``device_id``
    was just confirmed, and its second factor answered. A lock from wrong passwords is
    lifted and the count reset; both contacts are told. Raises ValidationError for a weak
    password, a stale code or a missing second factor."""
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
        second = (
            AccountEvent.objects.filter(
                account=wallet,
                action=AccountEvent.Action.IDENTITY_VERIFIED,
                details__device=device.pk,
            )
            .values_list("details__second_factor", flat=True)
            .first()
        )
        if second is None:
            raise ValidationError(
                _("Please answer the second question first. Please start again."),
                code="second_factor",
            )
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
            "second_factor": second,
        }
        record_event(
            customer=wallet.customer,
            account=wallet,
            action=AccountEvent.Action.PAYMENT_PASSWORD_RESET,
            reason=_("Self-service reset"),
            verification=proof,
            details={"device": device.pk, "unlocked": unlocked, "client_ip": client_ip or ""},
            by_customer=True,
        )
        if unlocked:
            record_event(
                customer=wallet.customer,
                account=wallet,
                action=AccountEvent.Action.UNLOCK,
                reason=_("Payment password reset by the customer"),
                verification=proof,
                details={"lock_reason": WalletAccount.LockReason.WRONG_PASSWORD},
                by_customer=True,
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
    new_contact: str,
    client_ip: str | None,
    language: str = "",
) -> ContactChangeStarted:
    """Send one code to the registered contact (the old one of the same kind, else the
    other kind) and one to ``new_contact``. ``wallet`` is the one whose customer the app
    signed in (accounts.app_session): the customer acts. Raises ValidationError or
    CodeNotSent."""
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
    old_device_id: int,
    new_device_id: int,
    old_code: str,
    new_code: str,
    client_ip: str | None = None,
) -> WalletAccount:
    """Check both codes and, when both are right, register the new contact; the old and
    the new contact are told. ``wallet`` is the signed-in customer's, as for
    `start_contact_change`. Raises ValidationError naming the wrong code, or CodeLocked."""
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
        link_registered_contact(wallet.customer, kind=kind, value=value)
        record_event(
            customer=wallet.customer,
            account=wallet,
            by_customer=True,
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


def _contact_device(wallet: WalletAccount, device_id: int, purpose: str) -> CodeDevice:
    device = CodeDevice.objects.filter(pk=device_id, account=wallet, purpose=purpose).first()
    if device is None:
        raise ValidationError(_("This change has expired. Please start again."))
    return device
