"""The ticket page's history (tickets.history.ticket_history): a one-line summary of each
event, written by the real actions, and a fixed number of queries however many events."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from accounts.models import Transaction
from chat import actions as chat_actions
from tickets import actions
from tickets.history import SENTENCES, ticket_history
from tickets.models import Queue, Ticket, TicketEvent

from . import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    return actions.receive(factories.email(external_id="<history@x>")).ticket


@pytest.fixture
def security(db):
    return Queue.objects.create(name="Security", slug="security")


def summaries(ticket: Ticket, kind: str) -> list[str]:
    return [entry.summary for entry in ticket_history(ticket) if entry.event.kind == kind]


def payment(wallet, reference: str) -> Transaction:
    return Transaction.objects.create(
        account=wallet,
        reference=reference,
        amount=Decimal("2300.00"),
        merchant="Hualian Supermarket",
        status=Transaction.Status.FAILED,
        occurred_at=timezone.now() - timedelta(hours=1),
    )


def test_a_details_change_names_each_field_with_its_old_and_new_value_in_words(
    ticket, agent, security
):
    wallet = ticket.wallet
    failed = payment(wallet, "T-FAIL-1")
    actions.update_details(
        ticket,
        acting_user=agent,
        queue=security,
        priority=Ticket.Priority.HIGH,
        category=Ticket.Category.TRANSACTION,
        related_transaction=failed,
        wallet=None,
        subject="Card payment failed",
    )
    assert summaries(ticket, TicketEvent.Kind.CHANGED) == [
        "subject: Payment failed → Card payment failed; "
        "wallet account: MW6200000001 → —; "
        "category: Other → Transaction; "
        "priority: Normal → High; "
        "queue: — → Security; "
        f"related transaction: — → {failed}"
    ]


def test_a_details_change_naming_an_object_since_deleted_shows_its_id(ticket, agent, security):
    actions.update_details(ticket, acting_user=agent, queue=security)
    queue_id = security.pk
    security.delete()
    assert summaries(ticket, TicketEvent.Kind.CHANGED) == [f"queue: — → #{queue_id}"]


def test_the_first_answer_reads_as_opening_and_taking_the_ticket(ticket, agent):
    actions.reply(ticket, acting_user=agent, body="Which shop?")
    assert summaries(ticket, TicketEvent.Kind.STATUS) == ["New → Open, with the first answer"]
    assert summaries(ticket, TicketEvent.Kind.ASSIGNED) == ["nobody → agent, by answering"]


def test_the_customer_writing_again_reads_as_such(ticket, agent):
    actions.change_status(ticket, acting_user=agent, status=Ticket.Status.SOLVED)
    actions.receive(factories.email(thread_ids=("<history@x>",)))
    assert summaries(ticket, TicketEvent.Kind.REOPENED) == [
        "Solved → Open, when the customer wrote again"
    ]


def test_an_automatic_assignment_says_so(ticket, agent, other_agent):
    actions.assign(ticket, acting_user=agent, assignee=agent)
    actions.assign_automatically(ticket, assignee=other_agent)
    assert summaries(ticket, TicketEvent.Kind.ASSIGNED) == [
        "nobody → agent",
        "agent → other_agent, automatically",
    ]


def test_a_transfer_to_a_queue_names_the_queue(ticket, agent, security):
    actions.assign(ticket, acting_user=agent, assignee=agent)
    actions.assign(ticket, acting_user=agent, assignee=None, queue=security)
    assert summaries(ticket, TicketEvent.Kind.ASSIGNED)[-1] == (
        "agent → nobody, to the queue Security"
    )


def test_a_rating_reads_as_its_score(ticket):
    actions.record_rating(ticket, score=4, comment="quick help", channel="chat")
    assert summaries(ticket, TicketEvent.Kind.RATED) == ["★★★★☆ 4/5: “quick help”"]


@pytest.mark.parametrize(
    ("by_agent", "summary"), [(False, "by the customer"), (True, "by the agent")]
)
def test_a_chat_ended_says_who_ended_it(settings, agent, by_agent, summary):
    settings.CHAT_AUTO_ASSIGN = False
    conversation = chat_actions.start_conversation(session_key="s")
    chat_actions.close(conversation, acting_user=agent if by_agent else None)
    assert summaries(conversation.ticket, TicketEvent.Kind.CHAT_ENDED) == [summary]


def history_queries(ticket: Ticket) -> int:
    with CaptureQueriesContext(connection) as queries:
        history = ticket_history(ticket)
        [entry.summary for entry in history]
    return len(queries)


def add_events(ticket: Ticket, agents: list, rounds: range) -> None:
    """Every kind of event that names other rows (agents, queues, wallets, transactions),
    each round naming new ones."""
    wallet = ticket.customer.wallets.get()
    for i in rounds:
        queue = Queue.objects.create(name=f"Queue {i}", slug=f"queue-{i}")
        actions.update_details(
            ticket,
            acting_user=agents[0],
            queue=queue,
            wallet=None if i % 2 else wallet,
            related_transaction=payment(wallet, f"T-{i}"),
            priority=Ticket.Priority.HIGH if i % 2 else Ticket.Priority.LOW,
        )
        actions.assign(ticket, acting_user=agents[0], assignee=agents[i % 2])
        actions.assign(ticket, acting_user=agents[0], assignee=None, queue=queue)
        actions.assign_automatically(ticket, assignee=agents[(i + 1) % 2])
        actions.record_rating(ticket, score=1 + i % 5, channel="chat")


def test_the_history_takes_a_fixed_number_of_queries_however_many_events(
    ticket, agent, other_agent
):
    add_events(ticket, [agent, other_agent], range(2))
    few = history_queries(ticket)
    add_events(ticket, [agent, other_agent], range(2, 12))
    assert history_queries(ticket) == few
    # the events, then one for each model they name: users, queues, wallets, transactions
    assert few == 5
    assert len(ticket_history(ticket)) >= 50


# What each kind's writer records (tickets.actions, chat.actions), for the sentences' test.
RECORDED = {
    TicketEvent.Kind.CREATED: {"channel": "email"},
    TicketEvent.Kind.MESSAGE: {"message": 1},
    TicketEvent.Kind.REPLY: {"message": 2},
    TicketEvent.Kind.NOTE: {"message": 3},
    TicketEvent.Kind.ASSIGNED: {"from": None, "to": None, "by": "auto"},
    TicketEvent.Kind.STATUS: {"from": "new", "to": "open", "by": "answer"},
    TicketEvent.Kind.REOPENED: {"from": "solved", "to": "open", "by": "customer"},
    TicketEvent.Kind.CHANGED: {"priority": [2, 3]},
    TicketEvent.Kind.CHAT_ENDED: {"by": "customer"},
    TicketEvent.Kind.RATED: {"score": 4, "comment": "quick help", "channel": "chat"},
    TicketEvent.Kind.CUSTOMER_MERGED: {"source": 7, "target": 3},
    TicketEvent.Kind.CC_PROPOSED: {"address": "wei@work.example", "by": "mail", "message": 1},
    TicketEvent.Kind.CC_ACCEPTED: {"address": "wei@work.example"},
    TicketEvent.Kind.CC_REMOVED: {"address": "wei@work.example"},
    TicketEvent.Kind.MERGED_INTO: {"reference": "MW-000002"},
    TicketEvent.Kind.MERGED_FROM: {"reference": "MW-000001"},
    TicketEvent.Kind.ROUTED: {"queue": "transactions", "rule": "支付失败", "rule_id": 1},
    TicketEvent.Kind.SLA_WARNING: {
        "target": "first_response",
        "due": "2026-12-03T23:52:19.423394+00:00",
        "notified": ["Zhou Xiaoyu"],
    },
    TicketEvent.Kind.SLA_BREACHED: {
        "target": "resolution",
        "due": "2026-12-03T23:52:19.423394+00:00",
        "notified": [],
    },
    TicketEvent.Kind.REMINDED: {"message": 4, "days": 3},
    TicketEvent.Kind.VALUE_REVEALED: {
        "kind": "card",
        "masked": "622202*********0123",
        "message": 1,
        "sensitive_value": 1,
        "reason": "Customer asks which card was charged",
        "verified": False,
    },
    TicketEvent.Kind.PII_WARNED: {"message": 5},
}


def test_every_kind_has_a_sentence():
    assert set(SENTENCES) == set(TicketEvent.Kind) == set(RECORDED)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_kind_reads_as_a_sentence_not_a_dump(ticket, agent, language):
    ticket.events.all().delete()
    for kind, data in RECORDED.items():
        TicketEvent.objects.create(ticket=ticket, kind=kind, data=data, actor=None)
    with translation.override(language):
        history = ticket_history(ticket)
    assert [entry.event.kind for entry in history] == list(RECORDED)
    for entry in history:
        assert not re.search(r"[\[\]{}\"_]|%\(", entry.sentence), entry.sentence
        assert "wei@work.example" not in entry.sentence
        if language == "zh-hans":
            assert re.search(r"[\u4e00-\u9fff]", entry.sentence), entry.sentence


def test_a_rating_reads_as_the_customer_rating_with_stars(ticket):
    actions.record_rating(ticket, score=4, comment="quick help", channel="chat")
    [rated] = [e for e in ticket_history(ticket) if e.event.kind == TicketEvent.Kind.RATED]
    assert rated.sentence == "Li Wei rated ★★★★☆ 4/5: “quick help”"
    with translation.override("zh-hans"):
        [rated] = [e for e in ticket_history(ticket) if e.event.kind == TicketEvent.Kind.RATED]
    assert rated.sentence == "Li Wei评分 ★★★★☆ 4/5：“quick help”"


def test_an_agents_change_names_the_agent(ticket, agent):
    agent.first_name, agent.last_name = "Fang", "Wang"
    agent.save()
    actions.change_status(ticket, acting_user=agent, status=Ticket.Status.PENDING)
    [status] = [e for e in ticket_history(ticket) if e.event.kind == TicketEvent.Kind.STATUS]
    assert status.sentence == "Fang Wang changed the status: New → Pending customer"
