"""The ticket workspace in the admin: lists, the ticket page, and the action-backed forms."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import messages
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import BankCard, Transaction
from accounts.roles import AGENTS
from tests.conftest import verified_client
from tickets import actions
from tickets.inbound import Inbound, InboundAttachment
from tickets.models import Message, Queue, Ticket, TicketEvent

CHANGELIST = "/admin/tickets/ticket/"

SENDERS = [
    ("email", "email", "customer{}@example.com"),
    ("wechat", "wechat", "o6_wechat_openid_{}"),
    ("chat", "web", "web-session-{}"),
    ("phone", "phone", "+86139{:08d}"),
    ("weibo", "weibo", "weibo-uid-{}"),
]


def change_url(ticket):
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def from_customer(customer, text, *, channel="email", **extra) -> Inbound:
    """A message from one of the fixture customers, through their email or phone."""
    kind = "phone" if channel == "phone" else "email"
    identity = customer.identities.get(kind=kind)
    return Inbound(
        channel=channel,
        sender_kind=kind,
        sender=identity.value,
        text=text,
        continue_open=channel != "email",
        **extra,
    )


def open_tickets(count, *, start=0, agent=None, queue=None):
    """``count`` tickets from as many new customers, cycling through the channels."""
    tickets = []
    for i in range(start, start + count):
        channel, kind, pattern = SENDERS[i % len(SENDERS)]
        received = actions.receive(
            Inbound(
                channel=channel,
                sender_kind=kind,
                sender=pattern.format(i),
                sender_name=f"Customer {i}",
                subject=f"Question {i}" if channel == "email" else "",
                text=f"Message number {i}",
                external_id=f"ext-{channel}-{i}",
            )
        )
        ticket = received.ticket
        if queue is not None:
            Ticket.objects.filter(pk=ticket.pk).update(queue=queue)
        if agent is not None and i % 2 == 0:
            actions.assign(ticket, acting_user=agent, assignee=agent)
        tickets.append(ticket)
    return tickets


def get_counting(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response, len(queries)


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def queue(db):
    return Queue.objects.create(name="Hotline", slug="hotline")


@pytest.fixture
def ticket(customer, agent):
    """Li Wei's email ticket, answered once."""
    received = actions.receive(
        from_customer(customer, "My payment failed at the supermarket.", subject="Payment failed")
    )
    actions.reply(received.ticket, acting_user=agent, body="Which shop, and at what time?")
    return received.ticket


@pytest.fixture
def wallet_history(customer):
    """A card and a few transactions, the latest a failed payment."""
    wallet = customer.wallets.get()
    card = BankCard.objects.create(account=wallet, bank="ICBC", last4="4321")
    now = timezone.now()
    Transaction.objects.create(
        account=wallet,
        reference="T-OK-1",
        amount=Decimal("12.00"),
        merchant="Coffee",
        status=Transaction.Status.SUCCEEDED,
        card=card,
        occurred_at=now - timedelta(days=1),
    )
    Transaction.objects.create(
        account=wallet,
        reference="T-FAIL-1",
        amount=Decimal("2300.00"),
        merchant="Hualian Supermarket",
        status=Transaction.Status.FAILED,
        failure_reason=Transaction.FailureReason.INSUFFICIENT_BALANCE,
        occurred_at=now - timedelta(hours=1),
    )
    return wallet


@pytest.fixture
def staff_without_permissions(db, django_user_model):
    user = django_user_model.objects.create_user(
        username="intern", password="correct horse battery staple", is_staff=True
    )
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    return user


# --- the list -------------------------------------------------------------------------------


def test_the_ticket_list_shows_tickets_from_every_channel(agent_client, agent, queue):
    tickets = open_tickets(5, agent=agent, queue=queue)
    response = agent_client.get(CHANGELIST)
    assert response.status_code == 200
    shown = {t.reference for t in response.context["cl"].result_list}
    assert shown == {t.reference for t in tickets}
    assert {t.channel for t in response.context["cl"].result_list} == {
        "email",
        "wechat",
        "chat",
        "phone",
        "weibo",
    }


