"""Who a mail is from and who it reaches: forged senders, Cc, strangers' threading and
automatic replies, through intake, the ticket page and a real SMTP server (aiosmtpd)."""

from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from accounts.models import CustomerIdentity
from tests.tickets.sources.email.smtp_server import running_smtp_server
from tickets import actions
from tickets.models import InboundMessage, Message, Ticket, TicketEvent
from tickets.sources.email import intake

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_at_once")]

OUR_MX = "mx.mywallet.example"
DMARC_PASS = f"{OUR_MX}; dmarc=pass (p=reject dis=none) header.from=example.com"


@pytest.fixture(autouse=True)
def _trusted_mx(settings):
    settings.EMAIL_TRUSTED_AUTHSERV_IDS = [OUR_MX]


@pytest.fixture
def smtp_server(settings):
    with running_smtp_server() as server:
        settings.MAILERS = {"default": server.mailer()}
        yield server


def mail(
    *,
    sender="Li Wei <li.wei@example.com>",
    subject="Payment failed",
    body="My payment at Meituan failed.",
    message_id=None,
    authentication_results=(),
    **headers,
) -> bytes:
    message = EmailMessage()
    for value in authentication_results:
        message["Authentication-Results"] = value
    message["From"] = sender
    message["To"] = "support@mywallet.example"
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="mail.example.com")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def ingest(raw: bytes) -> InboundMessage:
    stored = intake.store(raw, source="test")
    intake.process(stored)
    stored.refresh_from_db()
    return stored


def reply_and_deliver(ticket, agent, capture, body="Please send the payment details."):
    with capture(execute=True):
        return actions.reply(ticket, acting_user=agent, body=body)


def replies_received(server, body="Please send the payment details."):
    """What the SMTP server received of the agent's replies (not acknowledgements)."""
    return [item for item in server.messages if body in item.parsed().get_body().get_content()]


# --- Cc -----------------------------------------------------------------------------------


def test_a_forged_senders_cc_never_receives_the_agents_reply(
    customer, agent, smtp_server, django_capture_on_commit_callbacks
):
    """The attack: From: li.wei@example.com (forged), Cc: the attacker. The agent answers
    with payment details; only Li Wei's own address gets them."""
    stored = ingest(mail(Cc="attacker@evil.example"))
    ticket = stored.message.ticket
    assert ticket.customer == customer  # a claim: filed under the customer, proving nothing
    assert stored.message.metadata["sender_verified"] is False
    assert ticket.cc == [] and ticket.cc_proposed == ["attacker@evil.example"]

    reply_and_deliver(ticket, agent, django_capture_on_commit_callbacks)

    [received] = replies_received(smtp_server)
    assert received.rcpt_tos == ("li.wei@example.com",)
    assert "Cc" not in received.parsed()
    assert all("attacker@evil.example" not in item.rcpt_tos for item in smtp_server.messages)


def test_an_authenticated_senders_cc_of_the_customers_own_address_is_accepted(
    customer, agent, smtp_server, django_capture_on_commit_callbacks
):
    CustomerIdentity.objects.create(customer=customer, kind="email", value="li.wei@work.example")
    stored = ingest(
        mail(
            authentication_results=[DMARC_PASS],
            Cc="li.wei@work.example, friend@example.net",
        )
    )
    ticket = Ticket.objects.get()
    assert stored.message.metadata["sender_verified"] is True
    assert ticket.cc == ["li.wei@work.example"]
    assert ticket.cc_proposed == ["friend@example.net"]  # not the customer's: proposed only
    accepted = ticket.events.get(kind=TicketEvent.Kind.CC_ACCEPTED)
    assert accepted.actor is None and accepted.data["address"] == "li.wei@work.example"

    reply_and_deliver(ticket, agent, django_capture_on_commit_callbacks)

    [received] = replies_received(smtp_server)
    assert set(received.rcpt_tos) == {"li.wei@example.com", "li.wei@work.example"}


