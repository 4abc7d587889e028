"""Full-text search of tickets' subjects and message bodies, one way per database.

- PostgreSQL: full-text search ('simple' configuration: no stemming, any language) on
  the message text, or a substring match served by pg_trgm trigram GIN indexes, which is
  how Chinese is found: it has no spaces between words, so 冻结 inside 我的账户被冻结了
  is a substring, not a word.
- SQLite: two FTS5 mirrors each of the message text and the ticket subjects, kept in
  step with the tables by triggers: one with the trigram tokenizer (SQLite 3.34 or
  later, "<table>_fts"), where a term looked up as a quoted phrase matches as a
  case-insensitive substring, and one with the unicode61 word tokenizer
  ("<table>_words").

Words on SQLite. A trigram lookup reads the posting list of every trigram of the term,
and the common ones ("han" of every "Thanks") grow with the data, whatever the term
matches. So a term made only of ASCII letters and digits, three or more with a letter,
is looked up first in the word mirror as a prefix ("charge" finds "chargeback" and
"chargebacks", in any case), which reads only the words starting with it (at 50,000
tickets, "chargeback" in the messages: 0.05 ms instead of 0.16 ms).

A word mirror cannot find a substring inside a word ("argeba" in "chargeback"): when the
prefix finds nothing in a table, the same statement falls back to its trigram mirror, so
such a search still finds the substring, at the trigram's cost. One case is lost: a term
that starts some words and sits inside others ("back" in "call me back" and in
"chargeback") finds only the first. That is acceptable for agents, who search by words,
as in Zendesk and Zammad. Any other term (Chinese, a number, an email address, a
reference MW-000123, an accented word) keeps the trigram path; PostgreSQL is unchanged.

The trigram indexes cannot look up a term shorter than three characters (two Chinese
characters, 冻结, are a whole word): such a term is matched with LIKE, which reads the
rows (a slower search, never a wrong one).

The indexes and tables are made by `ensure_indexes`, from the migrations 0013_search and
0015_search_words (the word mirrors, filled from the rows already there) and again after
every migrate (tickets.apps): on SQLite, a later migration that rebuilds a table (Django
copies it to a new one) drops its triggers, and the mirror would silently fall behind;
they are put back and the mirror rebuilt.

Each function returns a query of ticket ids; selectors.search_tickets joins them with
UNION into one ``pk IN (...)``, so the database gathers the matches from the indexes and
sorts only those (an OR of subqueries made PostgreSQL walk every ticket instead).
"""

import re

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from mywallet_support import pii

from .models import Message, SensitiveValue, Ticket

# The shortest term the trigram indexes can look up.
TRIGRAM = 3
# No stemming and no stop words: the same for Chinese, English and numbers.
CONFIG = "simple"
# A term the SQLite word mirrors look up: ASCII letters and digits only, a trigram long,
# with a letter. A number keeps the substring search: agents look up the end of an order
# or card number, which sits inside a longer one.
LATIN_WORD = re.compile(r"(?=[0-9]*[A-Za-z])[A-Za-z0-9]{3,}")


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
        return Message.objects.filter(pk__in=_sqlite_ids("tickets_message", term)).values(
            "ticket_id"
        )
    return Message.objects.filter(text__icontains=term).values("ticket_id")


def tickets_with_value(term: str) -> QuerySet | None:
    """Ids of the tickets with a message holding a value that ``term`` holds (a card, ID or
    phone number, an email address, however typed), found by its keyed fingerprint: the
    message's text has only the masked form (tickets.actions.thread). None when ``term``
    holds no such value."""
    fingerprints = pii.fingerprints_in(term)
    if not fingerprints:
        return None
    return SensitiveValue.objects.filter(fingerprint__in=fingerprints).values("message__ticket_id")


