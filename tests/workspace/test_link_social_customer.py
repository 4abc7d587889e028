"""Item 5 of issue 13: a Weibo customer says who they are, the agent verifies them
strongly on the ticket, and the two customers become one (identities, tickets, history),
audited; answers then go back through the ticket's channel or another of theirs."""

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.confirmations import pending_confirmation
from accounts.models import AccountEvent, Customer, CustomerIdentity
from tests.accounts.codes_fixtures import _no_code_limits, sms_gateway
from tests.accounts.security_helpers import last_sms_link
from tests.conftest import verified_client
from tests.tickets.sources.wechat.signing import TOKEN as WECHAT_TOKEN
from tests.tickets.sources.wechat.signing import plain_request, text_xml
from tickets import actions
from tickets.inbound import Inbound
from tickets.models import Message, Ticket, TicketEvent
from tickets.sources.phone.calls import Call, file_call

__all__ = ["_no_code_limits", "sms_gateway"]
pytestmark = pytest.mark.django_db
UID = "2489518277"
OPEN_ID = "oWx_test_liwei_0001"


def from_weibo(text, n=1):
    return actions.receive(
        Inbound(
            channel="weibo",
            sender_kind="weibo",
            sender=UID,
            text=text,
            external_id=f"weibo:{UID}:{n}",
            continue_open=True,
        )
    )


def claim_url(ticket):
    return reverse("admin:tickets_ticket_claim", args=[ticket.pk])


def change_page(client, ticket) -> str:
    return client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content.decode()


def test_weibo_and_email_and_phone_become_one_customer(
    customer, agent, agent_client, sms_gateway, tasks_at_once
):
    ticket = from_weibo("我是李伟，钱包被锁了").ticket
    email_ticket = actions.receive(
        Inbound(channel="email", sender_kind="email", sender="li.wei@example.com", text="hi")
    ).ticket
    weibo_customer = ticket.customer
    assert weibo_customer != customer
    assert 'id="link-customer"' in change_page(agent_client, ticket)

    # The customer says they own Li Wei's phone, typed as a caller would say it.
    agent_client.post(claim_url(ticket), {"contact": "138 0013 8000"})
    ticket.refresh_from_db()
    assert ticket.claimed_identity.customer == customer
    assert ticket.customer == weibo_customer  # a claim links nothing yet
    page = change_page(agent_client, ticket)
    assert 'id="link-customer"' not in page
    assert "Claimed wallet ending" in page

    # A strong verification: the link sent to Li Wei's registered phone, answered yes.
    wallet = customer.wallets.get()
    response = agent_client.post(
        reverse("admin:tickets_ticket_security", args=[ticket.pk, "confirm"]),
        {"account": wallet.pk, "channel": "phone"},
    )
    assert response.status_code == 302
    token = last_sms_link(sms_gateway)
    actions.answer_confirmation(pending_confirmation(token, client_ip=None), confirmed=True)

    ticket.refresh_from_db()
    assert ticket.customer == customer
    kinds = sorted(customer.identities.values_list("kind", flat=True))
    assert kinds == ["email", "phone", "weibo"]
    assert set(customer.tickets.values_list("pk", flat=True)) == {ticket.pk, email_ticket.pk}
    assert Customer.objects.get(pk=weibo_customer.pk).merged_into == customer
    merged = AccountEvent.objects.filter(action=AccountEvent.Action.CUSTOMERS_MERGED)
    assert merged.count() == 2 and all(e.details["via"] == "weibo" for e in merged)
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.CUSTOMER_MERGED)
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.CHANGED).exists()
    # History kept: the Weibo message is still on its ticket, now Li Wei's.
    assert Message.objects.filter(ticket=ticket, channel="weibo").count() == 1

    # The next Weibo message from that account lands on Li Wei's open Weibo ticket.
    again = from_weibo("还在吗", n=2)
    assert again.ticket.pk == ticket.pk and again.ticket.customer_id == customer.pk

    # The reply form now offers Weibo (the ticket's own) and Li Wei's email.
    page = change_page(agent_client, ticket)
    assert 'type="radio" name="via" value="weibo"' in page
    assert 'type="radio" name="via" value="email"' in page


