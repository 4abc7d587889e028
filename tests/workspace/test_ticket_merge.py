"""Merging tickets from the workspace (workspace/admin/ticket_merge.py): the ticket page's
"Merge into…" form and the list's "Merge selected tickets" action, through
tickets.actions.merge_tickets, with its refusals told to the agent."""

import pytest
from django.urls import reverse

from tests.tickets import factories
from tickets import actions
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def first(customer):
    return actions.receive(factories.email(subject="Payment failed")).ticket


@pytest.fixture
def second(customer, first):
    return actions.receive(factories.email(subject="Payment failed again")).ticket


def merge_url(ticket) -> str:
    return reverse("admin:tickets_ticket_merge", args=[ticket.pk])


def change_url(ticket) -> str:
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def test_the_ticket_page_offers_the_merge_form(agent_client, second):
    page = agent_client.get(change_url(second)).text
    assert f'action="{merge_url(second)}"' in page
    assert 'name="target"' in page


def test_merging_by_reference_moves_the_thread_and_opens_the_target(agent_client, first, second):
    response = agent_client.post(merge_url(second), {"target": first.reference.lower()})
    assert response.status_code == 302
    assert response["Location"] == change_url(first)
    assert first.messages.count() == 2
    second.refresh_from_db()
    assert second.status == Ticket.Status.CLOSED
    page = agent_client.get(change_url(first)).text
    assert f"agent merged {second.reference} into this ticket" in page


def test_an_unknown_reference_is_told(agent_client, second):
    response = agent_client.post(merge_url(second), {"target": "MW-999999"}, follow=True)
    assert "No ticket has the reference “MW-999999”." in response.text
    assert second.messages.count() == 1


def test_another_customers_ticket_is_refused_with_the_reason(agent_client, first, other_customer):
    stranger = actions.receive(factories.email("anna@example.org")).ticket
    response = agent_client.post(merge_url(stranger), {"target": first.reference}, follow=True)
    assert "belong to different customers" in response.text
    assert stranger.messages.count() == 1


def test_the_bulk_action_merges_the_selected_into_the_oldest(agent_client, first, second):
    third = actions.receive(factories.email(subject="Third time")).ticket
    response = agent_client.post(
        reverse("admin:tickets_ticket_changelist"),
        {"action": "merge_selected", "_selected_action": [first.pk, second.pk, third.pk]},
        follow=True,
    )
    assert f"2 ticket(s) merged into {first.reference}." in response.text
    assert first.messages.count() == 3
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.MERGED_FROM, ticket=first).count() == 2


def test_the_bulk_action_wants_two_tickets(agent_client, first):
    response = agent_client.post(
        reverse("admin:tickets_ticket_changelist"),
        {"action": "merge_selected", "_selected_action": [first.pk]},
        follow=True,
    )
    assert "Select at least two tickets." in response.text
