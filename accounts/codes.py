"""One-time codes to a wallet's phone (SMS) or email: sending and checking.

A code is a django-otp side-channel device (`CodeDevice`): six random digits, valid
``CODE_VALID_SECONDS``, a new one only after ``CODE_RESEND_SECONDS`` (django-otp's
cool-down), and after ``CODE_MAX_TRIES`` wrong tries a back-off that doubles with each
further one (django-otp's throttling). Only a keyed digest of the code is stored; the code
itself exists in memory and in the message to the customer, never in a log line nor in the
task queue.

The self-service reset's codes leave from a task (`self_service.send_reset_code`, which
calls `send_code` in the worker), which generates the code there: it is never in the task
table's arguments or result; the contact change's leave at once. Agents send no codes:
they ask the customer to confirm on their own device (accounts.confirmations), and no one is
ever read a code.

Sending is limited per wallet and per client address in an hour (Django's cache), so a
stolen phone number cannot be flooded and one client cannot probe many wallets. Agents and
customers draw on separate budgets (``started_by``): anonymous self-service requests that
use up the customer's budget must not stop an agent from verifying the caller on the phone
(CODE_LIMIT_PER_ACCOUNT_HOUR for customers, CODE_AGENT_LIMIT_PER_ACCOUNT_HOUR for agents).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.models import GenerateNotAllowed
from django_otp.util import random_number_token

from mywallet_support.mail import DeliveryError, customer_language, transmit
from mywallet_support.masking import mask_identity

from .audit import record_event
from .identities import normalise_identity
from .models import AccountEvent, CodeDevice, WalletAccount
from .otp import digest, locked_until
from .sms import SMSError, send_sms

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
_LIMIT_WINDOW = 3600  # seconds: the per-account and per-address limits are per hour

# Who started a send: each has its own hourly budgets (see the module's docstring).
BY_CUSTOMER = "customer"
BY_AGENT = "agent"

# No code is sent for an agent's verification (the customer confirms on their own device,
# accounts.confirmations): a code "for our support team" would invite reading it out.
PURPOSE_TEXT = {
    CodeDevice.Purpose.PAYMENT_PASSWORD_RESET: gettext_lazy("to reset your payment password"),
    CodeDevice.Purpose.CONTACT_CHANGE_OLD: gettext_lazy("to change your registered contact"),
    CodeDevice.Purpose.CONTACT_CHANGE_NEW: gettext_lazy("to confirm your new contact"),
}


class CodeNotSent(Exception):
    """No code was sent; ``str(exc)`` is a reason to show the user, ``reason`` one of the
    constants below, ``retry_at`` when a new try may succeed (if known)."""

    COOLDOWN = "cooldown"
    ACCOUNT_LIMIT = "account_limit"
    ADDRESS_LIMIT = "address_limit"
    CONTACT_LIMIT = "contact_limit"
    NO_DESTINATION = "no_destination"
    DELIVERY_FAILED = "delivery_failed"

    def __init__(self, message: str, *, reason: str, retry_at: datetime | None = None):
        super().__init__(message)
        self.reason = reason
        self.retry_at = retry_at


class CodeLocked(Exception):
    """Too many wrong codes: none is checked before ``until``."""

    def __init__(self, message: str, *, until: datetime):
        super().__init__(message)
        self.until = until


# --- sending -------------------------------------------------------------------------------


def send_code(
    account: WalletAccount,
    *,
    channel: str,
    purpose: str,
    destination: str = "",
    ticket=None,
    client_ip: str | None = None,
    language: str = "",
    address_counted: bool = False,
) -> CodeDevice:
    """Send a fresh code to ``destination`` (default: the wallet's registered phone or
    email for ``channel``) and return its device; a code sent before on the same device
    stops working. Raises CodeNotSent with a reason for the user.

    The request is checked and recorded in its own transaction: the cool-down, the hourly
    limits, the device and the audit row (CODE_SENT). Then the code is generated and
    delivered; a failed delivery voids it (logged masked, the cool-down lifted) and raises
    CodeNotSent. The self-service reset calls this from its task
    (`accounts.actions.self_service.send_reset_code`), so the page never waits for it; its
    request has already spent the client address's quota (``address_counted``), so only the
    wallet's is taken here.

    Call it outside a transaction: the code leaves before yours commits.
    """
    if channel not in CodeDevice.Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    if purpose not in CodeDevice.Purpose.values:
        raise ValueError(f"unknown purpose {purpose!r}")
    destination = _destination(account, channel, destination)
    language = language or account.customer.language
    with transaction.atomic():
        device = _record_request(
            account, channel, purpose, destination, ticket, client_ip, address_counted
        )
        code = _generate(device)
    try:
        _deliver(device, code, language=language)
    except (SMSError, DeliveryFailed) as exc:
        _void(device, code, exc)
        raise CodeNotSent(
            _("We could not send the code just now. Please try again in a few minutes."),
            reason=CodeNotSent.DELIVERY_FAILED,
        ) from exc
    _log_sent(device)
    return device


def _record_request(
    account, channel, purpose, destination, ticket, client_ip, address_counted=False
) -> CodeDevice:
    """The device for a new code, checked against the cool-down and the hourly limits,
    with its cool-down set and the request audited; its previous code no longer works."""
    # One sender per wallet at a time: two quick clicks make one code, not two.
    WalletAccount.objects.select_for_update().filter(pk=account.pk).first()
    device = _current_device(account, channel, purpose, destination, ticket)
    if device is not None:
        _refuse_during_cooldown(device)
    # Codes are the customers' own (self-service); agents send confirmation links instead.
    take_quota(account, client_ip=None if address_counted else client_ip, started_by=BY_CUSTOMER)
    if device is None:
        device = CodeDevice.objects.create(
            name=f"{purpose} {channel}"[:64],
            user=account.customer.user,
            account=account,
            channel=channel,
            destination=destination,
            purpose=purpose,
            ticket=ticket,
            client_ip=client_ip or None,
        )
    device.token = None
    device.client_ip = client_ip or device.client_ip
    device.cooldown_set(commit=False)
    device.save()
    record_event(
        customer=account.customer,
        account=account,
        ticket=ticket,
        action=AccountEvent.Action.CODE_SENT,
        details={
            "device": device.pk,
            "channel": channel,
            "purpose": purpose,
            "destination": mask_identity(channel, destination),
        },
    )
    return device


def _refuse_during_cooldown(device: CodeDevice) -> None:
    allowed, data = device.generate_is_allowed()
    if not allowed and data["reason"] == GenerateNotAllowed.COOLDOWN_DURATION_PENDING:
        raise CodeNotSent(
            _("A code was sent a moment ago. You can ask for a new one in %(n)s seconds.")
            % {"n": _seconds_until(data["next_generation_at"])},
            reason=CodeNotSent.COOLDOWN,
            retry_at=data["next_generation_at"],
        )


def spend_request_quota(client_ip: str | None, channel: str, value: str) -> None:
    """Count one self-service code request against the client address's and the
    contact's hourly limits, before anyone knows whether a wallet has the contact: every
    request costs the same (`accounts.actions.self_service.start_reset`). Raises
    CodeNotSent at either limit, having spent nothing."""
    key = contact_key(channel, value)
    if _count(key) >= settings.CODE_LIMIT_PER_CONTACT_HOUR:
        raise CodeNotSent(
            _("Too many codes were requested for this contact. Please try again in an hour."),
            reason=CodeNotSent.CONTACT_LIMIT,
        )
    _take_address_quota(client_ip)
    _increment(key)


def spend_account_quota(account: WalletAccount, client_ip: str | None, *, codes: int = 1) -> None:
    """Count ``codes`` sends against the wallet's and the address's hourly limits without
    sending anything (a refusal that must cost what the sends would have). Raises
    CodeNotSent when a limit is reached."""
    for _code in range(codes):
        take_quota(account, client_ip=client_ip, started_by=BY_CUSTOMER)


def _destination(account: WalletAccount, channel: str, destination: str) -> str:
    if not destination:
        destination = (
            account.registered_phone
            if channel == CodeDevice.Channel.PHONE
            else account.registered_email
        )
    if not destination:
        raise CodeNotSent(
            _("This wallet has no registered %(channel)s.")
            % {"channel": CodeDevice.Channel(channel).label},
            reason=CodeNotSent.NO_DESTINATION,
        )
    try:
        return normalise_identity(channel, destination)
    except ValidationError as exc:
        raise CodeNotSent(exc.messages[0], reason=CodeNotSent.NO_DESTINATION) from None


def _current_device(account, channel, purpose, destination, ticket) -> CodeDevice | None:
    return (
        CodeDevice.objects.select_for_update()
        .filter(
            account=account,
            channel=channel,
            purpose=purpose,
            destination=destination,
            ticket=ticket,
            used_at__isnull=True,
        )
        .order_by("-pk")
        .first()
    )


def take_quota(account: WalletAccount, *, client_ip: str | None, started_by: str) -> None:
    """Count one send (a code or a confirmation link) against the wallet's and the client
    address's hourly limits of ``started_by``'s budget; raises CodeNotSent at a limit."""
    key = account_key(account.pk, started_by)
    if _count(key) >= _account_limit(started_by):
        raise CodeNotSent(
            _("Too many codes were sent for this wallet. Please try again in an hour."),
            reason=CodeNotSent.ACCOUNT_LIMIT,
        )
    _take_address_quota(client_ip, started_by)
    _increment(key)


def _account_limit(started_by: str) -> int:
    if started_by == BY_AGENT:
        return settings.CODE_AGENT_LIMIT_PER_ACCOUNT_HOUR
    if started_by == BY_CUSTOMER:
        return settings.CODE_LIMIT_PER_ACCOUNT_HOUR
    raise ValueError(f"unknown sender {started_by!r}")


def _take_address_quota(client_ip: str | None, started_by: str = BY_CUSTOMER) -> None:
    if not client_ip:
        return
    key = address_key(client_ip, started_by)
    if _count(key) >= settings.CODE_LIMIT_PER_ADDRESS_HOUR:
        raise CodeNotSent(
            _("Too many codes were requested from your network. Please try again in an hour."),
            reason=CodeNotSent.ADDRESS_LIMIT,
        )
    _increment(key)


def account_key(account_id: int, started_by: str = BY_CUSTOMER) -> str:
    return f"codes:account:{started_by}:{account_id}"


def address_key(client_ip: str, started_by: str = BY_CUSTOMER) -> str:
    # Hashed: the cache need not hold customers' addresses.
    hashed = salted_hmac("accounts.codes.address", client_ip, algorithm="sha256").hexdigest()
    return f"codes:address:{started_by}:{hashed[:32]}"


def contact_key(channel: str, value: str) -> str:
    hashed = salted_hmac("accounts.codes.contact", f"{channel}:{value}", algorithm="sha256")
    return f"codes:contact:{hashed.hexdigest()[:32]}"


def _count(key: str) -> int:
    return cache.get(key) or 0


def _increment(key: str) -> None:
    # A fixed window from the first request: add() starts it, incr() counts within it.
    if not cache.add(key, 1, timeout=_LIMIT_WINDOW):
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, timeout=_LIMIT_WINDOW)


# --- delivery -------------------------------------------------------------------------------


class DeliveryFailed(Exception):
    pass


def _generate(device: CodeDevice) -> str:
    """A new code for ``device``, valid from now; only its digest is stored."""
    code = random_number_token(CODE_DIGITS)
    device.token = digest(device.pk, code)
    device.valid_until = timezone.now() + timedelta(seconds=settings.CODE_VALID_SECONDS)
    device.save(update_fields=["token", "valid_until"])
    return code


def _void(device: CodeDevice, code: str, exc: Exception) -> None:
    """The code never reached anyone: void it and lift the cool-down so the user may try
    again at once. Only this code: a newer one generated meanwhile stays."""
    CodeDevice.objects.filter(pk=device.pk, token=digest(device.pk, code)).update(
        token=None, last_generated_timestamp=None
    )
    # Our own errors' text is safe to log (the log filter masks contacts); another
    # exception's text is not ours to vouch for.
    reason = exc if isinstance(exc, (SMSError, DeliveryFailed)) else type(exc).__name__
    logger.warning(
        "code %s to %s not delivered: %s",
        device.pk,
        mask_identity(device.channel, device.destination),
        reason,
    )


def _log_sent(device: CodeDevice) -> None:
    logger.info(
        "code %s (%s) sent to %s",
        device.pk,
        device.purpose,
        mask_identity(device.channel, device.destination),
    )


@dataclass(frozen=True)
class CodeMessage:
    """A code's text message, and its email's subject and body, in one language."""

    sms: str
    subject: str
    email: str


def code_message(purpose: str, code: str, *, language: str) -> CodeMessage:
    """What a customer receives with a code for ``purpose``. Every one says never to tell the
    code to anyone, staff included (tests/accounts/test_customer_texts.py checks it)."""
    with translation.override(customer_language(language)):
        params = {
            "code": code,
            "purpose": PURPOSE_TEXT[purpose],
            "minutes": settings.CODE_VALID_SECONDS // 60,
        }
        return CodeMessage(
            sms=_(
                "[MY Wallet] Your code is %(code)s, %(purpose)s. It is valid for "
                "%(minutes)s minutes. Never tell it to anyone, not even our staff."
            )
            % params,
            subject=_("Your MY Wallet code: %(code)s") % params,
            email=_(
                "Your code is %(code)s, %(purpose)s.\n\n"
                "It is valid for %(minutes)s minutes. Never tell it to anyone, not even our "
                "staff: MY Wallet will never ask you for it.\n\n"
                "If you did not ask for this code, you can ignore this message; your wallet "
                "has not been changed.\n\n"
                "MY Wallet Support\n"
            )
            % params,
        )


def _deliver(device: CodeDevice, code: str, *, language: str) -> None:
    message = code_message(device.purpose, code, language=language)
    if device.channel == CodeDevice.Channel.PHONE:
        send_sms(device.destination, message.sms)
        return
    email = EmailMessage(
        subject=message.subject,
        body=message.email,
        to=[device.destination],
        headers={"Auto-Submitted": "auto-generated"},
    )
    try:
        transmit(email)
    except DeliveryError as exc:
        raise DeliveryFailed(str(exc)) from exc


# --- checking -------------------------------------------------------------------------------


def check_code(device: CodeDevice, code: str) -> bool:
    """Whether ``code`` is the device's current code; a match uses it up.

    A used or expired code is False. After CODE_MAX_TRIES wrong codes raises CodeLocked
    (with the time it may be tried again) until the back-off has passed. A wrong code is
    recorded (CODE_FAILED) and counted in its own transaction, so that a caller rolling
    back cannot give an attacker free tries: call it outside your transaction.
    """
    code = "".join((code or "").split())
    with transaction.atomic():
        # Locked so that guesses sent in parallel are counted one after the other.
        device = CodeDevice.objects.select_for_update().select_related("account").get(pk=device.pk)
        if device.used_at is not None or not device.token:
            return False
        if timezone.now() >= device.valid_until:
            return False
        until = locked_until(device)
        if until is not None:
            raise CodeLocked(
                _("Too many wrong codes. You can try again in %(n)s seconds.")
                % {"n": _seconds_until(until)},
                until=until,
            )
        if device.verify_token(code):
            return True
        record_event(
            customer=device.account.customer,
            account=device.account,
            ticket=device.ticket,
            action=AccountEvent.Action.CODE_FAILED,
            details={
                "device": device.pk,
                "purpose": device.purpose,
                "failures": device.throttling_failure_count,
            },
        )
    logger.info("wrong code for device %s (%s)", device.pk, device.throttling_failure_count)
    return False


def _seconds_until(when: datetime) -> int:
    return max(1, int((when - timezone.now()).total_seconds() + 0.999))