def test_a_contact_nobody_has_is_refused_and_nothing_changes(agent_client, customer):
    ticket = from_weibo("hello").ticket
    agent_client.post(claim_url(ticket), {"contact": "+8613912345678"})
    agent_client.post(claim_url(ticket), {"contact": "not a contact"})
    ticket.refresh_from_db()
    assert ticket.claimed_identity is None
    assert not TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.CHANGED).exists()


def test_a_second_claim_does_not_replace_the_first(agent_client, customer, other_customer):
    ticket = from_weibo("hello").ticket
    agent_client.post(claim_url(ticket), {"contact": "li.wei@example.com"})
    agent_client.post(claim_url(ticket), {"contact": "anna@example.org"})
    ticket.refresh_from_db()
    assert ticket.claimed_identity.customer == customer


def test_a_staff_user_without_agent_rights_cannot_claim(db, customer, django_user_model):
    user = django_user_model.objects.create_user(
        username="viewer", password="correct horse battery staple", is_staff=True
    )
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    ticket = from_weibo("hello").ticket
    response = verified_client(user).post(claim_url(ticket), {"contact": "li.wei@example.com"})
    assert response.status_code in (302, 403)
    assert Ticket.objects.get(pk=ticket.pk).claimed_identity is None
    assert CustomerIdentity.objects.filter(kind="weibo", customer=ticket.customer).exists()


def test_a_caller_a_wechat_follower_and_an_emailer_become_one_customer(
    customer, agent, agent_client, client, settings, sms_gateway, tasks_at_once
):
    """The issue's test: one person calls the hotline, writes on WeChat (a signed webhook
    message) and emails; after the agent links the WeChat customer to the verified one,
    there is one customer with three identities and all three tickets."""
    settings.WECHAT_TOKEN = WECHAT_TOKEN
    settings.WECHAT_API_BASE = ""
    call = file_call(
        Call(number="138-0013-8000", started_at=timezone.now(), notes="钱包被锁 wallet locked"),
        agent=agent,
    )
    email = actions.receive(
        Inbound(channel="email", sender_kind="email", sender="Li.Wei@example.com", text="hi")
    )
    assert call.ticket.customer == email.ticket.customer == customer

    qs, body = plain_request(text_xml(OPEN_ID, "我是李伟，钱包被锁了", 880001))
    answer = client.post(f"/webhooks/wechat/?{qs}", body, content_type="text/xml")
    assert answer.content == b"success"
    ticket = Ticket.objects.get(messages__channel="wechat", messages__external_id="880001")
    wechat_customer = ticket.customer
    assert wechat_customer != customer  # an OpenID proves nothing about who it is

    agent_client.post(claim_url(ticket), {"contact": "+86 138 0013 8000"})
    wallet = customer.wallets.get()
    agent_client.post(
        reverse("admin:tickets_ticket_security", args=[ticket.pk, "confirm"]),
        {"account": wallet.pk, "channel": "phone"},
    )
    ticket.refresh_from_db()
    assert ticket.customer == wechat_customer  # claimed, not yet verified: nothing merged
    token = last_sms_link(sms_gateway)
    actions.answer_confirmation(pending_confirmation(token, client_ip=None), confirmed=True)

    ticket.refresh_from_db()
    assert ticket.customer == customer
    assert Customer.objects.get(pk=wechat_customer.pk).merged_into == customer
    identities = sorted(customer.identities.values_list("kind", "value"))
    assert identities == [
        ("email", "li.wei@example.com"),
        ("phone", "+8613800138000"),
        ("wechat", OPEN_ID),
    ]
    assert set(customer.tickets.values_list("pk", flat=True)) == {
        call.ticket.pk,
        email.ticket.pk,
        ticket.pk,
    }
    channels = set(
        Message.objects.filter(ticket__customer=customer).values_list("channel", flat=True)
    )
    assert channels == {"phone", "email", "wechat"}
    merged = AccountEvent.objects.filter(action=AccountEvent.Action.CUSTOMERS_MERGED)
    assert merged.exists() and all(e.details["via"] == "wechat" for e in merged)

    # WeChat's next message from that OpenID goes on Li Wei's open WeChat ticket.
    qs, body = plain_request(text_xml(OPEN_ID, "还在吗", 880002))
    assert client.post(f"/webhooks/wechat/?{qs}", body, content_type="text/xml").content == (
        b"success"
    )
    again = Message.objects.get(channel="wechat", external_id="880002")
    assert again.ticket_id == ticket.pk and again.ticket.customer_id == customer.pk
