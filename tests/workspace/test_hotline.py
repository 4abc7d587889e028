"""The hotline in the workspace: logging a call from a typed number (any format) finds the
customer, shows who it is before saving, files the notes as a phone Message on their open
ticket (or opens one) and lands the agent on that ticket; the customer page links to it;
the callbacks queue lists what is owed by due time, and agents mark callbacks done."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer, DeviceConfirmation, Verification
from tests.accounts.codes_fixtures import _no_code_limits, sms_gateway
from tests.accounts.security_helpers import answer, last_sms_link
from tests.tickets import factories
from tickets import actions
from tickets.models import Callback, CallLog, Channel, Message, Ticket

__all__ = ["_no_code_limits", "sms_gateway"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_at_once")]

ADD = "admin:tickets_calllog_add"


def log(client, **fields):
    data = {
        "caller_number": "138 0013 8000",
        "direction": "inbound",
        "outcome": "answered",
        "started_at_0": timezone.localtime().strftime("%Y-%m-%d"),
        "started_at_1": timezone.localtime().strftime("%H:%M:%S"),
        "duration_minutes": "4",
        "notes": "Cannot bind a new card.",
    }
    data.update(fields)
    return client.post(reverse(ADD), data)


def test_a_logged_call_lands_on_the_customers_open_ticket(agent_client, agent, customer):
    open_ticket = actions.receive(factories.email("li.wei@example.com", text="Card?")).ticket

    response = log(agent_client)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert response.url == reverse("admin:tickets_ticket_change", args=[open_ticket.pk])
    call = CallLog.objects.get()
    assert (call.customer, call.ticket, call.agent) == (customer, open_ticket, agent)
    assert call.caller_number == "+8613800138000"
    assert call.duration == timedelta(minutes=4)
    message = open_ticket.messages.get(channel=Channel.PHONE)
    assert message.text == "Cannot bind a new card."
    assert Ticket.objects.count() == 1


def test_a_call_from_a_new_number_opens_a_phone_ticket_for_a_new_customer(agent_client, customer):
    response = log(agent_client, caller_number="+86 139-1234-5678")

    assert response.status_code == 302
    call = CallLog.objects.get()
    assert call.customer != customer and call.ticket.channel == Channel.PHONE
    assert call.ticket.customer == call.customer


def test_a_bad_number_is_refused_on_the_form_and_nothing_is_written(agent_client, customer):
    response = log(agent_client, caller_number="12345")

    assert response.status_code == 200
    assert "not a valid phone number" in response.content.decode()
    assert not CallLog.objects.exists() and not Message.objects.exists()
    assert Customer.objects.count() == 1


def test_a_missed_call_logged_by_hand_goes_to_the_callbacks_queue(agent_client, customer):
    response = log(agent_client, outcome="missed", notes="")

    assert response.status_code == 302
    assert response.url == reverse("admin:tickets_callback_changelist")
    assert Callback.objects.get().customer == customer


def test_the_caller_is_shown_before_saving_with_other_contacts_masked(agent_client, customer):
    ticket = actions.receive(factories.email("li.wei@example.com", text="Card?")).ticket
    url = reverse("admin:tickets_calllog_caller")

    known = agent_client.get(url, {"number": "13800138000"}).json()
    new = agent_client.get(url, {"number": "+8613912345678"}).json()
    bad = agent_client.get(url, {"number": "12"}).json()

    assert known == {
        "valid": True,
        "found": True,
        "name": "Li Wei",
        "ticket": ticket.reference,
        "contacts": ["li***@example.com"],
    }
    assert new["found"] is False and new["valid"] is True
    assert bad["valid"] is False
    assert not CallLog.objects.exists()


def test_the_caller_view_is_for_agents_only(client, customer):
    response = client.get(reverse("admin:tickets_calllog_caller"), {"number": "13800138000"})
    assert response.status_code == 302  # to the login page
    assert "Li Wei" not in response.content.decode()


def test_the_customer_page_links_to_logging_a_call_with_their_number(agent_client, customer):
    page = agent_client.get(reverse("admin:accounts_customer_change", args=[customer.pk]))
    link = reverse(ADD) + f"?customer={customer.pk}"
    assert link in page.content.decode()

    form = agent_client.get(link).content.decode()
    assert "+86 138****8000" in form and "+8613800138000" not in form  # masked
    assert "phone/caller.js" in form

    response = log(agent_client, caller_number="", customer=str(customer.pk))
    assert response.status_code == 302
    assert CallLog.objects.get().customer == customer


def test_no_number_and_no_customer_is_refused(agent_client, customer):
    response = log(agent_client, caller_number="")
    assert "Type the caller" in response.content.decode()
    assert not CallLog.objects.exists()


def test_the_callbacks_queue_lists_open_callbacks_by_due_time_and_marks_them_done(
    agent_client, agent, customer
):
    now = timezone.now()
    later = Callback.objects.create(
        phone="+8613800138000", source="web", due_at=now + timedelta(hours=2), customer=customer
    )
    sooner = Callback.objects.create(
        phone="+8613900139000", source="missed_call", due_at=now - timedelta(minutes=5)
    )
    done = Callback.objects.create(
        phone="+8613700137000", source="web", due_at=now, status=Callback.Status.DONE
    )

    page = agent_client.get(reverse("admin:tickets_callback_changelist")).content.decode()
    assert page.index("+86 139****9000") < page.index("+86 138****8000")
    assert "+86 137****7000" not in page  # done: not in the queue
    assert "+8613800138000" not in page  # numbers masked
    assert done.pk

    response = agent_client.post(
        reverse("admin:tickets_callback_changelist") + "?status__exact=open",
        {"action": "mark_done", "_selected_action": [sooner.pk]},
        follow=True,
    )
    assert "1 callbacks marked done." in response.content.decode()
    sooner.refresh_from_db()
    later.refresh_from_db()
    assert sooner.status == Callback.Status.DONE and sooner.done_by == agent
    assert later.status == Callback.Status.OPEN


def test_the_ticket_list_links_to_logging_a_call(agent_client):
    page = agent_client.get(reverse("admin:tickets_ticket_changelist")).content.decode()
    assert f'href="{reverse(ADD)}"' in page and "Log a call" in page


def test_a_logged_calls_notes_are_written_by_the_agent_not_as_the_customers_words(
    agent_client, agent, customer
):
    log(agent_client)

    message = Message.objects.get(channel=Channel.PHONE)
    assert message.author == agent
    assert message.direction == Message.Direction.INBOUND
    assert message.sender.customer == customer
    assert message.metadata["logged_by_agent"] is True
    assert message.metadata["call"]["direction"] == "inbound"
    page = agent_client.get(reverse("admin:tickets_ticket_change", args=[message.ticket_id]))
    assert "(call logged by the agent)" in page.content.decode()


def test_an_outbound_call_does_not_reopen_a_solved_ticket(agent_client, agent, customer):
    solved = actions.receive(factories.email("li.wei@example.com", text="Card?")).ticket
    Ticket.objects.filter(pk=solved.pk).update(status=Ticket.Status.SOLVED)

    response = log(agent_client, direction="outbound", notes="Called back: card bound.")

    assert response.status_code == 302
    solved.refresh_from_db()
    assert solved.status == Ticket.Status.SOLVED
    assert CallLog.objects.get().ticket == solved
    message = solved.messages.get(channel=Channel.PHONE)
    assert (message.direction, message.author, message.text) == (
        Message.Direction.OUTBOUND,
        agent,
        "Called back: card bound.",
    )
    assert message.delivery_status == Message.Delivery.SENT
    assert Ticket.objects.count() == 1


def test_an_outbound_call_leaves_a_pending_ticket_pending(agent_client, customer):
    pending = actions.receive(factories.email("li.wei@example.com", text="Card?")).ticket
    Ticket.objects.filter(pk=pending.pk).update(status=Ticket.Status.PENDING)

    log(agent_client, direction="outbound")

    pending.refresh_from_db()
    assert pending.status == Ticket.Status.PENDING
    assert pending.messages.get(channel=Channel.PHONE).direction == Message.Direction.OUTBOUND


def test_an_inbound_answered_call_reopens_a_pending_ticket_as_any_customer_contact(
    agent_client, customer
):
    pending = actions.receive(factories.email("li.wei@example.com", text="Card?")).ticket
    Ticket.objects.filter(pk=pending.pk).update(status=Ticket.Status.PENDING)

    log(agent_client)

    pending.refresh_from_db()
    assert pending.status == Ticket.Status.OPEN


def told(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_verify_the_caller_now_sends_the_confirmation_link_and_lands_on_the_panel(
    agent_client, agent, customer, sms_gateway
):
    response = log(agent_client, verify_caller="on")

    ticket = CallLog.objects.get().ticket
    assert response.url == reverse("admin:tickets_ticket_change", args=[ticket.pk]) + "#security"
    confirmation = DeviceConfirmation.objects.get()
    assert (confirmation.ticket, confirmation.agent, confirmation.account) == (
        ticket,
        agent,
        customer.wallets.get(),
    )
    assert confirmation.purpose == DeviceConfirmation.Purpose.VERIFICATION
    # The agent is told where it went, masked: they have not verified the caller yet.
    (sent,) = [text for text in told(response) if "Confirmation link" in text]
    assert confirmation.masked_destination in sent and "13800138000" not in sent

    # The panel the agent lands on shows the link waiting, then the caller's answer.
    assert "mw-sec-confirmation-pending" in agent_client.get(response.url).content.decode()
    answer(last_sms_link(sms_gateway), confirmed=True)
    verification = Verification.objects.get(ticket=ticket)
    assert verification.strength == Verification.Strength.STRONG
    assert "mw-sec-confirmation-confirmed" in agent_client.get(response.url).content.decode()


def test_verify_the_caller_now_without_a_wallet_says_so_and_keeps_the_call(
    agent_client, sms_gateway
):
    response = log(agent_client, caller_number="+86 139-1234-5678", verify_caller="on")

    call = CallLog.objects.get()
    assert response.url.endswith("#security")
    assert any("no wallet" in text for text in told(response))
    assert call.ticket.messages.filter(channel=Channel.PHONE).count() == 1
    assert not DeviceConfirmation.objects.exists() and not sms_gateway.messages


def test_no_confirmation_link_unless_the_agent_ticks_it(agent_client, customer, sms_gateway):
    response = log(agent_client)

    assert not response.url.endswith("#security")
    assert not DeviceConfirmation.objects.exists() and not sms_gateway.messages


def test_the_add_call_page_offers_verifying_the_caller_in_both_languages(agent_client):
    english = agent_client.get(reverse(ADD)).content.decode()
    chinese = agent_client.get(reverse(ADD), HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()

    assert 'name="verify_caller"' in english and "Verify the caller now" in english
    assert 'name="verify_caller"' in chinese and "立即核验来电者" in chinese
