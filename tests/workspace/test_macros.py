"""Macros on the ticket page: the picker offers them rendered for the ticket's customer,
and a reply sent from one applies its status change through the actions, with history."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.workspace.test_tickets import from_customer
from tickets import actions
from tickets.models import Macro, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    customer.name = '<img src=x onerror="alert(1)">'
    customer.language = "en"
    customer.save()
    return actions.receive(from_customer(customer, "My payment failed.", subject="Payment")).ticket


@pytest.fixture
def solving(db):
    return Macro.objects.create(
        title="Solved",
        body_en="Glad we sorted it, {customer_name}. Quote {ticket_reference} if needed.",
        body_zh="很高兴为您解决了问题。如有疑问请注明 {ticket_reference}。",
        status=Ticket.Status.SOLVED,
    )


def test_the_ticket_page_offers_macros_rendered_for_its_customer_escaped(
    agent_client, ticket, solving
):
    page = agent_client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    html = page.content.decode()
    assert 'id="mw-macro-picker"' in html and "tickets/macros.js" in html
    name = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
    expected = f"Glad we sorted it, {name}. Quote {ticket.reference} if needed."
    assert f'data-text="{expected}"' in html
    assert 'data-status="solved"' in html
    assert '<img src=x onerror="alert(1)">' not in html


def test_a_reply_from_a_macro_sends_it_and_then_sets_the_macro_s_status(
    agent_client, agent, ticket, solving
):
    body = f"Glad we sorted it. Quote {ticket.reference} if needed."
    response = agent_client.post(
        reverse("admin:tickets_ticket_reply", args=[ticket.pk]),
        {"kind": "reply", "body": body, "macro": solving.pk},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.SOLVED
    assert ticket.messages.filter(text=body, author=agent).exists()
    changed = TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.STATUS)
    assert changed.filter(actor=agent, data__to="solved").exists()


def test_the_agent_s_own_status_choice_wins_over_the_macro_s(agent_client, ticket, solving):
    agent_client.post(
        reverse("admin:tickets_ticket_reply", args=[ticket.pk]),
        {"kind": "reply", "body": "Almost there.", "macro": solving.pk, "then_status": "pending"},
    )
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING


def test_an_unknown_or_retired_macro_is_refused_and_nothing_is_sent(agent_client, ticket, solving):
    solving.active = False
    solving.save()
    for macro in (solving.pk, 999999, "x"):
        response = agent_client.post(
            reverse("admin:tickets_ticket_reply", args=[ticket.pk]),
            {"kind": "reply", "body": "Hello", "macro": macro},
        )
        assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status != Ticket.Status.SOLVED
    assert not ticket.messages.filter(text="Hello").exists()


def test_the_ticket_page_s_queries_do_not_grow_with_the_macros(agent_client, ticket, solving):
    page = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    agent_client.get(page)  # warm: the session, the content types
    with CaptureQueriesContext(connection) as one:
        agent_client.get(page)
    for index in range(10):
        Macro.objects.create(title=f"M{index}", body_en="{customer_name}", body_zh="{queue}")
    with CaptureQueriesContext(connection) as eleven:
        html = agent_client.get(page).content.decode()
    assert html.count("data-status=") == 11
    assert len(eleven) == len(one)
