"""Re-encrypt every encrypted column with the first key: ``manage.py rotate_encryption_keys``.

Rotating a key: put the new key first in FIELD_ENCRYPTION_KEYS (the old ones after it, so
everything still decrypts), run this command, then drop the old keys. It finds the columns
itself (every EncryptedTextField and EncryptedBinaryField of every model: national ID
numbers, approvals' new values, personal data in messages, raw payloads), reads them in
batches by primary key, and rewrites each value the first key does not decrypt
(MultiFernet.rotate), one transaction per batch. Idempotent: a second run, or a run after
an interruption, rewrites nothing already rotated. Values are never decrypted into memory
longer than one row's rotation, and never printed.
"""

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connections, transaction

from accounts.fields import ENCRYPTED_FIELDS, fernet, first_key


class Command(BaseCommand):
    help = "Re-encrypt every encrypted column with the first key of FIELD_ENCRYPTION_KEYS."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, database, batch_size, **options):
        connection = connections[database]
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if isinstance(field, ENCRYPTED_FIELDS):
                    count = rotate_column(connection, model, field, max(1, batch_size))
                    label = f"{model._meta.label}.{field.name}"
                    self.stdout.write(f"{label}: {count} value(s) re-encrypted")


def rotate_column(connection, model, field, batch_size: int) -> int:
    """Rotate one column; returns how many values were rewritten."""
    quote = connection.ops.quote_name
    table, column, pk = (
        quote(model._meta.db_table),
        quote(field.column),
        quote(model._meta.pk.column),
    )
    # Names from the models, quoted by the backend; the values go as parameters.
    select = f"SELECT {pk}, {column} FROM {table}"  # noqa: S608
    first_batch = f"{select} ORDER BY {pk} LIMIT %s"
    next_batch = f"{select} WHERE {pk} > %s ORDER BY {pk} LIMIT %s"
    update = f"UPDATE {table} SET {column} = %s WHERE {pk} = %s"  # noqa: S608
    keys, newest = fernet(), first_key()
    binary = field.get_internal_type() == "BinaryField"
    rewritten, last = 0, None
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            if last is None:
                cursor.execute(first_batch, [batch_size])
            else:
                cursor.execute(next_batch, [last, batch_size])
            rows = cursor.fetchall()
            for key, stored in rows:
                if not stored:
                    continue
                token = bytes(stored) if binary else stored.encode("ascii")
                try:
                    newest.decrypt(token)
                    continue  # rotated already
                except InvalidToken:
                    rotated = keys.rotate(token)
                cursor.execute(update, [rotated if binary else rotated.decode("ascii"), key])
                rewritten += 1
        if len(rows) < batch_size:
            return rewritten
        last = rows[-1][0]