def test_the_ticket_list_does_not_query_per_ticket(
    agent_client, agent, queue, django_assert_num_queries, django_assert_max_num_queries
):
    open_tickets(3, agent=agent, queue=queue)
    agent_client.get(CHANGELIST)  # warm the per-process caches (content types)
    response, with_three = get_counting(agent_client, CHANGELIST)
    assert len(response.context["cl"].result_list) == 3

    open_tickets(27, start=3, agent=agent, queue=queue)
    with django_assert_num_queries(with_three):
        response = agent_client.get(CHANGELIST)
    assert len(response.context["cl"].result_list) == 30
    with django_assert_max_num_queries(20):
        agent_client.get(CHANGELIST)


def test_the_list_filters_by_status_channel_and_assignee(agent_client, agent):
    tickets = open_tickets(5, agent=agent)
    actions.change_status(tickets[1], acting_user=agent, status=Ticket.Status.SOLVED)

    solved = agent_client.get(CHANGELIST, {"status__exact": "solved"}).context["cl"]
    assert [t.pk for t in solved.result_list] == [tickets[1].pk]

    wechat = agent_client.get(CHANGELIST, {"channel__exact": "wechat", "view": "all"})
    wechat = wechat.context["cl"]
    assert [t.pk for t in wechat.result_list] == [tickets[1].pk]

    mine = agent_client.get(CHANGELIST, {"assignee__id__exact": agent.pk}).context["cl"]
    assert {t.pk for t in mine.result_list} == {tickets[0].pk, tickets[2].pk, tickets[4].pk}


def search(client, term) -> set[str]:
    response = client.get(CHANGELIST, {"q": term})
    assert response.status_code == 200
    return {t.reference for t in response.context["cl"].result_list}


def test_the_list_searches_by_reference(agent_client, ticket):
    open_tickets(3)
    assert search(agent_client, ticket.reference) == {ticket.reference}
    assert search(agent_client, ticket.reference.lower()) == {ticket.reference}


def test_the_list_searches_by_email_in_any_case(agent_client, ticket, other_customer):
    other = actions.receive(from_customer(other_customer, "Hello")).ticket
    assert search(agent_client, "li.wei@example.com") == {ticket.reference}
    assert search(agent_client, "LI.WEI@Example.com") == {ticket.reference}
    assert search(agent_client, "anna@example.org") == {other.reference}


