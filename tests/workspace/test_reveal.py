"""The ticket page's "Reveal" control (issue 16, point 3): each message's personal data is
listed masked with the control; the workspace endpoint calls tickets.actions.reveal and
answers JSON that no cache keeps; the page never holds the value, before or after."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.models import AccountEvent
from tests.accounts.security_helpers import strong_verification
from tests.conftest import verified_client
from tests.tickets import factories
from tests.tickets.test_personal_data_reveal import CARD, ID_NUMBER, SAMPLE, values_of
from tickets import actions
from tickets.models import Message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_at_once")]

REASON = "Customer asks which card the refund went to"


@pytest.fixture
def message(customer):
    received = actions.receive(factories.email("li.wei@example.com", text=SAMPLE))
    message = received.ticket.messages.get(direction=Message.Direction.INBOUND)
    values_of(message)
    return message


def page(client, ticket) -> str:
    response = client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    assert response.status_code == 200
    return response.content.decode()


def reveal_url(value) -> str:
    return reverse("admin:tickets_ticket_reveal", args=[value.message.ticket_id, value.pk])


def test_the_page_lists_the_values_masked_with_the_control(message, agent_client):
    shown = page(agent_client, message.ticket)
    id_number, card, phone = message.sensitive_values.order_by("position")
    for value in (id_number, card, phone):
        assert value.masked in shown
        assert reveal_url(value) in shown
    assert ID_NUMBER not in shown and CARD not in shown and "13912345678" not in shown
    assert "mw-reveal-reason" in shown  # no verification yet: the reason is asked for
    assert "tickets/reveal.js" in shown


def test_a_reveal_with_a_reason_answers_the_value_uncached_and_is_audited(message, agent_client):
    card = message.sensitive_values.get(kind="card")
    response = agent_client.post(reveal_url(card), {"reason": REASON})
    assert response.status_code == 200
    assert response.json() == {"value": CARD}
    assert "no-store" in response["Cache-Control"]
    event = AccountEvent.objects.get(action="personal_data_revealed")
    assert event.reason == REASON and event.details["sensitive_value"] == card.pk
    # The reveal expires with the page: a reload shows the masked form only.
    assert CARD not in page(agent_client, message.ticket)


def test_a_reveal_without_a_reason_is_refused_in_the_agents_language(message, agent_client):
    card = message.sensitive_values.get(kind="card")
    response = agent_client.post(reveal_url(card), {"reason": "why"})
    assert response.status_code == 400
    assert "at least 10 characters" in response.json()["error"]
    assert CARD not in response.content.decode()
    with translation.override("zh-hans"):
        response = agent_client.post(
            reveal_url(card), {"reason": ""}, headers={"accept-language": "zh-hans"}
        )
    assert "强验证" in response.json()["error"]
    assert not AccountEvent.objects.filter(action="personal_data_revealed").exists()


def test_after_a_strong_verification_no_reason_is_asked(message, customer, agent, agent_client):
    strong_verification(message.ticket, customer.wallets.get(), agent)
    shown = page(agent_client, message.ticket)
    assert "mw-reveal-reason" not in shown and "no reason needed" in shown
    id_number = message.sensitive_values.get(kind="id_number")
    response = agent_client.post(reveal_url(id_number))
    assert response.json() == {"value": ID_NUMBER}


def test_another_tickets_value_is_not_found_through_this_ticket(message, other_customer, agent):
    other = actions.receive(factories.email("anna@example.org", text="Where is my refund?"))
    card = message.sensitive_values.get(kind="card")
    url = reverse("admin:tickets_ticket_reveal", args=[other.ticket.pk, card.pk])
    response = verified_client(agent).post(url, {"reason": REASON})
    assert response.status_code == 404
    assert CARD not in response.content.decode()


def test_a_role_without_the_permission_sees_no_control_and_is_refused(
    message, agent, django_user_model
):
    agent.user_permissions.set([])
    agent.groups.first().permissions.remove(
        *agent.groups.first().permissions.filter(codename="reveal_sensitivevalue")
    )
    client = verified_client(django_user_model.objects.get(pk=agent.pk))
    shown = page(client, message.ticket)
    card = message.sensitive_values.get(kind="card")
    assert card.masked in shown and reveal_url(card) not in shown
    response = client.post(reveal_url(card), {"reason": REASON})
    assert response.status_code == 403
    assert CARD not in response.content.decode()


def test_the_reveal_needs_the_csrf_token(message, agent):
    client = Client(enforce_csrf_checks=True)
    client.cookies = verified_client(agent).cookies
    card = message.sensitive_values.get(kind="card")
    response = client.post(reveal_url(card), {"reason": REASON})
    assert response.status_code == 403
    assert not AccountEvent.objects.filter(action="personal_data_revealed").exists()


def test_a_get_reveals_nothing(message, agent_client):
    card = message.sensitive_values.get(kind="card")
    assert agent_client.get(reveal_url(card)).status_code == 405


def test_the_values_cost_the_page_one_query_however_many_messages_hold_them(
    message, customer, agent_client
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page(agent_client, message.ticket)
        return len(captured)

    few = queries()
    for _ in range(4):
        more = actions.receive(
            factories.email("li.wei@example.com", text=SAMPLE, ticket_id=message.ticket_id)
        )
        assert more.ticket == message.ticket
        values_of(more.message)
    # five from the customer, and the notice the first one brought (pii_notice)
    assert message.ticket.messages.filter(direction=Message.Direction.INBOUND).count() == 5
    assert queries() == few
