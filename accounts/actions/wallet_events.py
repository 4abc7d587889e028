"""Events from the wallet core (POST /api/wallet-events/) and the risk rules they feed:
the account side.

The view (api.views.wallet_events, with api.wallet_signature) checks size and signature,
then hands the raw body to tickets.actions.wallet_events.receive_wallet_event, which runs
the steps below in one transaction: `parse_body` and `parse_event` check it, `claim` stores
it as a WalletEvent (always, as received, whatever the outcome: `store_rejected`,
`store_duplicate`, `store_failed`), `apply_event` acts on the wallet once (an event id seen
before is a duplicate and changes nothing) and says what protection is due; opening the
security ticket, locking or freezing, and telling the customer are the ticket side's.

Payload contract (JSON object, UTF-8)::

    {
      "id": "evt_01HF...",                  # unique per event; retries reuse it
      "type": "payment_failed",             # one of the types below
      "account": "MW6200000001",            # the wallet's account number
      "occurred_at": "2026-11-25T12:14:00+08:00",   # ISO 8601 with offset; default: now
      "data": {...}                         # per type, below
    }

``payment_failed``: ``reference`` (the transaction's, unique), ``amount`` (decimal string
or number, > 0), ``currency`` (default CNY), ``merchant``, ``reason`` (one of
accounts.Transaction.FailureReason: network, insufficient_balance, wrong_password,
risk_blocked, card_declined, limit_exceeded, account_locked, other), optional ``kind``
(default payment), ``device_id``, ``second_factor`` (bool, default false). Stored as a
failed Transaction. Wrong payment passwords are reported by ``payment_password_failed``;
a payment_failed with reason wrong_password does not count a second time.

``payment_password_failed``: optional ``reference``. The wallet's consecutive-failure
count goes up; at WALLET_PASSWORD_MAX_FAILURES the wallet is locked
(accounts.actions.security.lock_wallet), a high-priority security ticket is opened and the
customer told.

``payment_succeeded``: as payment_failed without ``reason``: a succeeded payment. It
resets the consecutive wrong-password count, and its ``device_id`` (only a keyed digest is
kept) becomes a known device of the wallet.

``transaction``: any new or updated transaction: as payment_succeeded plus ``kind``
(payment, top_up, transfer, refund, withdrawal) and ``status`` (succeeded, failed,
pending, reversed; failed ones with ``reason``). The same reference later updates it.

``risk_alert``: ``rule`` (the wallet core's rule name) and ``description``: freezes the
wallet at once, opens a high-priority security ticket, tells the customer.

Risk rules (settings.RISK_RULES; thresholds in settings) run on every payment event, before
the payment's device is remembered:
- ``large_payment_without_second_factor``: amount >= RISK_LARGE_PAYMENT_AMOUNT with
  ``second_factor`` false (not on failed payments: no money moved);
- ``many_failed_payments``: RISK_FAILED_PAYMENTS_COUNT failed payments (this one included)
  within RISK_FAILED_PAYMENTS_MINUTES;
- ``new_device_large_amount``: amount >= RISK_NEW_DEVICE_AMOUNT from a device the wallet
  has never used successfully, when it has used others (a wallet with no known device yet
  has no history to differ from); not on failed payments.
Incoming money (top-ups, refunds) is never checked.
A hit writes a RISK_ALERT AccountEvent naming the rule (`record_risk_hits`), opens one
high-priority security ticket and freezes the wallet (accounts.actions.security.freeze_wallet;
the customer is told "risk_frozen"). An already frozen wallet only gets the RISK_ALERT row.

``occurred_at`` must lie within the last WALLET_EVENTS_MAX_AGE_DAYS and at most
WALLET_EVENTS_MAX_FUTURE_SECONDS ahead of our clock, else the event is refused (400,
``occurred_at_out_of_range``): a time the database cannot hold must not end in a 500 the
wallet core retries forever, nor a date far ahead top the agents' recent payments.

Answers: ``Outcome.http_status`` 200 (processed or duplicate), 400 (not JSON, not an
object, ``occurred_at`` out of range), 422 (a field missing or wrong, an unknown type or
account), 500 (our failure:
stored as failed, without its id, so the wallet core's retry is processed).
"""

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from ..audit import record_event
from ..models import AccountEvent, KnownDevice, Transaction, WalletAccount, WalletEvent

