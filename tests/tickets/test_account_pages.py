"""The signed-in customer's own pages (tickets.account_pages): /account/ lists their
tickets, /account/tickets/<reference>/ shows one conversation, and nothing else: not
another customer's tickets, not an internal note, not what only agents see."""

import pytest

from tests.accounts.self_service_helpers import csrf_client, page_text, sign_in_with_app
from tickets import actions
from tickets.models import Ticket

from . import factories

pytestmark = pytest.mark.django_db

HOME_URL = "/account/"
NOTE = "Internal: customer sounded stressed, check the risk rule first"


@pytest.fixture
def wallet(customer):
    return customer.wallets.get()


@pytest.fixture
def ticket(customer, agent):
    ticket = actions.receive(factories.email(text="My payment to Meituan failed")).ticket
    actions.add_note(ticket, acting_user=agent, body=NOTE)
    actions.reply(ticket, acting_user=agent, body="We are looking into it.")
    return ticket


@pytest.fixture
def others_ticket(other_customer):
    return actions.receive(factories.email("anna@example.org", subject="Anna's refund")).ticket


@pytest.fixture
def signed_in(wallet):
    client = csrf_client()
    sign_in_with_app(client, wallet)
    return client


def test_the_home_lists_the_customers_own_tickets_only(
    signed_in, ticket, others_ticket, django_assert_max_num_queries
):
    # The session, the wallet, the tickets; the session's save (within a savepoint).
    with django_assert_max_num_queries(6):
        page = signed_in.get(HOME_URL)
    text = page_text(page)
    assert ticket.reference in text
    assert "Payment failed" in text
    assert "Email" in text and "Open" in text
    assert f"/account/tickets/{ticket.reference}/" in text
    assert others_ticket.reference not in text and "Anna" not in text
    assert "/account/change-contact/" in text
    assert "/account/reset-payment-password/" in text


def test_the_query_count_does_not_grow_with_the_tickets(
    signed_in, customer, django_assert_max_num_queries
):
    for number in range(5):
        actions.receive(factories.email(subject=f"Question {number}"))
    assert Ticket.objects.filter(customer=customer).count() == 5
    with django_assert_max_num_queries(6):
        page = signed_in.get(HOME_URL)
    assert "Question 4" in page_text(page)


def test_a_ticket_shows_the_conversation_without_internal_notes(signed_in, ticket):
    page = signed_in.get(f"/account/tickets/{ticket.reference}/")
    assert page.status_code == 200
    text = page_text(page)
    assert "My payment to Meituan failed" in text
    assert "We are looking into it." in text
    assert "MY Wallet support" in text
    assert NOTE not in text
    assert "agent" not in text.lower()  # not even the agent's username


def test_another_customers_ticket_is_not_found(signed_in, others_ticket):
    assert signed_in.get(f"/account/tickets/{others_ticket.reference}/").status_code == 404
    assert signed_in.get("/account/tickets/MW-NOPE/").status_code == 404


def test_the_pages_need_a_customer_signed_in_through_the_app(ticket, agent_client):
    assert csrf_client().get(HOME_URL)["Location"] == "/account/sign-in/"
    response = csrf_client().get(f"/account/tickets/{ticket.reference}/")
    assert response["Location"] == "/account/sign-in/"
    # An agent's login is not a customer's.
    assert agent_client.get(f"/account/tickets/{ticket.reference}/").status_code == 302


def test_the_home_speaks_chinese(wallet, ticket):
    client = csrf_client()
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    sign_in_with_app(client, wallet)
    text = page_text(client.get(HOME_URL))
    assert "我的账户" in text
