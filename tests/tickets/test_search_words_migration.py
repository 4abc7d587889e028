"""Migration tickets *_search_words: a SQLite database searched before the word mirrors
existed gets them, filled with the messages and subjects already there, and the reverse
drops them (the trigram mirrors of 0013 stay)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.tickets.test_cc_migration import latest, migrate
from tests.tickets.test_search import without_trigrams
from tickets import search
from tickets.models import Ticket
from tickets.selectors import search_tickets

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite mirrors")


def before_word_mirrors() -> list[tuple[str, str]]:
    """The tickets migration the word mirrors' one depends on (found by name, so a
    renumbering on merge leaves this test as it is)."""
    graph = MigrationExecutor(connection).loader.graph
    (node,) = [
        node
        for (app, name), node in graph.node_map.items()
        if app == "tickets" and name.endswith("_search_words")
    ]
    return [parent.key for parent in node.parents if parent.key[0] == "tickets"]


@pytest.fixture
def restored_mirrors():
    """The test drops triggers outside a test transaction: put them back, as after
    every migrate, whatever the test's outcome, for the tests after it."""
    yield
    search.ensure_indexes(connection)


def word_mirrors() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE '%\\_words%' ESCAPE '\\'")
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("restored_mirrors")
def test_existing_rows_are_found_by_word_and_the_reverse_drops_the_mirrors():
    before = before_word_mirrors()
    old_apps = migrate(before)
    with connection.cursor() as cursor:  # as a database migrated before this change
        for sql in search.word_mirrors_undo():
            cursor.execute(sql)
    customer = old_apps.get_model("accounts", "Customer").objects.create(name="Li Wei")
    ticket = old_apps.get_model("tickets", "Ticket").objects.create(
        customer=customer, channel="email", subject="Disputed payment"
    )
    old_apps.get_model("tickets", "Message").objects.create(
        ticket=ticket, direction="inbound", channel="email", text="I want a chargeback, thanks."
    )

    migrate(latest())
    without_trigrams()
    assert list(search_tickets(Ticket.objects.all(), "chargeback")) == [Ticket.objects.get()]
    assert list(search_tickets(Ticket.objects.all(), "disput")) == [Ticket.objects.get()]

    migrate(before)
    assert word_mirrors() == set()
    migrate(latest())
    assert {f"{table}_words" for table, _column in search.SQLITE_MIRRORS} <= word_mirrors()