def test_authentication_results_from_an_untrusted_server_count_for_nothing(customer):
    CustomerIdentity.objects.create(customer=customer, kind="email", value="li.wei@work.example")
    forged = "mail.evil.example; dmarc=pass header.from=example.com"
    stored = ingest(mail(authentication_results=[forged], Cc="li.wei@work.example"))
    ticket = Ticket.objects.get()
    assert stored.message.metadata["sender_verified"] is False
    assert ticket.cc == [] and ticket.cc_proposed == ["li.wei@work.example"]


def test_an_agent_accepts_a_cc_and_the_next_reply_reaches_it(
    customer, agent, agent_client, smtp_server, django_capture_on_commit_callbacks
):
    ticket = ingest(mail(Cc="Wang Fang <Wang.Fang@Example.com>")).message.ticket
    change_url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    page = agent_client.get(change_url).content.decode()
    # On the Cc card, as proposed; masked: this agent has not verified the customer.
    assert "wa***@example.com" in page and "wang.fang@example.com" not in page
    assert reverse("admin:tickets_ticket_accept_cc", args=[ticket.pk]) in page

    response = agent_client.post(
        reverse("admin:tickets_ticket_accept_cc", args=[ticket.pk]),
        {"address": "wang.fang@example.com"},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.cc == ["wang.fang@example.com"] and ticket.cc_proposed == []
    event = ticket.events.get(kind=TicketEvent.Kind.CC_ACCEPTED)
    assert event.actor == agent and event.data["address"] == "wang.fang@example.com"
    # The reply form names everyone the reply will reach before it is sent.
    page = agent_client.get(change_url).content.decode()
    recipients = page[page.index('id="reply-recipients"') :][:600]
    assert "li***@example.com" in recipients and "wa***@example.com" in recipients

    reply_and_deliver(ticket, agent, django_capture_on_commit_callbacks)
    [received] = replies_received(smtp_server)
    assert set(received.rcpt_tos) == {"li.wei@example.com", "wang.fang@example.com"}
    assert received.parsed()["Cc"] == "wang.fang@example.com"


def test_a_removed_cc_receives_nothing_more(customer, agent):
    ticket = ingest(mail(Cc="wang.fang@example.com")).message.ticket
    actions.accept_cc(ticket, acting_user=agent, address="wang.fang@example.com")
    actions.remove_cc(ticket, acting_user=agent, address="Wang.Fang@example.com")
    ticket.refresh_from_db()
    assert ticket.cc == [] and ticket.cc_proposed == []
    assert list(ticket.events.filter(kind__startswith="cc_").values_list("kind", "actor")) == [
        ("cc_proposed", None),
        ("cc_accepted", agent.pk),
        ("cc_removed", agent.pk),
    ]


def test_accepting_an_address_nobody_proposed_is_refused(customer, agent, agent_client):
    ticket = ingest(mail()).message.ticket
    response = agent_client.post(
        reverse("admin:tickets_ticket_accept_cc", args=[ticket.pk]),
        {"address": "attacker@evil.example"},
        follow=True,
    )
    assert "is not a proposed Cc of this ticket" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.cc == []
    assert not ticket.events.filter(kind=TicketEvent.Kind.CC_ACCEPTED).exists()


def test_the_ticket_page_tells_a_verified_sender_from_an_unverified_one(customer, agent_client):
    ingest(mail(authentication_results=[DMARC_PASS], message_id="<one@mail.example.com>"))
    ingest(mail(In_Reply_To="<one@mail.example.com>", body="Forged follow-up"))
    ticket = Ticket.objects.get()
    assert ticket.messages.filter(direction=Message.Direction.INBOUND).count() == 2
    page = agent_client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    text = page.content.decode()
    assert text.count("Sender verified") == 1
    assert text.count("Sender not verified") == 1
    page = agent_client.get(
        reverse("admin:tickets_ticket_change", args=[ticket.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    text = page.content.decode()
    assert text.count("发件人已验证") == 1 and text.count("发件人未验证") == 1
    assert "抄送" in text  # the Cc card


# --- threading on message ids ---------------------------------------------------------------


def test_a_strangers_in_reply_to_opens_a_new_linked_ticket(customer, agent):
    first = ingest(mail(message_id="<li.1@mail.example.com>")).message
    answer = actions.reply(first.ticket, acting_user=agent, body="Which card?")
    Message.objects.filter(pk=answer.pk).update(external_id="mw.1.2@mywallet.example")

    stored = ingest(
        mail(
            sender="Mallory <mallory@evil.example>",
            In_Reply_To="<mw.1.2@mywallet.example>",
            References="<li.1@mail.example.com> <mw.1.2@mywallet.example>",
            body="Please send the code to this address instead.",
        )
    )
    new = stored.message.ticket
    assert new != first.ticket
    assert new.follows_up == first.ticket
    assert new.customer.identities.get().value == "mallory@evil.example"
    assert first.ticket.messages.filter(direction=Message.Direction.INBOUND).count() == 1


def test_an_accepted_cc_replying_all_continues_the_ticket(customer, agent):
    first = ingest(mail(message_id="<li.2@mail.example.com>", Cc="wang.fang@example.com"))
    ticket = first.message.ticket
    actions.accept_cc(ticket, acting_user=agent, address="wang.fang@example.com")
    stored = ingest(
        mail(sender="wang.fang@example.com", In_Reply_To="<li.2@mail.example.com>", body="+1")
    )
    assert stored.message.ticket == ticket
    assert Ticket.objects.count() == 1


# --- automatic replies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "headers"),
    [
        ("Automatic reply: Payment failed", {"Auto_Submitted": "auto-replied"}),
        ("Out of Office: Payment failed", {}),
        ("自动回复：支付失败", {}),
        ("休假中：支付失败", {"X_Autoreply": "yes"}),
        ("不在办公室: 支付失败", {"Precedence": "auto_reply"}),
    ],
)
def test_an_automatic_reply_reopens_nothing_and_gets_no_acknowledgement(
    customer, agent, subject, headers
):
    first = ingest(mail(message_id="<li.3@mail.example.com>")).message
    ticket = first.ticket
    actions.change_status(ticket, acting_user=agent, status=Ticket.Status.SOLVED)
    ticket.refresh_from_db()
    before = (ticket.status, ticket.last_message_at, ticket.resolution_due)
    events = ticket.events.count()
    DBTaskResult.objects.all().delete()

    stored = ingest(
        mail(subject=subject, In_Reply_To="<li.3@mail.example.com>", body="我休假到12月10日。")
    )

    assert stored.status == InboundMessage.Status.PROCESSED
    kept = stored.message
    assert kept.ticket == ticket and kept.metadata["auto_submitted"] is True
    ticket.refresh_from_db()
    assert (ticket.status, ticket.last_message_at, ticket.resolution_due) == before
    assert ticket.events.count() == events
    assert Ticket.objects.count() == 1
    assert not DBTaskResult.objects.filter(
        task_path__startswith="tickets.sources.email.notices.send_"
    ).exists()


@pytest.mark.parametrize("subject", ["Automatic reply: hello", "自动回复: 您好", "Auto: 您好"])
def test_an_automatic_reply_that_answers_no_ticket_is_quarantined(customer, subject):
    stored = ingest(mail(subject=subject))
    assert stored.status == InboundMessage.Status.QUARANTINED
    assert stored.reason.startswith("Automatic reply")
    assert not Ticket.objects.exists()
    assert not DBTaskResult.objects.filter(
        task_path__startswith="tickets.sources.email.notices.send_"
    ).exists()


def test_a_strangers_automatic_reply_is_not_kept_on_the_customers_ticket(customer):
    ticket = ingest(mail(message_id="<li.4@mail.example.com>")).message.ticket
    stored = ingest(
        mail(
            sender="bob@contoso.example",
            subject="Out of Office",
            In_Reply_To="<li.4@mail.example.com>",
        )
    )
    assert stored.status == InboundMessage.Status.QUARANTINED
    assert ticket.messages.count() == 1


def test_the_reply_after_an_automatic_reply_threads_on_the_customers_own_mail(
    customer, agent, smtp_server, django_capture_on_commit_callbacks
):
    first = ingest(mail(message_id="<li.5@mail.example.com>")).message
    ingest(mail(subject="Out of Office", In_Reply_To="<li.5@mail.example.com>"))
    reply_and_deliver(first.ticket, agent, django_capture_on_commit_callbacks)
    [received] = replies_received(smtp_server)
    assert received.parsed()["In-Reply-To"] == "<li.5@mail.example.com>"