logger = logging.getLogger(__name__)

MAX_AMOUNT = Decimal("1000000000000")
EVENT_TYPES = (
    "payment_failed",
    "payment_password_failed",
    "payment_succeeded",
    "transaction",
    "risk_alert",
)


class Rejected(Exception):
    """The sender's fault: the event is stored as rejected and the answer says why."""

    def __init__(self, http_status: int, code: str, detail: str):
        super().__init__(detail)
        self.http_status, self.code, self.detail = http_status, code, detail


@dataclass(frozen=True)
class Payment:
    reference: str
    amount: Decimal
    currency: str
    merchant: str
    kind: str
    status: str
    failure_reason: str
    device_id: str
    second_factor: bool


@dataclass(frozen=True)
class ParsedEvent:
    event_id: str
    type: str
    account: WalletAccount
    occurred_at: datetime
    payload: dict
    payment: Payment | None = None
    rule: str = ""
    description: str = ""


@dataclass
class Outcome:
    status: str  # a WalletEvent.Status
    http_status: int
    wallet_event: WalletEvent
    code: str = ""
    detail: str = ""
    actions: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        if self.status in (WalletEvent.Status.PROCESSED, WalletEvent.Status.DUPLICATE):
            return {
                "status": self.status,
                "id": self.wallet_event.payload.get("id"),
                "actions": self.actions,
            }
        return {"status": self.status, "error": self.code, "detail": self.detail}


@dataclass
class Handled:
    """What `apply_event` did (``actions``, for the stored event's reason) and what
    protection is now due: a lock after too many wrong passwords, or the risk rules hit,
    each (rule, reason, details)."""

    actions: list[str] = field(default_factory=list)
    lock: bool = False
    risk_hits: list[tuple[str, str, dict]] = field(default_factory=list)


# --- intake ---------------------------------------------------------------------------------

# What a refused, unauthenticated request leaves: this many first bytes of its body.
SAMPLE_BYTES = 256
_REFUSED_WINDOW = 3600  # seconds: refused requests are counted per address and hour


def refused_key(client_ip: str) -> str:
    # Hashed: the cache need not hold the senders' addresses.
    hashed = salted_hmac("accounts.wallet_events.refused", client_ip, algorithm="sha256")
    return f"wallet_events:refused:{hashed.hexdigest()[:32]}"


def refusals_spent(client_ip: str | None) -> bool:
    """Whether this address has had its WALLET_EVENTS_REFUSED_PER_ADDRESS_HOUR refused
    requests this hour: its next refused one is answered 429 and leaves nothing."""
    if not client_ip:
        return False
    return (
        cache.get(refused_key(client_ip)) or 0
    ) >= settings.WALLET_EVENTS_REFUSED_PER_ADDRESS_HOUR


def count_refusal(client_ip: str | None) -> None:
    if not client_ip:
        return
    key = refused_key(client_ip)
    # A fixed window from the first refusal: add() starts it, incr() counts within it.
    if not cache.add(key, 1, timeout=_REFUSED_WINDOW):
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, timeout=_REFUSED_WINDOW)


def sample_refused(
    received: bytes, *, size: int, code: str, detail: str, client_ip: str | None
) -> WalletEvent:
    """Keep a request refused before its signature was proven (too large, bad signature)
    as a bounded sample: the SHA-256 of the ``received`` bytes, the body's ``size``, its
    first SAMPLE_BYTES, the reason and the client address. The same bytes from the same
    address within the hour add to the row's ``repeats`` instead of a new row, so an
    address leaves at most WALLET_EVENTS_REFUSED_PER_ADDRESS_HOUR small rows an hour."""
    digest = hashlib.sha256(received).hexdigest()
    reason = f"{code}: {detail}"
    repeated = WalletEvent.objects.filter(
        status=WalletEvent.Status.REJECTED,
        client_ip=client_ip,
        body_sha256=digest,
        reason=reason,
        received_at__gte=timezone.now() - timedelta(seconds=_REFUSED_WINDOW),
    ).update(repeats=F("repeats") + 1)
    if repeated:
        return WalletEvent.objects.filter(
            status=WalletEvent.Status.REJECTED, client_ip=client_ip, body_sha256=digest
        ).first()
    return WalletEvent.objects.create(
        event_id=None,
        body=received[:SAMPLE_BYTES],
        body_sha256=digest,
        body_size=size,
        client_ip=client_ip,
        status=WalletEvent.Status.REJECTED,
        reason=reason,
    )


