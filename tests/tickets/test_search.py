"""Search over subjects and message bodies (tickets.search through
selectors.search_tickets): PostgreSQL's full-text and trigram indexes, SQLite's FTS5
trigram mirrors, and the LIKE fallback for terms too short for a trigram. Runs in both
passes (DATABASE_URL=postgres://... for PostgreSQL)."""

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
