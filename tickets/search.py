"""Full-text search of tickets' subjects and message bodies, one way per database.

- PostgreSQL: full-text search ('simple' configuration: no stemming, any language) on
  the message text, or a substring match served by pg_trgm trigram GIN indexes, which is
  how Chinese is found: it has no spaces between words, so 冻结 inside 我的账户被冻结了
  is a substring, not a word.
- SQLite: FTS5 tables with the trigram tokenizer (SQLite 3.34 or later), kept in step
  with the tables by triggers, hold the message text and the ticket subjects; a term is
  looked up as a quoted phrase, so it matches as a case-insensitive substring.

The trigram indexes cannot look up a term shorter than three characters (two Chinese
characters, 冻结, are a whole word): such a term is matched with LIKE, which reads the
rows (a slower search, never a wrong one).

The indexes and tables are made by `ensure_indexes`, from the migration 0013_search and
again after every migrate (tickets.apps): on SQLite, a later migration that rebuilds a
table (Django copies it to a new one) drops its triggers, and the mirror would silently
fall behind; they are put back and the mirror rebuilt.

Each function returns a query of ticket ids; selectors.search_tickets joins them with
UNION into one ``pk IN (...)``, so the database gathers the matches from the indexes and
sorts only those (an OR of subqueries made PostgreSQL walk every ticket instead).
"""

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from .models import Message, Ticket

# The shortest term the trigram indexes can look up.
TRIGRAM = 3
# No stemming and no stop words: the same for Chinese, English and numbers.
CONFIG = "simple"


def tickets_with_text(term: str) -> QuerySet:
    """Ids of the tickets with a message whose text contains ``term`` (every message:
    the customer's, the agents' answers and their notes; the search is the agents')."""
    vendor = connection.vendor
    if vendor == "postgresql":
        words = SearchQuery(term, config=CONFIG, search_type="plain")
        return (
            Message.objects.annotate(document=SearchVector("text", config=CONFIG))
            .filter(Q(document=words) | Q(text__icontains=term))
            .values("ticket_id")
        )
    if vendor == "sqlite" and len(term) >= TRIGRAM:
        ids = RawSQL(
            "SELECT rowid FROM tickets_message_fts WHERE tickets_message_fts MATCH %s",
            [_phrase(term)],
        )
        return Message.objects.filter(pk__in=ids).values("ticket_id")
    return Message.objects.filter(text__icontains=term).values("ticket_id")


def tickets_with_subject(term: str) -> QuerySet:
    """Ids of the tickets whose subject contains ``term``."""
    if connection.vendor == "sqlite" and len(term) >= TRIGRAM:
        ids = RawSQL(
            "SELECT rowid FROM tickets_ticket_fts WHERE tickets_ticket_fts MATCH %s",
            [_phrase(term)],
        )
        return Ticket.objects.filter(pk__in=ids).values("pk")
    # PostgreSQL: the ILIKE is served by the subject's trigram index.
    return Ticket.objects.filter(subject__icontains=term).values("pk")


POSTGRESQL_INDEXES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # UPPER(...): the form of Django's icontains on PostgreSQL.
    "CREATE INDEX IF NOT EXISTS message_text_trgm ON tickets_message"
    " USING gin (UPPER(text) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ticket_subject_trgm ON tickets_ticket"
    " USING gin (UPPER(subject) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS message_text_fts ON tickets_message"
    " USING gin (to_tsvector('simple'::regconfig, COALESCE(text, '')))",
]
# (table, column) mirrored in an FTS5 table "<table>_fts" on SQLite.
SQLITE_MIRRORS = [("tickets_message", "text"), ("tickets_ticket", "subject")]


def ensure_indexes(connection) -> None:
    """Create what the search needs on ``connection``'s database, if missing."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for sql in POSTGRESQL_INDEXES:
                cursor.execute(sql)
        elif connection.vendor == "sqlite":
            for table, column in SQLITE_MIRRORS:
                _ensure_mirror(cursor, table, column)


def _ensure_mirror(cursor, table: str, column: str) -> None:
    fts = f"{table}_fts"
    triggers = _mirror_triggers(table, column)
    cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table]
    )
    present = {name for (name,) in cursor.fetchall()}
    if set(triggers) <= present:
        return
    cursor.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({column}, content='{table}',"
        " content_rowid='id', tokenize='trigram')"
    )
    for name, sql in triggers.items():
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(sql)
    cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")  # noqa: S608 (our names)


def _mirror_triggers(table: str, column: str) -> dict[str, str]:
    fts = f"{table}_fts"
    # Our own table and column names (SQLITE_MIRRORS), never input.
    old = f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column});"  # noqa: S608
    new = f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column});"  # noqa: S608
    return {
        f"{fts}_insert": f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {new} END",
        f"{fts}_delete": f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {old} END",
        f"{fts}_update": (
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {column} ON {table} BEGIN {old} {new} END"
        ),
    }


def _phrase(term: str) -> str:
    """``term`` as one FTS5 phrase: quoted, its own quotes doubled, so nothing in it is
    read as FTS5 syntax (AND, NEAR, a column filter)."""
    return '"' + term.replace('"', '""') + '"'
