"""Routing rules (tickets.actions.routing): a new ticket from any channel goes to the queue
of the first active rule that matches its channel, support address, category and keywords
(Chinese found inside words, English as whole words, any case), with a "routed" line in its
history; a rule may set the category and raise the priority."""

import pytest
from django.utils import translation

from tests.tickets import factories
from tickets import actions
from tickets.actions.routing import Router
from tickets.history import ticket_history
from tickets.models import Queue, RoutingRule, Ticket, TicketEvent


@pytest.fixture
def queues(db):
    return {
        slug: Queue.objects.create(slug=slug, name=slug.title())
        for slug in ("transactions", "security", "feedback", "vip")
    }


@pytest.fixture
def rules(queues):
    RoutingRule.objects.create(
        name="VIP mailbox",
        order=1,
        queue=queues["vip"],
        channel="email",
        support_address="vip@mywallet.example",
    )
    RoutingRule.objects.create(
        name="Payment failures",
        order=10,
        queue=queues["transactions"],
        keywords="支付失败\npayment failed\n扣款",
        set_category=Ticket.Category.TRANSACTION,
        set_priority=Ticket.Priority.HIGH,
    )
    RoutingRule.objects.create(
        name="Security",
        order=20,
        queue=queues["security"],
        keywords="冻结\nfrozen\nhacked",
        set_category=Ticket.Category.SECURITY,
    )
    RoutingRule.objects.create(
        name="Suggestions", order=30, queue=queues["feedback"], keywords="建议\nsuggestion"
    )
    RoutingRule.objects.create(
        name="Retired", order=0, queue=queues["feedback"], keywords="payment", active=False
    )


def filed(inbound) -> Ticket:
    (received,) = actions.receive_many([inbound])
    return received.message.ticket


def routed_lines(ticket: Ticket) -> list[dict]:
    return list(ticket.events.filter(kind=TicketEvent.Kind.ROUTED).values_list("data", flat=True))


def test_an_email_about_a_failed_payment_goes_to_transactions(rules, queues):
    ticket = filed(factories.email(subject="Payment FAILED twice", text="Please help"))
    ticket.refresh_from_db()
    assert ticket.queue == queues["transactions"]
    assert ticket.category == Ticket.Category.TRANSACTION
    assert ticket.priority == Ticket.Priority.HIGH
    (line,) = routed_lines(ticket)
    assert line["queue"] == "transactions"
    assert line["rule"] == "Payment failures"
    routed = [entry for entry in ticket_history(ticket) if entry.event.kind == "routed"]
    assert [entry.summary for entry in routed] == ["to Transactions by rule Payment failures"]
    with translation.override("zh-hans"):
        (entry,) = [entry for entry in ticket_history(ticket) if entry.event.kind == "routed"]
        assert entry.summary == "按规则“Payment failures”分派到 Transactions"


def test_mail_to_a_support_address_follows_that_address_rule_first(rules, queues):
    inbound = factories.email(subject="Payment failed", metadata={"to": ["VIP@mywallet.example"]})
    assert filed(inbound).queue == queues["vip"]
    other = factories.email("anna@example.org", metadata={"to": ["support@mywallet.example"]})
    assert filed(other).queue == queues["transactions"]


def test_wechat_text_in_chinese_is_matched_inside_a_sentence(rules, queues):
    ticket = filed(factories.wechat(text="我的账户被冻结了，怎么办"))
    assert ticket.queue == queues["security"]
    assert ticket.category == Ticket.Category.SECURITY
    assert filed(factories.wechat("oOther", text="我有一个建议")).queue == queues["feedback"]


def test_english_keywords_match_whole_words_only(rules, queues):
    ticket = filed(factories.chat(text="I was unhacked? no, just a question"))
    assert ticket.queue is None
    assert routed_lines(ticket) == []


def test_a_chat_rule_by_channel_routes_a_started_chat(queues, customer):
    RoutingRule.objects.create(name="Chats", queue=queues["vip"], channel="chat")
    ticket = actions.open_ticket(
        customer=customer, channel="chat", subject="Web chat", acting_user=None
    )
    assert ticket.queue == queues["vip"]
    assert routed_lines(ticket)[0]["rule"] == "Chats"


def test_a_ticket_opened_with_a_queue_is_not_routed(rules, queues, customer):
    ticket = actions.open_ticket(
        customer=customer,
        channel="web",
        subject="payment failed",
        queue=queues["feedback"],
        acting_user=None,
    )
    assert ticket.queue == queues["feedback"]
    assert routed_lines(ticket) == []


def test_a_rule_never_overrides_a_known_category_nor_lowers_the_priority(rules, queues, customer):
    ticket = actions.open_ticket(
        customer=customer,
        channel="web",
        subject="account frozen",
        category=Ticket.Category.ACCOUNT,
        priority=Ticket.Priority.URGENT,
        acting_user=None,
    )
    assert (ticket.queue, ticket.category, ticket.priority) == (
        queues["security"],
        Ticket.Category.ACCOUNT,
        Ticket.Priority.URGENT,
    )


def test_a_batch_reads_the_rules_once_whatever_its_size(rules, django_assert_max_num_queries):
    router = Router.load()
    assert [rule.name for rule in router.rules] == [
        "VIP mailbox",
        "Payment failures",
        "Security",
        "Suggestions",
    ]
    with django_assert_max_num_queries(0):
        router.match(channel="email", text="支付失败", to=())
