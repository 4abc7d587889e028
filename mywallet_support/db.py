"""A lean bulk insert for hot write paths (the chat writer, chat.messages.store_messages).

``bulk_create`` spends most of its time in Python, per object and per field: pre_save,
get_db_prep_save and a placeholder for every field of every row. Measured by
bench/chat_load.py, that was half the time of storing a batch of chat messages, on the one
thread every socket of the process waits for. ``insert_many`` takes rows whose values are
ready for the database, prepares everything else once per call, and runs one
``INSERT ... RETURNING id`` per chunk the database allows (SQLite and PostgreSQL both can).

Like bulk_create: no save(), no signals. Unlike it: no model instances; the new ids come back.
"""

from collections.abc import Sequence

from django.db import NotSupportedError, connection, models


def db_value(model: type[models.Model], attname: str, value):
    """``value`` as ``model``'s field ``attname`` hands it to the database (for a row of
    insert_many: str, int and None need no preparing, a time does)."""
    return model._meta.get_field(attname).get_db_prep_save(value, connection)


def insert_many(model: type[models.Model], rows: Sequence[dict], *, same: dict) -> list[int]:
    """Insert ``rows`` of ``model`` and return their new primary keys, in order.

    Each row maps the attnames that differ from row to row (``ticket_id``, ``text``...) to
    values ready for the database (see db_value); every row names the same fields. ``same``
    maps attnames to Python values shared by every row (a time, a channel); they and the
    defaults of every other field are prepared for the database once. A field with neither
    a value nor a default (an ``auto_now_add`` time, say) must be given in ``same``.
    """
    if not rows:
        return []
    if not connection.features.can_return_rows_from_bulk_insert:
        raise NotSupportedError("insert_many needs INSERT ... RETURNING (SQLite, PostgreSQL)")
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    varying = rows[0].keys()
    if any(row.keys() != varying for row in rows):
        raise ValueError("every row must name the same fields")
    unknown = set(varying).union(same) - {field.attname for field in fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
    fixed = {}
    for field in fields:
        if field.attname in varying:
            continue
        value = same[field.attname] if field.attname in same else field.get_default()
        if value is None and not field.null:
            raise ValueError(f"{model.__name__}.{field.attname} needs a value")
        fixed[field.attname] = field.get_db_prep_save(value, connection)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # Names from the model, quoted by the backend; every value goes as a parameter.
    head = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES "  # noqa: S608
    tail = f" RETURNING {quote(model._meta.pk.column)}"
    size = max(1, connection.ops.bulk_batch_size(fields, rows))
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            params = []
            for row in chunk:
                for field in fields:
                    name = field.attname
                    params.append(fixed[name] if name in fixed else row[name])
            cursor.execute(head + ", ".join([placeholders] * len(chunk)) + tail, params)
            ids.extend(row[0] for row in cursor.fetchall())
    return ids
