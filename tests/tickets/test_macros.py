"""Macros: placeholders filled for a ticket in its customer's language (tickets.macros), the
check that refuses unknown ones, and the migration that made the chat's canned replies
macros."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Customer
from tests.tickets import factories
from tickets import actions
from tickets.macros import fill, macros_for, render_macro, rendered_macros
from tickets.models import Macro, Queue

pytestmark = pytest.mark.django_db

GREETING = {
    "body_en": "Hello {customer_name}, this is {agent_name} about {ticket_reference} ({queue}).",
    "body_zh": "{customer_name}您好，我是{agent_name}，关于工单 {ticket_reference}（{queue}）。",
}


@pytest.fixture
def ticket(db):
    ticket = actions.receive(factories.email(text="My payment failed")).ticket
    ticket.customer.name = "Li Wei"
    ticket.customer.save()
    return ticket


def test_an_english_customer_gets_the_english_text_with_every_placeholder_filled(ticket, agent):
    ticket.customer.language = Customer.Language.ENGLISH
    ticket.queue = Queue.objects.create(name="Transactions", slug="transactions")
    macro = Macro.objects.create(title="Hi", **GREETING)
    agent.first_name = "Mei"
    rendered = render_macro(macro, ticket, agent=agent)
    assert rendered.text == f"Hello Li Wei, this is Mei about {ticket.reference} (Transactions)."


def test_a_chinese_customer_gets_the_chinese_text(ticket, agent):
    ticket.customer.language = Customer.Language.CHINESE
    macro = Macro.objects.create(title="Hi", **GREETING)
    rendered = render_macro(macro, ticket, agent=agent)
    assert rendered.text == f"Li Wei您好，我是agent，关于工单 {ticket.reference}（）。"


def test_a_customer_without_a_name_is_greeted_without_a_gap(ticket, agent):
    ticket.customer.name = ""
    ticket.customer.language = Customer.Language.ENGLISH
    macro = Macro.objects.create(title="Hi", body_en="Hello {customer_name}, thanks.", body_zh="x")
    assert render_macro(macro, ticket, agent=agent).text == "Hello, thanks."


def test_markup_in_a_name_stays_text_and_an_unknown_placeholder_stays_visible(ticket, agent):
    ticket.customer.name = "<script>alert(1)</script>"
    text = fill("Hi {customer_name} {ticket_number} {}", {"customer_name": ticket.customer.name})
    assert text == "Hi <script>alert(1)</script> {ticket_number} {}"  # escaped where shown


def test_a_macro_naming_an_unknown_placeholder_is_refused():
    macro = Macro(title="Typo", body_en="Hello {customer_nme}", body_zh="您好 {客户}")
    with pytest.raises(ValidationError) as refused:
        macro.full_clean()
    assert set(refused.value.message_dict) == {"body_en", "body_zh"}
    assert "{customer_nme}" in refused.value.message_dict["body_en"][0]


def test_a_ticket_gets_its_queues_macros_and_the_general_ones_active_only(ticket, agent):
    security = Queue.objects.create(name="Security", slug="security")
    other = Queue.objects.create(name="Feedback", slug="feedback")
    Macro.objects.create(title="General", body_en="g", body_zh="g")
    Macro.objects.create(title="Security", body_en="s", body_zh="s", queue=security)
    Macro.objects.create(title="Feedback", body_en="f", body_zh="f", queue=other)
    Macro.objects.create(title="Retired", body_en="r", body_zh="r", active=False)
    assert [m.title for m in macros_for(ticket)] == ["General"]
    ticket.queue = security
    assert [m.title for m in macros_for(ticket)] == ["General", "Security"]


def test_rendering_every_macro_is_one_query_however_many(ticket, agent, django_assert_num_queries):
    queue = Queue.objects.create(name="Security", slug="security")
    ticket.queue = queue
    ticket.save(update_fields=["queue"])
    for index in range(8):
        Macro.objects.create(title=f"M{index}", queue=queue if index % 2 else None, **GREETING)
    ticket = type(ticket).objects.select_related("customer", "queue").get(pk=ticket.pk)
    with django_assert_num_queries(1):
        assert len(rendered_macros(ticket, agent=agent)) == 8


# --- the migration from chat.CannedReply ------------------------------------------------------

BEFORE = [("tickets", "0006_callbacks"), ("chat", "0002_conversation_verified_by_app")]
AFTER = [("chat", "0003_macros_moved_to_tickets")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_chat_s_canned_replies_become_macros():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    old = migrate(BEFORE)
    queue = old.get_model("tickets", "Queue").objects.create(name="Security", slug="security")
    CannedReply = old.get_model("chat", "CannedReply")
    CannedReply.objects.create(title="Hello", text="您好\nHello", position=2)
    CannedReply.objects.create(title="Frozen", text="已冻结", queue=queue)

    new = migrate(AFTER)
    copied = {m.title: m for m in new.get_model("tickets", "Macro").objects.all()}
    assert set(copied) == {"Hello", "Frozen"}
    assert (copied["Hello"].body_en, copied["Hello"].body_zh) == ("您好\nHello", "您好\nHello")
    assert copied["Hello"].position == 2 and copied["Hello"].queue_id is None
    assert copied["Frozen"].queue_id == queue.pk and copied["Frozen"].active
    assert "chat_cannedreply" not in connection.introspection.table_names()
    migrate(latest)
