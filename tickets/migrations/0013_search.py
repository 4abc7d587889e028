"""The search's indexes (tickets.search.ensure_indexes): on PostgreSQL pg_trgm and its
trigram GIN indexes with the full-text index; on SQLite the FTS5 trigram mirrors of
message text and ticket subjects with their triggers. Each only on its own database."""

from django.db import migrations

from tickets.search import SQLITE_MIRRORS, ensure_indexes

UNDO = {
    "postgresql": [
        "DROP INDEX IF EXISTS message_text_fts",
        "DROP INDEX IF EXISTS ticket_subject_trgm",
        "DROP INDEX IF EXISTS message_text_trgm",
    ],
    "sqlite": [
        sql
        for table, _column in SQLITE_MIRRORS
        for sql in (
            *(f"DROP TRIGGER IF EXISTS {table}_fts_{when}" for when in ("insert", "delete", "update")),
            f"DROP TABLE IF EXISTS {table}_fts",
        )
    ],
}


def create(apps, schema_editor):
    ensure_indexes(schema_editor.connection)


def drop(apps, schema_editor):
    for sql in UNDO.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0012_inbox_fill")]

    operations = [migrations.RunPython(create, drop)]