def store_rejected(body: bytes, *, code: str, detail: str, payload: Any = None) -> WalletEvent:
    """Keep a signed body the content checks refused, whole, as evidence (the wallet core
    sent it; at most WALLET_EVENTS_MAX_BYTES)."""
    kind = payload.get("type", "") if isinstance(payload, dict) else ""
    return WalletEvent.objects.create(
        event_id=None,
        kind=str(kind)[:40],
        body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
        body_size=len(body),
        payload=payload if isinstance(payload, dict) else {},
        status=WalletEvent.Status.REJECTED,
        reason=f"{code}: {detail}",
    )


def store_duplicate(event: ParsedEvent, body: bytes, payload: dict) -> Outcome:
    """A second delivery of a processed event id: kept, answered 200, acted on not again."""
    duplicate = WalletEvent.objects.create(
        event_id=None,
        kind=event.type,
        account=event.account,
        body=body,
        payload=payload,
        status=WalletEvent.Status.DUPLICATE,
        reason=_("Event id already processed."),
    )
    return Outcome(WalletEvent.Status.DUPLICATE, 200, duplicate)


def store_failed(body: bytes, payload: dict) -> Outcome:
    """Our failure: stored without its id, so that the wallet core's retry is processed."""
    failed = WalletEvent.objects.create(
        kind=str(payload.get("type", ""))[:40],
        body=body,
        payload=payload,
        status=WalletEvent.Status.FAILED,
        reason=_("Processing failed on our side; the wallet core may retry."),
    )
    return Outcome(
        WalletEvent.Status.FAILED,
        500,
        failed,
        code="internal_error",
        detail="The event could not be processed; retry later with the same id.",
    )


def rejected(body: bytes, exc: "Rejected", *, payload) -> Outcome:
    """The sender's fault: the body kept as rejected, the answer saying why."""
    stored = store_rejected(body, code=exc.code, detail=exc.detail, payload=payload)
    logger.info("wallet event rejected: %s (%s)", exc.code, exc.detail)
    return Outcome(
        WalletEvent.Status.REJECTED, exc.http_status, stored, code=exc.code, detail=exc.detail
    )


def processed(stored: WalletEvent, event: ParsedEvent, actions: list[str]) -> Outcome:
    if actions:
        WalletEvent.objects.filter(pk=stored.pk).update(reason=", ".join(actions))
    logger.info(
        "wallet event %s (%s) for wallet %s: %s",
        event.event_id,
        event.type,
        event.account.pk,
        ", ".join(actions) or "stored",
    )
    return Outcome(WalletEvent.Status.PROCESSED, 200, stored, actions=actions)


def apply_event(event: ParsedEvent) -> Handled:
    """Act on a claimed event's account side (transactions, counts, known devices, audit)
    and say what protection is due. Call it inside the transaction that claimed it."""
    return HANDLERS[event.type](event)


def claim(event: ParsedEvent, body: bytes) -> WalletEvent | None:
    """The event's row, or None when its id was processed already (also by a writer
    racing us: the unique id makes the second insert wait for the first and fail)."""
    if WalletEvent.objects.filter(event_id=event.event_id).exists():
        return None
    try:
        with transaction.atomic():
            return WalletEvent.objects.create(
                event_id=event.event_id,
                kind=event.type,
                account=event.account,
                body=body,
                payload=event.payload,
                status=WalletEvent.Status.PROCESSED,
            )
    except IntegrityError:
        if WalletEvent.objects.filter(event_id=event.event_id).exists():
            return None  # a racing writer took the id
        raise


# --- parsing --------------------------------------------------------------------------------


