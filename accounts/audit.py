"""The audit trail's hash chain.

Every AccountEvent gets the next ``sequence`` number, the previous row's hash in
``previous_hash``, and its own ``hash``: HMAC-SHA256, keyed with ``settings.AUDIT_CHAIN_KEY``,
over a canonical serialisation of the row's content and ``previous_hash``. Editing a row
changes its hash; deleting one leaves a gap in the sequence; inserting one needs the key.
``manage.py verify_audit`` walks the chain and reports the first broken link.

Why keyed: with a plain SHA-256 anyone who can write to the database could rewrite a row
and recompute every hash after it. With the key kept outside the database (the
environment), they cannot. The key defaults to one derived from SECRET_KEY; production
sets AUDIT_CHAIN_KEY on its own, so that rotating SECRET_KEY does not break verification.
The key must then never change (the chain records no key id).

What is hashed (``canonical_bytes``): the ids of customer, wallet, ticket and actor, the
actor kind, action, reason, verification and details (as JSON with sorted keys), the time
(UTC, ISO 8601 with microseconds), the sequence and the previous hash. Not the row's own
primary key: the hash is computed before the row is inserted, and the sequence is its
identity in the chain.

Appending is serialised, so two writers never both read the same last row:
- PostgreSQL: a transaction-level advisory lock (``pg_advisory_xact_lock``) taken before
  the last row is read and held until the writer's transaction commits;
- SQLite: every transaction is BEGIN IMMEDIATE (settings), which holds the database's
  write lock from the start, so writers already queue.
Either way ``sequence`` is unique in the database, so a fork could not be stored even
without the lock: a writer would fail instead of waiting.

The lock is held until the outer transaction commits: record the event last in an action,
after the rows it locks, so that the audit lock is the last one taken.
"""

import hashlib
import hmac
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from .models import AccountEvent, Customer

CHAIN_VERSION = 1
# pg_advisory_xact_lock key: "mwaudit" as a big-endian integer (fits a signed bigint).
ADVISORY_LOCK_ID = int.from_bytes(b"mwaudit", "big")


def chain_key() -> bytes:
    key = settings.AUDIT_CHAIN_KEY
    if key:
        return key.encode()
    # Derived so that the plain SECRET_KEY is never the HMAC key itself.
    return hmac.new(
        settings.SECRET_KEY.encode(), b"mywallet-support.audit-chain", hashlib.sha256
    ).digest()


def _json_value(value: Any) -> Any:
    """The value as any database gives it back: tuples become lists, keys become strings,
    and a whole number written as a float is a whole number (PostgreSQL's jsonb returns
    1e16 as 10000000000000000, which broke the hash of a legitimate row)."""
    return json.loads(json.dumps(value if value is not None else {}), parse_float=_number)


def _number(text: str) -> int | float:
    exact = Decimal(text)
    return int(exact) if exact == exact.to_integral_value() else float(text)


