"""Search over subjects and message bodies (tickets.search through
selectors.search_tickets): PostgreSQL's full-text and trigram indexes, SQLite's FTS5
trigram mirrors and word mirrors (a Latin word by prefix, falling back to the trigrams),
and the LIKE fallback for terms too short for a trigram. Runs in both passes
(DATABASE_URL=postgres://... for PostgreSQL)."""

import pytest
from django.db import connection

from tests.tickets.factories import email, wechat
from tickets import actions, search
from tickets.models import Ticket
from tickets.selectors import search_tickets

pytestmark = pytest.mark.django_db


def found(term: str) -> set[int]:
    return set(search_tickets(Ticket.objects.all(), term).values_list("pk", flat=True))


@pytest.fixture
def tickets(agent):
    refund = actions.receive(
        email("li.wei@example.com", subject="Question", text="Please REFUND order 20261204.")
    ).ticket
    frozen = actions.receive(
        wechat("oFrozenOpenId", text="你好，我的账户昨天被冻结了，支付失败了两次，怎么办？")
    ).ticket
    other = actions.receive(
        email("anna@example.org", subject="Card update", text="How do I change my card?")
    ).ticket
    actions.add_note(other, acting_user=agent, body="Escalated to the risk team")
    return {"refund": refund.pk, "frozen": frozen.pk, "other": other.pk}


def test_an_english_word_in_a_body_in_any_case(tickets):
    assert found("refund") == {tickets["refund"]}
    assert found("Refund order") == {tickets["refund"]}  # every word must match
    assert found("refund card") == set()


def test_a_chinese_phrase_inside_a_longer_sentence(tickets):
    assert found("支付失败") == {tickets["frozen"]}
    assert found("被冻结了") == {tickets["frozen"]}


def test_two_chinese_characters_are_found_too(tickets):
    assert found("冻结") == {tickets["frozen"]}  # shorter than a trigram: the LIKE fallback


def test_a_number_in_a_body(tickets):
    assert found("20261204") == {tickets["refund"]}
    assert found("2026120") == {tickets["refund"]}  # a substring of it


def test_subjects_and_notes_are_searched(tickets):
    assert found("card update") == {tickets["other"]}
    assert found("risk team") == {tickets["other"]}  # the search is the agents'


def test_a_new_message_and_a_changed_subject_are_found_at_once(tickets, agent):
    ticket = Ticket.objects.get(pk=tickets["refund"])
    actions.reply(ticket, acting_user=agent, body="About the chargeback: it is on its way")
    assert found("chargeback") == {ticket.pk}
    Ticket.objects.filter(pk=ticket.pk).update(subject="Merchant dispute")
    assert found("merchant") == {ticket.pk}
    assert found("question") == set()


def test_fts_syntax_in_a_term_is_only_text(tickets):
    for term in ['"', 'refund" OR "card', "text:refund", "NEAR(refund order)", "*"]:
        search_tickets(Ticket.objects.all(), term).count()  # no error


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite mirrors")
def test_a_table_rebuild_drops_the_triggers_and_ensure_indexes_restores_them(tickets, agent):
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER tickets_message_fts_insert")
    search.ensure_indexes(connection)
    ticket = Ticket.objects.get(pk=tickets["other"])
    actions.add_note(ticket, acting_user=agent, body="Still waiting for the bank")
    assert found("still waiting") == {ticket.pk}


# --- Latin words: on SQLite the word mirrors (tickets.search.LATIN_WORD) -------------------


@pytest.fixture
def disputes(agent):
    """A chargeback ticket with a long body, a plural in another ticket, and a message
    full of FTS5 syntax, each from its own customer."""
    filler = "Thanks for your help, I tried again this morning. " * 200
    long = actions.receive(
        wechat("oLongOpenId", text=f"{filler}Now I am asking for a Chargeback. {filler}")
    ).ticket
    plural = actions.receive(
        email(
            "chen.jie@example.com",
            subject="Two disputes",
            text="Both chargebacks, please (order 0123456).",
        )
    ).ticket
    syntax = actions.receive(
        wechat("oSyntaxOpenId", text='He typed "NOT NEAR(x)" AND (refunds) OR cards* — why?')
    ).ticket
    contact = actions.receive(  # all in the body: the subject is the sender's
        email(
            "wang.fang@example.com",
            subject="Reply",
            text="请回复到 zhang.san@example.net，参考号 MW-000123",
        )
    ).ticket
    return {"long": long.pk, "plural": plural.pk, "syntax": syntax.pk, "contact": contact.pk}