def parse_body(body: bytes) -> dict:
    """The body as a JSON object the database can store as it is: no NaN or Infinity, no
    NUL or lone surrogates (PostgreSQL's jsonb refuses both), no nesting deep enough to
    exhaust the parser."""
    try:
        payload = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
        json.dumps(payload, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError) as exc:
        reason = type(exc).__name__ if isinstance(exc, RecursionError) else exc
        raise Rejected(400, "invalid_json", f"The body is not UTF-8 JSON ({reason}).") from None
    if "\\u0000" in json.dumps(payload):
        raise Rejected(400, "invalid_json", "The body must not contain NUL characters.")
    if not isinstance(payload, dict):
        raise Rejected(400, "invalid_json", "The body must be a JSON object.")
    return payload


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def parse_event(payload: dict) -> ParsedEvent:
    """Check the envelope and the type's fields; raises Rejected (422) with what is wrong."""
    event_id = _text(payload, "id", required=True, max_length=100)
    kind = _text(payload, "type", required=True, max_length=40)
    if kind not in EVENT_TYPES:
        raise Rejected(
            422, "unknown_type", f"Unknown type {kind!r}; expected one of {', '.join(EVENT_TYPES)}."
        )
    number = _text(payload, "account", required=True, max_length=32)
    account = WalletAccount.objects.select_related("customer").filter(number=number).first()
    if account is None:
        raise Rejected(422, "unknown_account", "No wallet has this account number.")
    occurred_at = _time(payload.get("occurred_at"))
    data = payload.get("data", {})
    if not isinstance(data, dict):
        raise Rejected(422, "invalid_field", "'data' must be an object.")
    event = {
        "event_id": event_id,
        "type": kind,
        "account": account,
        "occurred_at": occurred_at,
        "payload": payload,
    }
    if kind == "risk_alert":
        event["rule"] = _text(data, "rule", required=True, max_length=100)
        event["description"] = _text(data, "description", max_length=1000)
    elif kind == "payment_password_failed":
        pass
    else:
        event["payment"] = _payment(kind, data)
    return ParsedEvent(**event)


def _payment(kind: str, data: dict) -> Payment:
    if kind == "transaction":
        txn_kind = _choice(data, "kind", Transaction.Kind, default=Transaction.Kind.PAYMENT)
        status = _choice(data, "status", Transaction.Status, default=Transaction.Status.SUCCEEDED)
    else:
        txn_kind = _choice(data, "kind", Transaction.Kind, default=Transaction.Kind.PAYMENT)
        status = (
            Transaction.Status.FAILED if kind == "payment_failed" else Transaction.Status.SUCCEEDED
        )
    reason = ""
    if status == Transaction.Status.FAILED:
        reason = _choice(data, "reason", Transaction.FailureReason, required=True)
    second_factor = data.get("second_factor", False)
    if not isinstance(second_factor, bool):
        raise Rejected(422, "invalid_field", "'second_factor' must be true or false.")
    currency = _text(data, "currency", max_length=3) or "CNY"
    return Payment(
        reference=_text(data, "reference", required=True, max_length=64),
        amount=_amount(data.get("amount")),
        currency=currency.upper(),
        merchant=_text(data, "merchant", max_length=200),
        kind=txn_kind,
        status=status,
        failure_reason=reason,
        device_id=_text(data, "device_id", max_length=200),
        second_factor=second_factor,
    )


def _text(data: dict, name: str, *, required: bool = False, max_length: int) -> str:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise Rejected(422, "missing_field", f"'{name}' is required.")
        return ""
    if not isinstance(value, str):
        raise Rejected(422, "invalid_field", f"'{name}' must be a string.")
    value = value.strip()
    if len(value) > max_length:
        raise Rejected(422, "invalid_field", f"'{name}' is longer than {max_length} characters.")
    return value


def _choice(data: dict, name: str, choices, *, default: str = "", required: bool = False) -> str:
    value = _text(data, name, required=required, max_length=40) or default
    if value not in choices.values:
        raise Rejected(
            422,
            "invalid_field",
            f"'{name}' must be one of {', '.join(v for v in choices.values if v)}.",
        )
    return value