def tickets_with_subject(term: str) -> QuerySet:
    """Ids of the tickets whose subject contains ``term``."""
    if connection.vendor == "sqlite" and len(term) >= TRIGRAM:
        return Ticket.objects.filter(pk__in=_sqlite_ids("tickets_ticket", term)).values("pk")
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
# (table, column) mirrored in FTS5 tables on SQLite, one per tokenizer in TOKENIZERS.
SQLITE_MIRRORS = [("tickets_message", "text"), ("tickets_ticket", "subject")]
# The mirror "<table>_<suffix>" of each tokenizer: any substring, and words (case and
# diacritics folded).
TOKENIZERS = {"fts": "trigram", "words": "unicode61 remove_diacritics 2"}


def _sqlite_ids(table: str, term: str) -> RawSQL:
    """Rowids of ``table``'s rows that ``term`` matches in its SQLite mirrors: a Latin
    word by word prefix, falling back to the substring when no word starts with it; any
    other term by substring.

    The fallback is one statement: a one-row "gate" that exists only when the prefix
    finds nothing, CROSS JOINed (SQLite then keeps it the outer loop) before the trigram
    mirror, so the trigram mirror is not read at all when the words found something (a
    NOT EXISTS in its WHERE was tested only after the trigram lookup)."""
    fts, words = f"{table}_fts", f"{table}_words"
    # Our own table names (SQLITE_MIRRORS), never input; the term is a parameter.
    substring = f"SELECT {fts}.rowid FROM {{}} WHERE {fts} MATCH %s"  # noqa: S608
    if not LATIN_WORD.fullmatch(term):
        return RawSQL(substring.format(fts), [_phrase(term)])  # noqa: S611 (a parameter)
    prefix = f"SELECT rowid FROM {words} WHERE {words} MATCH %s"  # noqa: S608
    fallback = substring.format(f"(SELECT 1 WHERE NOT EXISTS ({prefix})) AS gate CROSS JOIN {fts}")
    word = _phrase(term) + "*"
    return RawSQL(  # noqa: S611 (the term is a parameter)
        f"{prefix} UNION ALL {fallback}", [word, word, _phrase(term)]
    )


def word_mirrors_undo() -> list[str]:
    """SQL that drops the SQLite word mirrors and their triggers (the reverse of their
    migration; the trigram mirrors stay)."""
    return [
        sql
        for table, _column in SQLITE_MIRRORS
        for sql in (
            *(f"DROP TRIGGER IF EXISTS {table}_words_{when}" for when in _TRIGGER_EVENTS),
            f"DROP TABLE IF EXISTS {table}_words",
        )
    ]


def ensure_indexes(connection) -> None:
    """Create what the search needs on ``connection``'s database, if missing."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for sql in POSTGRESQL_INDEXES:
                cursor.execute(sql)
        elif connection.vendor == "sqlite":
            for table, column in SQLITE_MIRRORS:
                for suffix, tokenizer in TOKENIZERS.items():
                    _ensure_mirror(cursor, table, column, suffix, tokenizer)


def _ensure_mirror(cursor, table: str, column: str, suffix: str, tokenizer: str) -> None:
    """The FTS5 mirror "<table>_<suffix>" of ``column`` with its triggers, filled from the
    table's rows when it or a trigger was missing."""
    fts = f"{table}_{suffix}"
    triggers = _mirror_triggers(table, column, fts)
    cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table]
    )
    present = {name for (name,) in cursor.fetchall()}
    if set(triggers) <= present:
        return
    cursor.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({column}, content='{table}',"
        f" content_rowid='id', tokenize='{tokenizer}')"
    )
    for name, sql in triggers.items():
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(sql)
    cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")  # noqa: S608 (our names)


def compact_mirrors(connection) -> None:
    """Merge the SQLite mirrors' index pages into one ("optimize"): a value changed in
    place (the re-mask command) leaves the old terms in the pages until a merge, only
    marked deleted. PostgreSQL's indexes need nothing (VACUUM reclaims the old tuples)."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for table, _column in SQLITE_MIRRORS:
            for suffix in TOKENIZERS:
                fts = f"{table}_{suffix}"
                cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('optimize')")  # noqa: S608


_TRIGGER_EVENTS = ("insert", "delete", "update")


def _mirror_triggers(table: str, column: str, fts: str) -> dict[str, str]:
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
