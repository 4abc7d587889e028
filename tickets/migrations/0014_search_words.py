"""The SQLite word mirrors of the search (tickets.search.TOKENIZERS "words": FTS5 with
the unicode61 tokenizer over message text and ticket subjects, with their triggers),
filled from the existing rows. ensure_indexes creates only what is missing, so on a
database migrated through 0013 before the word mirrors existed this adds them, and on
PostgreSQL it changes nothing."""

from django.db import migrations

from tickets.search import SQLITE_MIRRORS, ensure_indexes

UNDO = [
    sql
    for table, _column in SQLITE_MIRRORS
    for sql in (
        *(
            f"DROP TRIGGER IF EXISTS {table}_words_{when}"
            for when in ("insert", "delete", "update")
        ),
        f"DROP TABLE IF EXISTS {table}_words",
    )
]


def create(apps, schema_editor):
    ensure_indexes(schema_editor.connection)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in UNDO:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0013_search")]

    operations = [migrations.RunPython(create, drop)]