def _amount(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Rejected(422, "invalid_field", "'amount' must be a decimal string or a number.")
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise Rejected(422, "invalid_field", "'amount' is not a number.") from None
    if not amount.is_finite() or amount <= 0 or amount >= MAX_AMOUNT:
        raise Rejected(422, "invalid_field", "'amount' must be positive.")
    return amount


def _time(value) -> datetime:
    if value is None:
        return timezone.now()
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except (ValueError, OverflowError):  # well-formed, but no such time (month 13...)
        parsed = None
    if parsed is None or timezone.is_naive(parsed):
        raise Rejected(
            422, "invalid_field", "'occurred_at' must be an ISO 8601 time with its UTC offset."
        )
    now = timezone.now()
    oldest = now - timedelta(days=settings.WALLET_EVENTS_MAX_AGE_DAYS)
    latest = now + timedelta(seconds=settings.WALLET_EVENTS_MAX_FUTURE_SECONDS)
    try:
        in_window = oldest <= parsed <= latest
    except OverflowError:  # a time at the calendar's ends, with an offset
        in_window = False
    if not in_window:
        raise Rejected(
            400,
            "occurred_at_out_of_range",
            f"'occurred_at' must be within the last {settings.WALLET_EVENTS_MAX_AGE_DAYS} days "
            f"and at most {settings.WALLET_EVENTS_MAX_FUTURE_SECONDS} seconds ahead of our "
            "clock.",
        )
    return parsed


# --- handlers -------------------------------------------------------------------------------


def _payment_event(event: ParsedEvent) -> Handled:
    payment = event.payment
    txn = _store_transaction(event.account, payment, event.occurred_at)
    actions = [f"transaction {txn.reference} {txn.status}"]
    if txn.failed:
        record_event(
            customer=event.account.customer,
            account=event.account,
            action=AccountEvent.Action.PAYMENT_FAILED,
            details={
                "reference": txn.reference,
                "amount": str(txn.amount),
                "currency": txn.currency,
                "merchant": txn.merchant,
                "reason": txn.failure_reason,
                "event": event.event_id,
            },
        )
    hits = _risk_hits(event, txn)
    if txn.status == Transaction.Status.SUCCEEDED and txn.kind == Transaction.Kind.PAYMENT:
        reset = WalletAccount.objects.filter(
            pk=event.account.pk, failed_password_attempts__gt=0
        ).update(failed_password_attempts=0)
        if reset:
            actions.append("wrong-password count reset")
        # A device that just hit a risk rule does not become a trusted one.
        if payment.device_id and not hits:
            _remember_device(event.account, payment.device_id)
    return Handled(actions=actions, risk_hits=hits)


def _store_transaction(account: WalletAccount, payment: Payment, occurred_at) -> Transaction:
    values = {
        "kind": payment.kind,
        "amount": payment.amount,
        "currency": payment.currency,
        "merchant": payment.merchant,
        "status": payment.status,
        "failure_reason": payment.failure_reason,
        "occurred_at": occurred_at,
    }
    txn = Transaction.objects.select_for_update().filter(reference=payment.reference).first()
    if txn is None:
        return Transaction.objects.create(account=account, reference=payment.reference, **values)
    if txn.account_id != account.pk:
        raise Rejected(422, "invalid_field", "This reference belongs to another wallet.")
    for name, value in values.items():
        setattr(txn, name, value)
    txn.save(update_fields=list(values))
    return txn


def device_digest(device_id: str) -> str:
    return salted_hmac("accounts.KnownDevice", device_id, algorithm="sha256").hexdigest()


def _remember_device(account: WalletAccount, device_id: str) -> None:
    device, created = KnownDevice.objects.get_or_create(
        account=account, device_digest=device_digest(device_id)
    )
    if not created:
        device.save(update_fields=["last_seen_at"])


def _password_failed(event: ParsedEvent) -> Handled:
    wallet = (
        WalletAccount.objects.select_for_update()
        .select_related("customer")
        .get(pk=event.account.pk)
    )
    wallet.failed_password_attempts += 1
    wallet.save(update_fields=["failed_password_attempts", "updated_at"])
    attempts, limit = wallet.failed_password_attempts, settings.WALLET_PASSWORD_MAX_FAILURES
    record_event(
        customer=wallet.customer,
        account=wallet,
        action=AccountEvent.Action.PAYMENT_PASSWORD_FAILED,
        details={
            "attempts": attempts,
            "limit": limit,
            "reference": (event.payload.get("data") or {}).get("reference", ""),
            "event": event.event_id,
        },
    )
    return Handled(
        actions=[f"wrong password {attempts}/{limit}"],
        lock=attempts >= limit and wallet.status == WalletAccount.Status.ACTIVE,
    )


def _risk_alert(event: ParsedEvent) -> Handled:
    rule = f"wallet_core:{event.rule}"
    return Handled(risk_hits=[(rule, event.description or event.rule, {})])


# --- risk rules -----------------------------------------------------------------------------


RiskRule = Callable[[ParsedEvent, Transaction], tuple[str, dict] | None]


def _large_payment_without_second_factor(event: ParsedEvent, txn: Transaction):
    if txn.failed:
        return None  # no money moved; many failures have their own rule
    limit = Decimal(settings.RISK_LARGE_PAYMENT_AMOUNT)
    if txn.amount >= limit and not event.payment.second_factor:
        return (
            _("A payment of %(amount)s %(currency)s without second verification.")
            % {"amount": txn.amount, "currency": txn.currency},
            {"amount": str(txn.amount), "threshold": str(limit)},
        )
    return None


def _many_failed_payments(event: ParsedEvent, txn: Transaction):
    if not txn.failed:
        return None
    count, minutes = settings.RISK_FAILED_PAYMENTS_COUNT, settings.RISK_FAILED_PAYMENTS_MINUTES
    since = txn.occurred_at - timedelta(minutes=minutes)
    failed = (
        Transaction.objects.filter(
            account=event.account,
            status=Transaction.Status.FAILED,
            occurred_at__gte=since,
            occurred_at__lte=txn.occurred_at,
        )
        .exclude(failure_reason=Transaction.FailureReason.ACCOUNT_LOCKED)
        .count()
    )
    if failed >= count:
        return (
            _("%(count)d failed payments within %(minutes)d minutes.")
            % {"count": failed, "minutes": minutes},
            {"failed": failed, "threshold": count, "minutes": minutes},
        )
    return None


def _new_device_large_amount(event: ParsedEvent, txn: Transaction):
    device_id = event.payment.device_id
    limit = Decimal(settings.RISK_NEW_DEVICE_AMOUNT)
    if txn.failed or not device_id or txn.amount < limit:
        return None
    known = KnownDevice.objects.filter(account=event.account)
    if not known.exists() or known.filter(device_digest=device_digest(device_id)).exists():
        return None
    return (
        _("A payment of %(amount)s %(currency)s from a device this wallet has not used before.")
        % {"amount": txn.amount, "currency": txn.currency},
        {"amount": str(txn.amount), "threshold": str(limit)},
    )


RISK_RULES: dict[str, RiskRule] = {
    "large_payment_without_second_factor": _large_payment_without_second_factor,
    "many_failed_payments": _many_failed_payments,
    "new_device_large_amount": _new_device_large_amount,
}


def _risk_hits(event: ParsedEvent, txn: Transaction) -> list[tuple[str, str, dict]]:
    if txn.kind in (Transaction.Kind.TOP_UP, Transaction.Kind.REFUND):
        return []  # money coming in
    hits = []
    for name in settings.RISK_RULES:
        hit = RISK_RULES[name](event, txn)
        if hit is not None:
            reason, details = hit
            hits.append((name, reason, {**details, "reference": txn.reference}))
    return hits


def record_risk_hits(
    wallet: WalletAccount, event: ParsedEvent, hits: list[tuple[str, str, dict]], *, ticket
) -> None:
    """A RISK_ALERT audit row for each rule hit, on the security ticket when one is open."""
    for name, reason, details in hits:
        record_event(
            customer=wallet.customer,
            account=wallet,
            ticket=ticket,
            action=AccountEvent.Action.RISK_ALERT,
            reason=reason,
            details={"rule": name, "event": event.event_id, **details},
        )


HANDLERS: dict[str, Callable[[ParsedEvent], Handled]] = {
    "payment_failed": _payment_event,
    "payment_succeeded": _payment_event,
    "transaction": _payment_event,
    "payment_password_failed": _password_failed,
    "risk_alert": _risk_alert,
}
