"""Raw payloads encrypted at rest: the column becomes an EncryptedBinaryField and the rows
stored before are encrypted in place, in batches, with the first FIELD_ENCRYPTION_KEYS key.
Idempotent: a row that decrypts already is left as it is (a rerun after an interruption)."""

from cryptography.fernet import InvalidToken
from django.db import migrations

import accounts.fields

BATCH = 500


def encrypt_rows(apps, schema_editor):
    fernet = accounts.fields.fernet()
    connection = schema_editor.connection
    table = connection.ops.quote_name("tickets_inboundmessage")
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT id, raw FROM {table} WHERE id > %s ORDER BY id LIMIT %s",  # noqa: S608
                [last, BATCH],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            for pk, raw in rows:
                raw = bytes(raw)
                try:
                    fernet.decrypt(raw)
                except InvalidToken:
                    cursor.execute(
                        f"UPDATE {table} SET raw = %s WHERE id = %s",  # noqa: S608
                        [fernet.encrypt(raw), pk],
                    )
            last = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [("tickets", "0018_personal_data_reveal")]

    operations = [
        migrations.AlterField(
            model_name="inboundmessage",
            name="raw",
            field=accounts.fields.EncryptedBinaryField(verbose_name="raw payload"),
        ),
        # Not reversible in place: decrypting would put the payloads back in clear.
        migrations.RunPython(encrypt_rows, migrations.RunPython.noop),
    ]
