"""Contacts on the workspace's pages are masked until the agent has earned them (issue 12):
the Cc card and the reply form's recipients, the ticket's history, a message's metadata in
the Message admin, and a logged call's number. Each page is read as an agent with no
verification on the ticket, then after their own strong verification (the one a
protective change rests on, accounts.actions.security.verified_strongly_on)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Verification
from tests.accounts.security_helpers import strong_verification
from tests.tickets import factories
from tickets import actions
from tickets.models import CallLog, Message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_at_once")]

CC = "wang.fang@example.com"
CC_MASKED = "wa***@example.com"
PHONE = "+8613800138000"
PHONE_MASKED = "+86 138****8000"


@pytest.fixture
def ticket(customer, agent):
    ticket = actions.receive(factories.email("li.wei@example.com", text="Payment failed")).ticket
    ticket.cc_proposed = [CC, "zhao.lei@example.org"]
    ticket.save(update_fields=["cc_proposed"])
    actions.accept_cc(ticket, acting_user=agent, address=CC)
    return ticket


def ticket_page(client, ticket) -> str:
    return client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content.decode()


def test_the_ticket_page_masks_the_cc_until_the_agent_verifies(
    customer, ticket, agent, agent_client
):
    page = ticket_page(agent_client, ticket)
    assert CC not in page and "zhao.lei@example.org" not in page  # card, recipients, history
    assert CC_MASKED in page and "zh***@example.org" in page
    recipients = page[page.index('id="reply-recipients"') :][:600]
    assert CC_MASKED in recipients and "li***@example.com" in recipients

    strong_verification(ticket, customer.wallets.get(), agent)
    page = ticket_page(agent_client, ticket)
    assert CC in page and "zhao.lei@example.org" in page
    recipients = page[page.index('id="reply-recipients"') :][:600]
    assert CC in recipients and "li.wei@example.com" in recipients


def test_a_colleagues_weak_or_expired_verification_earns_nothing(
    customer, ticket, agent, other_agent, agent_client
):
    wallet = customer.wallets.get()
    strong_verification(ticket, wallet, other_agent)  # a colleague's check is not passed on
    Verification.objects.create(
        ticket=ticket,
        account=wallet,
        agent=agent,
        strength=Verification.Strength.WEAK,
        checks_passed=["recent_transaction"],
        expires_at=timezone.now() + timedelta(minutes=30),
    )
    assert CC not in ticket_page(agent_client, ticket)
    expired = strong_verification(ticket, wallet, agent)
    Verification.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    assert CC not in ticket_page(agent_client, ticket)


def test_the_cc_buttons_work_without_the_address_in_the_page(ticket, agent_client):
    page = ticket_page(agent_client, ticket)
    start = page.index('id="cc"')
    card = page[start : page.index("</div>", start)]
    tokens = [chunk.split('"', 1)[0] for chunk in card.split('name="address_token" value="')[1:]]
    assert len(tokens) == 3  # remove the accepted; accept or remove the proposed
    response = agent_client.post(
        reverse("admin:tickets_ticket_remove_cc", args=[ticket.pk]),
        {"address_token": tokens[0]},
        follow=True,
    )
    text = response.content.decode()
    assert "a***@example.com was removed" in text and CC not in text  # the message masks it
    ticket.refresh_from_db()
    assert ticket.cc == []
    refused = agent_client.post(
        reverse("admin:tickets_ticket_accept_cc", args=[ticket.pk]),
        {"address_token": "0" * 32},
        follow=True,
    )
    assert "Choose a valid address." in refused.content.decode()


def test_the_message_admin_masks_the_metadata_until_the_agent_verifies(
    customer, ticket, agent, agent_client
):
    message = ticket.messages.get()
    Message.objects.filter(pk=message.pk).update(
        metadata={"to": ["support@mywallet.example"], "cc": [CC], "phone": PHONE}
    )
    url = reverse("admin:tickets_message_change", args=[message.pk])
    page = agent_client.get(url).content.decode()
    assert CC not in page and PHONE not in page
    assert CC_MASKED in page and PHONE_MASKED in page

    strong_verification(ticket, customer.wallets.get(), agent)
    page = agent_client.get(url).content.decode()
    assert CC in page and PHONE in page


def test_the_call_form_masks_the_callers_number_until_the_agent_verifies(
    customer, ticket, agent, agent_client
):
    call = CallLog.objects.create(
        caller_number=PHONE, started_at=timezone.now(), agent=agent, ticket=ticket
    )
    url = reverse("admin:tickets_calllog_change", args=[call.pk])
    page = agent_client.get(url).content.decode()
    assert "13800138000" not in page and PHONE_MASKED in page
    # Saving the form keeps the number it did not show.
    response = agent_client.post(
        url,
        {
            "direction": "inbound",
            "outcome": "missed",
            "started_at_0": timezone.localtime(call.started_at).strftime("%Y-%m-%d"),
            "started_at_1": timezone.localtime(call.started_at).strftime("%H:%M:%S"),
            "agent": agent.pk,
            "ticket": ticket.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    call.refresh_from_db()
    assert (call.caller_number, call.outcome) == (PHONE, "missed")

    strong_verification(ticket, customer.wallets.get(), agent)
    page = agent_client.get(url).content.decode()
    assert f'value="{PHONE}"' in page


def test_a_call_without_a_ticket_is_masked(agent, agent_client):
    call = CallLog.objects.create(caller_number=PHONE, started_at=timezone.now())
    page = agent_client.get(reverse("admin:tickets_calllog_change", args=[call.pk])).content
    assert b"13800138000" not in page