def test_an_english_word_is_found_in_a_long_text_in_any_case(disputes):
    assert found("chargeback") == {disputes["long"], disputes["plural"]}
    assert found("CHARGEBACK") == {disputes["long"], disputes["plural"]}
    assert found("chargebacks") == {disputes["plural"]}


def test_a_word_prefix_finds_the_longer_words(disputes):
    assert found("charge") == {disputes["long"], disputes["plural"]}
    assert found("Disp") == {disputes["plural"]}  # the subject's "disputes"


def test_a_substring_inside_a_word_is_found_when_no_word_starts_with_it(disputes, agent):
    assert found("argeba") == {disputes["long"], disputes["plural"]}
    assert found("back") == {disputes["long"], disputes["plural"]}  # inside chargeback
    ticket = Ticket.objects.get(pk=disputes["syntax"])
    actions.reply(ticket, acting_user=agent, body="We will call you back today.")
    # Now a word starts with it: on SQLite the words answer alone (tickets.search's
    # docstring); PostgreSQL still matches every substring.
    inside = {disputes["long"], disputes["plural"]} if connection.vendor != "sqlite" else set()
    assert found("back") == {ticket.pk} | inside


def test_fts_operators_and_quotes_in_a_term_are_only_text(disputes):
    assert found("NOT") == {disputes["syntax"]}
    assert found("near") == {disputes["syntax"]}
    assert found("AND") == {disputes["syntax"]}
    assert found("refunds") == {disputes["syntax"]}
    for term in ['"NOT NEAR(x)"', "(refunds)", "cards*", 'x" OR "y', "NEAR(x", "AND*", "a\"b'c"]:
        assert found(term) <= {disputes["syntax"]}, term  # no error, nothing else
    assert found("(refunds)") == {disputes["syntax"]}
    assert found("cards*") == {disputes["syntax"]}


def test_chinese_an_email_and_a_reference_in_a_body_keep_the_substring_path(disputes):
    assert found("参考号") == {disputes["contact"]}
    assert found("zhang.san@example.net") == {disputes["contact"]}
    assert found("mw-000123") == {disputes["contact"]}


def test_a_number_is_found_inside_a_longer_one_even_where_another_starts_with_it(disputes):
    assert found("0123") == {disputes["contact"], disputes["plural"]}  # MW-000123, 0123456


def without_trigrams() -> None:
    """On SQLite, empty the trigram mirrors and stop their triggers, so what a Latin word
    finds can only come from the word mirrors (its fallback reads the trigrams)."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for table, _column in search.SQLITE_MIRRORS:
            fts = f"{table}_fts"
            cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('delete-all')")  # noqa: S608
            for when in ("insert", "delete", "update"):
                cursor.execute(f"DROP TRIGGER {fts}_{when}")


def test_the_word_mirrors_follow_new_changed_and_deleted_rows(disputes, agent):
    without_trigrams()
    ticket = Ticket.objects.get(pk=disputes["plural"])
    actions.add_note(ticket, acting_user=agent, body="Acquirer reference pending")
    assert found("acquirer") == {ticket.pk}
    Ticket.objects.filter(pk=ticket.pk).update(subject="Merchant dispute")
    assert found("merchant") == {ticket.pk}
    ticket.messages.all().delete()
    assert found("acquirer") == set()
    assert found("chargebacks") == set()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite mirrors")
def test_a_latin_word_is_read_from_the_word_mirror(disputes):
    """Without the trigram mirrors a whole word is still found (from the word mirror),
    and a substring inside a word no longer is (it needs the trigrams)."""
    without_trigrams()
    assert found("charge") == {disputes["long"], disputes["plural"]}
    assert found("argeba") == set()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite mirrors")
def test_ensure_indexes_restores_and_refills_a_dropped_word_mirror(disputes):
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE tickets_message_words")
        cursor.execute("DROP TRIGGER tickets_message_words_insert")
    search.ensure_indexes(connection)  # before the trigram mirrors go: it would restore them
    without_trigrams()
    assert found("chargeback") == {disputes["long"], disputes["plural"]}
