"""Re-masking data stored before personal data was protected (issue 16): the messages'
subjects, texts, HTML and attachment names, the tickets' subjects and inbox previews get
the masked form in place of each value, as thread.append stores new messages, and each
value a message held is kept encrypted beside it (SensitiveValue, positions after the
message's own); a raw payload still in clear is encrypted (InboundMessage.raw).

Idempotent: a masked form holds "*" and is never found again, so a second run finds
nothing and writes nothing. Batched by primary key (at most ``batch_size`` rows in memory),
each batch in its own transaction: a run stopped half-way keeps what it did, and the next
one goes on. The search mirrors follow the rows (PostgreSQL's indexes, SQLite's FTS5
triggers); on SQLite the mirrors are then merged (`search.compact_mirrors`), so the index
pages keep no trigram of a value removed.
"""

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from django.db import connection, transaction
from django.db.models import Max

from accounts.fields import fernet

from .. import personal_data, search
from ..models import Attachment, InboundMessage, Message, SensitiveValue, Ticket
from .thread import PREVIEW_LENGTH

Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass
class Remasked:
    """What a run changed (or, dry, would change)."""

    messages: int = 0
    values: int = 0
    attachments: int = 0
    tickets: int = 0
    raw_payloads: int = 0


def remask_personal_data(
    *, batch_size: int = 500, dry_run: bool = False, progress: Progress | None = None
) -> Remasked:
    """Mask in place what was stored in clear; with ``dry_run`` only count it. ``progress``
    is told after each batch."""
    counts = Remasked()
    report = progress or (lambda what, done, total: None)
    _walk(Message, "messages", batch_size, report, lambda ids: _messages(ids, counts, dry_run))
    _walk(Ticket, "tickets", batch_size, report, lambda ids: _tickets(ids, counts, dry_run))
    _walk(
        InboundMessage,
        "raw payloads",
        batch_size,
        report,
        lambda ids: _raw_payloads(ids, counts, dry_run),
    )
    if not dry_run and (counts.messages or counts.tickets):
        search.compact_mirrors(connection)
    return counts


def _walk(model, what: str, batch_size: int, report: Progress, handle) -> None:
    """Hand ``handle`` the ids of ``model``'s rows a batch at a time, in order, each batch
    in one transaction."""
    total, done, last = model.objects.count(), 0, 0
    report(what, 0, total)
    while True:
        ids = list(
            model.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return
        with transaction.atomic():
            handle(ids)
        last, done = ids[-1], done + len(ids)
        report(what, min(done, total), max(total, done))


def _messages(ids: list[int], counts: Remasked, dry_run: bool) -> None:
    # Locked while masked: a sender writing an answer's subject meanwhile is not undone.
    messages = list(
        Message.objects.select_for_update()
        .filter(pk__in=ids)
        .only("id", "direction", "subject", "text", "html")
    )
    names: dict[int, list[Attachment]] = {}
    for attachment in Attachment.objects.filter(message_id__in=ids).only(
        "id", "message_id", "name"
    ):
        names.setdefault(attachment.message_id, []).append(attachment)
    changed, renamed, found = [], [], {}
    for message in messages:
        values = _protect(message, names.get(message.pk, ()), renamed)
        if values:
            changed.append(message)
            found[message.pk] = values
    counts.messages += len(changed)
    counts.attachments += len(renamed)
    counts.values += sum(len(values) for values in found.values())
    if dry_run or not changed:
        return
    Message.objects.bulk_update(changed, ["subject", "text", "html"])
    if renamed:
        Attachment.objects.bulk_update(renamed, ["name"])
    after = dict(
        SensitiveValue.objects.filter(message_id__in=found)
        .values("message_id")
        .annotate(last=Max("position"))
        .values_list("message_id", "last")
    )
    SensitiveValue.objects.bulk_create(
        row
        for pk, values in found.items()
        for row in personal_data.value_rows(pk, values, first_position=after.get(pk, -1) + 1)
    )


def _protect(message: Message, attachments, renamed: list) -> list[personal_data.Found]:
    """Mask ``message`` and its attachments' names in place; the values found, each once
    (the order of thread.append: subject, text, HTML, file names)."""
    kinds = personal_data.kinds_for(message.direction)
    found: dict[tuple[str, str], personal_data.Found] = {}

    def protected(text: str) -> str:
        result = personal_data.protect(text, kinds)
        for item in result.found:
            found.setdefault((item.kind, item.normalised), item)
        return result.text

    message.subject = protected(message.subject)[:255]
    message.text = protected(message.text)
    message.html = protected(message.html)
    for attachment in attachments:
        name = protected(attachment.name)
        if name != attachment.name:
            attachment.name = name
            renamed.append(attachment)
    return list(found.values())


def _tickets(ids: list[int], counts: Remasked, dry_run: bool) -> None:
    """Subjects and previews are the agents' reading of the messages: every kind masked
    (the values themselves are kept with the messages). Locked while masked, so a message
    filed meanwhile keeps the preview it wrote."""
    changed = []
    tickets = Ticket.objects.select_for_update().filter(pk__in=ids)
    for ticket in tickets.only("id", "subject", "last_message_preview"):
        subject = personal_data.protect(ticket.subject).text[:255]
        preview = personal_data.protect(ticket.last_message_preview).text[:PREVIEW_LENGTH]
        if (subject, preview) != (ticket.subject, ticket.last_message_preview):
            ticket.subject, ticket.last_message_preview = subject, preview
            changed.append(ticket)
    counts.tickets += len(changed)
    if changed and not dry_run:
        Ticket.objects.bulk_update(changed, ["subject", "last_message_preview"])


def _raw_payloads(ids: list[int], counts: Remasked, dry_run: bool) -> None:
    """Raw payloads still in clear (stored before they were encrypted, or restored from
    such a backup) are encrypted: read as the column holds them, since the field refuses
    to read a payload it cannot decrypt, and written as the field writes them (encrypted
    with the first key)."""
    table = connection.ops.quote_name(InboundMessage._meta.db_table)
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, raw FROM {table} WHERE id IN ({placeholders})", ids)  # noqa: S608
        rows = cursor.fetchall()
    clear = [(pk, bytes(raw)) for pk, raw in rows if raw is not None and not _encrypted(raw)]
    counts.raw_payloads += len(clear)
    if clear and not dry_run:
        field = InboundMessage._meta.get_field("raw")
        with connection.cursor() as cursor:  # one round trip (intake._link_raw)
            cursor.executemany(
                f"UPDATE {table} SET raw = %s WHERE id = %s",  # noqa: S608
                [(field.get_db_prep_value(raw, connection), pk) for pk, raw in clear],
            )


def _encrypted(raw) -> bool:
    try:
        fernet().decrypt(bytes(raw))
    except InvalidToken:
        return False
    return True
