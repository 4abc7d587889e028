"""The audit trail shown on the wallet, the customer and the ticket pages: read-only,
newest first, masked, each event a sentence (accounts.event_text)."""

import pytest
from django.urls import reverse

from accounts.actions import record_event
from accounts.models import AccountEvent
from tickets import actions as ticket_actions
from tickets.models import Channel

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallet(customer):
    return customer.wallets.get()


@pytest.fixture
def ticket(customer, agent):
    return ticket_actions.open_ticket(
        customer=customer, channel=Channel.PHONE, subject="Locked out", acting_user=agent
    )


def _events(customer, wallet, agent, ticket):
    record_event(
        customer=customer,
        account=wallet,
        action=AccountEvent.Action.LOCK,
        reason="Five wrong payment passwords",
        details={"attempts": 5},
    )
    record_event(
        customer=customer,
        account=wallet,
        ticket=ticket,
        acting_user=agent,
        action=AccountEvent.Action.FREEZE,
        reason="Caller could not verify",
        # A writer that forgot to mask: the page masks it anyway.
        details={"called_from": "+8613700137000", "email": "li.wei@example.com"},
    )


def test_the_wallet_page_lists_its_events_newest_first_and_masked(
    agent_client, customer, wallet, agent, ticket
):
    _events(customer, wallet, agent, ticket)
    page = agent_client.get(reverse("admin:accounts_walletaccount_change", args=[wallet.pk]))
    assert page.status_code == 200
    text = page.text
    assert text.index("agent froze the wallet") < text.index("The system locked the wallet")
    assert "Caller could not verify" in text
    assert "attempts: 5" not in text  # a sentence, not the row's details
    assert "13700137000" not in text
    assert "li.wei@example.com" not in text
    assert f"?account={wallet.pk}" in text


def test_the_customer_page_lists_the_events_of_the_customer_and_their_wallets(
    agent_client, customer, wallet, agent, ticket
):
    _events(customer, wallet, agent, ticket)
    page = agent_client.get(reverse("admin:accounts_customer_change", args=[customer.pk]))
    assert page.status_code == 200
    assert "agent froze the wallet" in page.text
    assert "The system locked the wallet" in page.text
    assert wallet.number in page.text


def test_the_ticket_page_shows_the_events_of_the_ticket_and_the_customers_wallets(
    agent_client, customer, other_customer, wallet, agent, ticket
):
    _events(customer, wallet, agent, ticket)
    record_event(
        customer=other_customer,
        account=other_customer.wallets.get(),
        action=AccountEvent.Action.UNFREEZE,
        reason="Someone else's wallet",
    )
    page = agent_client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    assert page.status_code == 200
    entries = page.context["account_events"]
    assert [e.event.action for e in entries] == ["freeze", "lock"]
    assert "Account events" in page.text
    assert "Someone else&#x27;s wallet" not in page.text
    assert "13700137000" not in page.text


def test_the_event_list_filters_by_wallet_and_customer(
    agent_client, customer, other_customer, wallet, agent, ticket
):
    _events(customer, wallet, agent, ticket)
    changelist = reverse("admin:accounts_accountevent_changelist")
    by_wallet = agent_client.get(changelist, {"account": wallet.pk})
    assert by_wallet.status_code == 200
    assert by_wallet.context["cl"].result_count == 2
    by_customer = agent_client.get(changelist, {"customer": other_customer.pk})
    assert by_customer.context["cl"].result_count == 0


def test_a_wallet_page_never_offers_to_edit_its_events(agent_client, customer, wallet, agent):
    record_event(customer=customer, account=wallet, action=AccountEvent.Action.LOCK)
    page = agent_client.get(reverse("admin:accounts_walletaccount_change", args=[wallet.pk]))
    assert "accountevent_delete" not in page.text
    assert reverse("admin:accounts_accountevent_add") not in page.text
