"""The SQLite word mirrors of the search (tickets.search.TOKENIZERS "words": FTS5 with
the unicode61 tokenizer over message text and ticket subjects, with their triggers),
filled from the existing rows. ensure_indexes creates only what is missing, so on a
database migrated before the word mirrors existed this adds them, and on PostgreSQL it
changes nothing."""

from django.db import migrations

from tickets.search import ensure_indexes, word_mirrors_undo


def create(apps, schema_editor):
    ensure_indexes(schema_editor.connection)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in word_mirrors_undo():
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0014_dashboard_daily_stats")]

    operations = [migrations.RunPython(create, drop)]