def _time(value: datetime) -> str:
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_bytes(event) -> bytes:
    """The row's content in one fixed byte form. Works on historical models (migrations)."""
    content = {
        "v": CHAIN_VERSION,
        "sequence": event.sequence,
        "previous_hash": event.previous_hash or "",
        "customer": event.customer_id,
        "account": event.account_id,
        "ticket": event.ticket_id,
        "actor_kind": event.actor_kind,
        "actor": event.actor_id,
        "action": event.action,
        "reason": event.reason or "",
        "verification": _json_value(event.verification),
        "details": _json_value(event.details),
        "created_at": _time(event.created_at),
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(event, *, key: bytes | None = None) -> str:
    return hmac.new(key or chain_key(), canonical_bytes(event), hashlib.sha256).hexdigest()


def lock_chain(using: str) -> None:
    """Wait for the right to append; held until the current transaction ends."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_ID])
    # SQLite: the IMMEDIATE transaction already holds the write lock.


def chain_head(using: str) -> tuple[int, str]:
    """(sequence, hash) of the last chained row, (0, "") before the first."""
    last = (
        AccountEvent.objects.using(using)
        .filter(sequence__isnull=False)
        .order_by("-sequence")
        .values_list("sequence", "hash")
        .first()
    )
    return last or (0, "")


def append_events(events: Iterable[AccountEvent]) -> list[AccountEvent]:
    """Chain and insert new audit rows, in order, in one serialised step.

    Each row's time is set here, under the lock, so time follows the sequence.
    Call it inside the transaction of the change the rows record.
    """
    events = list(events)
    if not events:
        return events
    using = router.db_for_write(AccountEvent)
    key = chain_key()
    with transaction.atomic(using=using):
        lock_chain(using)
        sequence, previous = chain_head(using)
        now = timezone.now()
        for event in events:
            if event.pk is not None:
                raise ValueError("AccountEvent rows are append-only.")
            sequence += 1
            event.sequence = sequence
            event.previous_hash = previous
            event.created_at = now
            event.hash = previous = compute_hash(event, key=key)
        if len(events) == 1:
            events[0].save(using=using)
        else:
            AccountEvent.objects.using(using).bulk_create(events)
    return events


# --- verification ---------------------------------------------------------------------------


class ChainReport:
    """What `verify_chain` found: counts and the first broken link, if any."""

    def __init__(self):
        self.checked = 0
        self.head: tuple[int, str] = (0, "")
        self.unchained: list[int] = []
        self.unchained_count = 0
        self.problem: str = ""
        self.problem_sequence: int | None = None

    @property
    def intact(self) -> bool:
        return not self.problem and not self.unchained_count


_FIELDS = [
    "pk",
    "sequence",
    "previous_hash",
    "hash",
    "customer_id",
    "account_id",
    "ticket_id",
    "actor_kind",
    "actor_id",
    "action",
    "reason",
    "verification",
    "details",
    "created_at",
]


def verify_chain(
    *, using: str = "default", chunk_size: int = 2000, anchor: tuple[int, str] | None = None
) -> ChainReport:
    """Walk the chain in sequence order, in bounded memory; stop at the first broken link.

    ``anchor`` is a (sequence, hash) recorded earlier outside the database: it must still
    be there, which also catches rows cut off the end of the chain.
    """
    report = ChainReport()
    key = chain_key()
    expected_sequence, previous = 1, ""
    rows = (
        AccountEvent.objects.using(using)
        .filter(sequence__isnull=False)
        .order_by("sequence")
        .only(*[name for name in _FIELDS if name != "pk"])
        .iterator(chunk_size=chunk_size)
    )
    for event in rows:
        problem = _link_problem(event, expected_sequence, previous, key)
        if problem:
            report.problem, report.problem_sequence = problem, event.sequence
            break
        if anchor is not None and event.sequence == anchor[0] and event.hash != anchor[1]:
            report.problem = f"event #{event.sequence} is not the anchored one (hash differs)"
            report.problem_sequence = event.sequence
            break
        report.checked += 1
        report.head = (event.sequence, event.hash)
        expected_sequence, previous = event.sequence + 1, event.hash
    if not report.problem and anchor is not None and report.head[0] < anchor[0]:
        report.problem = (
            f"the chain ends at #{report.head[0]} but #{anchor[0]} was anchored: "
            "rows were removed from its end"
        )
        report.problem_sequence = report.head[0] + 1
    unchained = AccountEvent.objects.using(using).filter(sequence__isnull=True)
    report.unchained_count = unchained.count()
    report.unchained = list(unchained.order_by("pk").values_list("pk", flat=True)[:20])
    return report


def _link_problem(event, expected_sequence: int, previous: str, key: bytes) -> str:
    if event.sequence != expected_sequence:
        if event.sequence > expected_sequence:
            missing = (
                f"#{expected_sequence}"
                if event.sequence == expected_sequence + 1
                else f"#{expected_sequence} to #{event.sequence - 1}"
            )
            return f"event {missing} missing before #{event.sequence} (deleted)"
        return f"event #{event.sequence} out of order"  # pragma: no cover - unique column
    if event.previous_hash != previous:
        return (
            f"event #{event.sequence} (id {event.pk}) does not follow the previous row "
            "(previous hash differs): a row before it was replaced or deleted"
        )
    if not hmac.compare_digest(event.hash.encode(), compute_hash(event, key=key).encode()):
        return (
            f"event #{event.sequence} (id {event.pk}) does not match its hash: "
            "edited, or inserted without the chain key"
        )
    return ""


def record_event(
    *,
    customer: Customer,
    action: str,
    acting_user=None,
    account=None,
    ticket=None,
    reason: str = "",
    verification: dict | None = None,
    details: dict | None = None,
    by_customer: bool = False,
) -> AccountEvent:
    """Append one audit row to the hash chain. Call it inside the
    transaction of the change it records, after the rows that change locks."""
    event = new_event(
        customer=customer,
        action=action,
        acting_user=acting_user,
        account=account,
        ticket=ticket,
        reason=reason,
        verification=verification,
        details=details,
        by_customer=by_customer,
    )
    append_events([event])
    return event


def new_event(
    *,
    customer: Customer,
    action: str,
    acting_user=None,
    account=None,
    ticket=None,
    reason: str = "",
    verification: dict | None = None,
    details: dict | None = None,
    by_customer: bool = False,
) -> AccountEvent:
    """An unsaved audit row (saved by `record_event`, or in bulk by `append_events`).
    ``by_customer``: the customer acted themselves, proven by the app or by their codes
    rather than by a login of ours, so there is no user to name as the actor."""
    if by_customer:
        actor_kind, actor = AccountEvent.ActorKind.CUSTOMER, None
    elif acting_user is not None and acting_user.is_authenticated:
        actor_kind = (
            AccountEvent.ActorKind.AGENT
            if acting_user.is_staff
            else AccountEvent.ActorKind.CUSTOMER
        )
        actor = acting_user
    else:
        actor_kind, actor = AccountEvent.ActorKind.SYSTEM, None
    return AccountEvent(
        customer=customer,
        account=account,
        ticket=ticket,
        actor_kind=actor_kind,
        actor=actor,
        action=action,
        reason=reason,
        verification=verification or {},
        details=details or {},
    )