@pytest.mark.parametrize(
    "typed",
    ["+8613800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "0086 13800138000"],
)
def test_the_list_finds_a_customer_however_the_phone_number_is_typed(
    agent_client, customer, other_customer, typed
):
    phone = actions.receive(from_customer(customer, "Call me back", channel="phone")).ticket
    actions.receive(from_customer(other_customer, "Call me too", channel="phone"))
    assert search(agent_client, typed) == {phone.reference}


def test_a_customer_with_many_identities_is_listed_once(agent_client, ticket):
    # "8" is in both of Li Wei's identities (email and phone) and in nothing else.
    ticket.customer.identities.filter(kind="email").update(value="li8wei@example.com")
    Ticket.objects.filter(pk=ticket.pk).update(subject="Payment", reference="MW-X")
    response = agent_client.get(CHANGELIST, {"q": "8"})
    assert [t.pk for t in response.context["cl"].result_list] == [ticket.pk]


# --- the ticket page ------------------------------------------------------------------------


def test_the_ticket_page_shows_the_thread_customer_and_history(
    agent_client, agent, ticket, wallet_history, customer
):
    actions.add_note(ticket, acting_user=agent, body="Customer sounded upset.")
    earlier = actions.receive(from_customer(customer, "Old question", channel="phone")).ticket
    response = agent_client.get(change_url(ticket))
    assert response.status_code == 200
    page = response.text

    assert "My payment failed at the supermarket." in page
    assert "Which shop, and at what time?" in page
    assert 'class="mw-message mw-inbound"' in page
    assert 'class="mw-message mw-outbound"' in page
    assert 'class="mw-message mw-note"' in page
    assert "mw-delivery-queued" in page
    # The customer panel: masked contacts and ID, wallet, failed payment and its reason.
    assert "li***@example.com" in page
    assert "+86 138****8000" in page
    assert "li.wei@example.com" not in page
    assert "1101**********1234" in page
    assert "110101199003071234" not in page
    assert "MW6200000001" in page
    assert "1024.50" in page
    assert "Hualian Supermarket" in page
    assert 'class="mw-failed"' in page
    assert str(Transaction.FailureReason.INSUFFICIENT_BALANCE.label) in page
    assert "**** **** **** 4321" in page
    assert earlier.reference in page
    assert change_url(earlier) in page
    # The history lists what happened.
    # The first answer opened the ticket and gave it to its author, each with its event.
    kinds = [entry.event.kind for entry in response.context["history"]]
    assert kinds == [
        TicketEvent.Kind.CREATED,
        TicketEvent.Kind.REPLY,
        TicketEvent.Kind.STATUS,
        TicketEvent.Kind.ASSIGNED,
        TicketEvent.Kind.NOTE,
    ]
    # The reply form posts to the action-backed URL.
    assert reverse("admin:tickets_ticket_reply", args=[ticket.pk]) in page


def test_the_thread_is_in_time_order(agent_client, agent, customer):
    ticket = actions.receive(from_customer(customer, "first: hello", channel="chat")).ticket
    actions.reply(ticket, acting_user=agent, body="second: hi, how can I help?")
    actions.receive(from_customer(customer, "third: my card", channel="chat"))
    actions.add_note(ticket, acting_user=agent, body="fourth: check the card")
    page = agent_client.get(change_url(ticket)).text
    positions = [page.index(text) for text in ("first:", "second:", "third:", "fourth:")]
    assert positions == sorted(positions)


def test_a_failed_delivery_is_shown_with_its_error(agent_client, agent, ticket):
    message = ticket.messages.get(direction=Message.Direction.OUTBOUND)
    Message.objects.filter(pk=message.pk).update(
        delivery_status=Message.Delivery.FAILED, delivery_error="550 mailbox unavailable"
    )
    page = agent_client.get(change_url(ticket)).text
    assert "mw-delivery-failed" in page
    assert "550 mailbox unavailable" in page


def test_html_from_a_customer_never_runs_as_script(agent_client, customer):
    ticket = actions.receive(
        from_customer(
            customer,
            "Hello there",
            html='<p>Hello <b>there</b></p><script>alert("pwned")</script>'
            '<img src="x" onerror="alert(\'img\')">',
        )
    ).ticket
    page = agent_client.get(change_url(ticket)).text
    assert "<b>there</b>" in page
    assert 'alert("pwned")' not in page
    assert "onerror" not in page


def test_html_stored_by_another_path_is_sanitised_again_when_shown(agent_client, ticket):
    Message.objects.create(
        ticket=ticket,
        direction=Message.Direction.INBOUND,
        channel="email",
        text="plain",
        html='<i>kept</i><script>alert("raw")</script>',
    )
    page = agent_client.get(change_url(ticket)).text
    assert "<i>kept</i>" in page
    assert 'alert("raw")' not in page


def test_text_from_a_customer_is_escaped(agent_client, customer):
    ticket = actions.receive(
        from_customer(customer, "<script>alert(1)</script> & more", channel="chat")
    ).ticket
    page = agent_client.get(change_url(ticket)).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page


def test_the_ticket_page_does_not_query_per_message(
    agent_client,
    agent,
    customer,
    wallet_history,
    settings,
    tmp_path,
    django_assert_num_queries,
    django_assert_max_num_queries,
):
    settings.MEDIA_ROOT = tmp_path
    picture = InboundAttachment(name="receipt.png", content_type="image/png", content=b"\x89PNG1")
    ticket = actions.receive(
        from_customer(customer, "message 0", channel="chat", attachments=(picture,))
    ).ticket
    actions.reply(ticket, acting_user=agent, body="message 1")
    actions.assign(ticket, acting_user=agent, assignee=agent)
    url = change_url(ticket)
    agent_client.get(url)  # warm the per-process caches
    response, with_two = get_counting(agent_client, url)
    assert len(response.context["thread"]) == 2

    for i in range(2, 20):
        if i % 3 == 0:
            actions.add_note(ticket, acting_user=agent, body=f"message {i}")
        elif i % 3 == 1:
            actions.reply(ticket, acting_user=agent, body=f"message {i}")
        else:
            extra = InboundAttachment(
                name=f"photo{i}.jpg", content_type="image/jpeg", content=f"jpeg{i}".encode()
            )
            actions.receive(
                from_customer(customer, f"message {i}", channel="chat", attachments=(extra,))
            )
    with django_assert_num_queries(with_two):
        response = agent_client.get(url)
    assert len(response.context["thread"]) == 20
    assert "photo17.jpg" in response.text
    with django_assert_max_num_queries(35):
        agent_client.get(url)


def test_attachments_download_and_are_never_shown_inline(
    agent_client, customer, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    html = InboundAttachment(
        name="page.html", content_type="text/html", content=b"<script>x</script>"
    )
    ticket = actions.receive(from_customer(customer, "see attached", attachments=(html,))).ticket
    attachment = ticket.messages.get().attachments.get()
    page = agent_client.get(change_url(ticket)).text
    url = reverse("admin:tickets_ticket_attachment", args=[attachment.pk])
    assert url in page
    response = agent_client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Type"] == "application/octet-stream"
    assert b"".join(response.streaming_content) == b"<script>x</script>"


# --- working a ticket -----------------------------------------------------------------------


def reply_url(ticket):
    return reverse("admin:tickets_ticket_reply", args=[ticket.pk])


def test_a_reply_from_the_form_is_queued_for_delivery(agent_client, agent, customer):
    ticket = actions.receive(from_customer(customer, "Help please")).ticket
    response = agent_client.post(
        reply_url(ticket), {"kind": "reply", "body": "Please top up and try again."}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(change_url(ticket))
    message = ticket.messages.get(direction=Message.Direction.OUTBOUND)
    assert message.text == "Please top up and try again."
    assert message.delivery_status == Message.Delivery.QUEUED
    assert message.author == agent
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.assignee == agent
    assert flash(response)


def test_an_internal_note_from_the_form_is_not_sent(agent_client, ticket):
    agent_client.post(reply_url(ticket), {"kind": "note", "body": "VIP customer"})
    note = ticket.messages.get(direction=Message.Direction.NOTE)
    assert note.text == "VIP customer"
    assert note.delivery_status == ""
    assert ticket.events.filter(kind=TicketEvent.Kind.NOTE).exists()


def test_a_reply_can_set_the_status_in_the_same_step(agent_client, ticket):
    agent_client.post(
        reply_url(ticket),
        {"kind": "reply", "body": "Fixed: please try again.", "then_status": "pending"},
    )
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING
    assert ticket.messages.filter(text="Fixed: please try again.").exists()


def test_an_empty_reply_is_refused_with_a_message(agent_client, ticket):
    before = ticket.messages.count()
    response = agent_client.post(reply_url(ticket), {"kind": "reply", "body": "  "}, follow=True)
    assert response.status_code == 200
    assert ticket.messages.count() == before
    assert response.context["messages"]


def test_a_reply_to_a_closed_ticket_shows_why_it_was_refused(agent_client, agent, ticket):
    actions.change_status(ticket, acting_user=agent, status=Ticket.Status.CLOSED)
    response = agent_client.post(
        reply_url(ticket), {"kind": "reply", "body": "Anything else?"}, follow=True
    )
    assert response.status_code == 200
    assert not ticket.messages.filter(text="Anything else?").exists()
    shown = list(response.context["messages"])
    assert [m.level for m in shown] == [messages.ERROR]
    assert "follow-up" in str(shown[0])


def test_the_status_form_changes_the_status_through_the_action(agent_client, agent, ticket):
    url = reverse("admin:tickets_ticket_status", args=[ticket.pk])
    response = agent_client.post(url, {"status": "solved"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.SOLVED
    assert ticket.solved_at is not None
    event = ticket.events.filter(kind=TicketEvent.Kind.STATUS).latest("pk")
    assert event.actor == agent
    assert event.data == {"from": "open", "to": "solved"}


def test_assign_to_me_and_to_another_agent(agent_client, agent, other_agent, customer):
    ticket = actions.receive(from_customer(customer, "Hi")).ticket
    url = reverse("admin:tickets_ticket_assign", args=[ticket.pk])
    agent_client.post(url, {"to_me": "1"})
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    agent_client.post(url, {"assignee": other_agent.pk})
    ticket.refresh_from_db()
    assert ticket.assignee == other_agent
    agent_client.post(url, {"assignee": ""})
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert ticket.events.filter(kind=TicketEvent.Kind.ASSIGNED).count() == 3


def test_saving_the_ticket_form_never_changes_status_or_assignee(
    agent_client, agent, other_agent, ticket, queue
):
    response = agent_client.post(
        change_url(ticket),
        {
            "subject": "Payment failed at Hualian",
            "category": "transaction",
            "priority": "3",
            "queue": queue.pk,
            "wallet": ticket.customer.wallets.get().pk,
            "related_transaction": "",
            "status": "closed",
            "assignee": other_agent.pk,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    ticket.refresh_from_db()
    assert ticket.subject == "Payment failed at Hualian"
    assert ticket.category == "transaction"
    assert ticket.queue == queue
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.assignee == agent


def test_another_customers_wallet_cannot_be_linked(agent_client, ticket, other_customer):
    response = agent_client.post(
        change_url(ticket),
        {
            "subject": ticket.subject,
            "category": "other",
            "priority": "2",
            "wallet": other_customer.wallets.get().pk,
        },
    )
    assert response.status_code == 200
    assert "wallet" in response.context["adminform"].form.errors


def test_a_ticket_added_in_the_admin_gets_a_reference_and_history(agent_client, agent, customer):
    response = agent_client.post(
        "/admin/tickets/ticket/add/",
        {
            "customer": customer.pk,
            "channel": "phone",
            "subject": "Called about a locked account",
            "category": "account",
            "priority": "2",
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(subject="Called about a locked account")
    assert ticket.reference.startswith("MW-")
    created = ticket.events.get(kind=TicketEvent.Kind.CREATED)
    assert created.actor == agent


def test_changelist_actions_assign_to_me_and_mark_solved(agent_client, agent):
    tickets = open_tickets(3)
    ids = [t.pk for t in tickets[:2]]
    agent_client.post(CHANGELIST, {"action": "assign_to_me", "_selected_action": ids})
    assert set(Ticket.objects.filter(assignee=agent).values_list("pk", flat=True)) == set(ids)
    chosen = {"action": "set_status", "status": "solved", "_selected_action": ids}
    agent_client.post(CHANGELIST, chosen)
    statuses = dict(Ticket.objects.values_list("pk", "status"))
    assert [statuses[pk] for pk in ids] == ["solved", "solved"]
    assert statuses[tickets[2].pk] == "new"
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.STATUS, actor=agent).count() == 2


# --- permissions ----------------------------------------------------------------------------


def test_staff_without_ticket_permissions_get_403(staff_without_permissions, ticket):
    client = verified_client(staff_without_permissions)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(change_url(ticket)).status_code == 403
    assert client.post(reply_url(ticket), {"kind": "reply", "body": "hi"}).status_code == 403
    url = reverse("admin:tickets_ticket_status", args=[ticket.pk])
    assert client.post(url, {"status": "solved"}).status_code == 403
    assert not ticket.messages.filter(text="hi").exists()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_an_agent_who_may_only_view_cannot_reply(db, django_user_model, ticket):
    viewer = django_user_model.objects.create_user(username="viewer", is_staff=True)
    viewer.user_permissions.add(
        *Group.objects.get(name=AGENTS).permissions.filter(codename="view_ticket")
    )
    TOTPDevice.objects.create(user=viewer, name="app", confirmed=True)
    client = verified_client(viewer)
    page = client.get(change_url(ticket))
    assert page.status_code == 200
    assert reply_url(ticket) not in page.text
    assert client.post(reply_url(ticket), {"kind": "note", "body": "x"}).status_code == 403


def test_the_action_urls_only_accept_post(agent_client, ticket):
    assert agent_client.get(reply_url(ticket)).status_code == 405


def test_signed_out_users_are_sent_to_the_login(client, ticket):
    response = client.post(reply_url(ticket), {"kind": "reply", "body": "hi"})
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert not ticket.messages.filter(text="hi").exists()


def test_quoted_earlier_mail_is_folded_away_with_the_full_text_one_click_away(agent_client):
    from tickets import actions
    from tickets.inbound import Inbound

    received = actions.receive(
        Inbound(
            channel="email",
            sender_kind="email",
            sender="li.wei@example.com",
            subject="Re: Payment failed",
            external_id="quoted@example.com",
            text=(
                "It worked, thank you!\n\n"
                "在 2026年11月20日 写道：\n> Please try again.\n> MY Wallet"
            ),
        )
    )
    response = agent_client.get(f"/admin/tickets/ticket/{received.ticket.pk}/change/")
    page = response.text
    new_at = page.index("It worked, thank you!")
    details_at = page.index('<details class="mw-quoted">')
    assert new_at < details_at < page.index("Please try again.")
