"""Agents' replies on email tickets, sent through a real SMTP server (aiosmtpd) and read back."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import CustomerIdentity
from mywallet_support.mail import DeliveryError
from tests.tickets import factories
from tests.tickets.sources.email.smtp_server import free_port, running_smtp_server
from tickets import actions
from tickets.models import Message, Ticket
from tickets.sources.email import outbound

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp_server(settings):
    with running_smtp_server() as server:
        settings.MAILERS = {"default": server.mailer()}
        yield server


def customer_mail(ticket=None, *, message_id, sender="li.wei@example.com", **fields):
    """A customer's email as intake files it (Message-ID stored without angle brackets)."""
    fields.setdefault("metadata", {"to": ["security@mywallet.example"], "cc": []})
    if ticket is not None:
        earlier = ticket.messages.values_list("external_id", flat=True)
        fields.setdefault("thread_ids", tuple(earlier))
    return actions.receive(factories.email(sender, external_id=message_id, **fields))


@pytest.fixture
def ticket(customer):
    received = customer_mail(
        message_id="first.1@mail.example.com", subject="支付失败 Payment failed"
    )
    return received.ticket


def run_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def queued_reply(ticket, agent, body="请检查网络后重试。\nPlease try again.") -> Message:
    return Message.objects.create(
        ticket=ticket,
        direction=Message.Direction.OUTBOUND,
        channel="email",
        author=agent,
        text=body,
        delivery_status=Message.Delivery.QUEUED,
    )


# The worker reconnects to the database as in production: these tests commit for real.
@pytest.mark.django_db(transaction=True)
def test_a_reply_is_sent_by_the_worker_as_text_and_html_threaded_on_the_customer_message(
    customer, agent, smtp_server
):
    ticket = customer_mail(
        message_id="first.1@mail.example.com", subject="支付失败 Payment failed"
    ).ticket
    body = "李先生您好：\n请检查网络后重试。\n<b>Not bold</b> & kept"
    message = actions.reply(ticket, acting_user=agent, body=body)
    run_worker()

    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT
    assert message.delivered_at is not None
    [received] = smtp_server.messages
    assert received.rcpt_tos == ("li.wei@example.com",)
    mail = received.parsed()
    assert mail["Subject"] == f"Re: [{ticket.reference}] 支付失败 Payment failed"
    assert mail["From"].addresses[0].addr_spec == "security@mywallet.example"
    assert mail["From"].addresses[0].display_name == "MY Wallet Support"
    assert mail["To"].addresses[0].addr_spec == "li.wei@example.com"
    # Our own Message-ID, stored before sending, so a fast answer already threads.
    assert message.external_id and "<" not in message.external_id
    assert mail["Message-ID"] == f"<{message.external_id}>"
    assert message.external_id.endswith("@mywallet.example")
    assert mail["In-Reply-To"] == "<first.1@mail.example.com>"
    assert mail["References"] == "<first.1@mail.example.com>"
    assert mail["X-MW-Ticket"] == ticket.reference
    assert mail["Auto-Submitted"] is None  # a person wrote this
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = mail.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert body in text  # exactly as typed, Chinese included, nothing escaped
    assert "李先生您好：<br>请检查网络后重试。<br>&lt;b&gt;Not bold&lt;/b&gt; &amp; kept" in html
    assert "<b>" not in html
    assert f"[{ticket.reference}]" in text


def test_the_reference_chain_follows_the_ticket_and_the_subject_is_not_doubled(
    customer, agent, smtp_server
):
    ticket = customer_mail(
        message_id="first.1@mail.example.com", subject="回复: RE: [MW-999999] Card binding"
    ).ticket
    Ticket.objects.filter(pk=ticket.pk).update(
        subject=f"Re: 答复：[{ticket.reference}] Re: Card binding"
    )
    ticket.refresh_from_db()
    earlier = queued_reply(ticket, agent, "First answer")
    actions.deliver(earlier.pk)
    answer = customer_mail(ticket, message_id="second.2@mail.example.com", subject="Re: x")
    assert answer.ticket == ticket

    later = queued_reply(ticket, agent, "Second answer")
    actions.deliver(later.pk)

    earlier.refresh_from_db()
    later.refresh_from_db()
    mail = smtp_server.messages[-1].parsed()
    assert mail["Subject"] == f"Re: [{ticket.reference}] Card binding"
    assert mail["In-Reply-To"] == "<second.2@mail.example.com>"
    assert mail["References"].split() == [
        "<first.1@mail.example.com>",
        f"<{earlier.external_id}>",
        "<second.2@mail.example.com>",
    ]
    assert later.subject == mail["Subject"]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Payment failed", "Payment failed"),
        ("Re: Payment failed", "Payment failed"),
        ("RE: re: Payment failed", "Payment failed"),
        ("回复：答复: Payment failed", "Payment failed"),
        ("Re: [MW-000042] Payment failed", "Payment failed"),
        ("[MW-000042] Re: Payment failed", "Payment failed"),
        ("Fwd: Payment failed", "Fwd: Payment failed"),
        ("Re: [MW-000007] other ticket", "[MW-000007] other ticket"),
        ("", ""),
    ],
)
def test_the_base_subject_drops_reply_prefixes_and_its_own_reference(subject, expected):
    assert outbound.base_subject(Ticket(subject=subject, reference="MW-000042")) == expected


def test_references_are_bounded_to_the_last_twenty_ids(customer, agent, smtp_server, ticket):
    for number in range(30):
        customer_mail(ticket, message_id=f"more.{number}@mail.example.com")
    actions.deliver(queued_reply(ticket, agent).pk)

    references = smtp_server.messages[-1].parsed()["References"].split()
    assert len(references) == outbound.MAX_REFERENCES
    assert references[-1] == "<more.29@mail.example.com>"
    assert references[0] == "<more.10@mail.example.com>"


def test_a_permanent_refusal_marks_the_reply_failed_with_the_servers_answer(
    agent, smtp_server, ticket
):
    smtp_server.refuse("li.wei@example.com", "550 5.1.1 <li.wei@example.com>: User unknown")
    message = queued_reply(ticket, agent)

    assert actions.deliver(message.pk) == Message.Delivery.FAILED

    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.FAILED
    assert message.delivery_error == "550 5.1.1 <li.wei@example.com>: User unknown"
    assert smtp_server.messages == []


@pytest.mark.django_db(transaction=True)
def test_a_temporary_refusal_leaves_the_reply_queued_for_a_later_retry(
    customer, agent, smtp_server
):
    ticket = customer_mail(message_id="first.1@mail.example.com").ticket
    smtp_server.refuse("li.wei@example.com", "451 4.7.1 Greylisted, try again later")
    message = actions.reply(ticket, acting_user=agent, body="We are looking into it.")
    run_worker()

    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.QUEUED
    assert message.metadata["delivery_attempts"] == 1
    assert "451 4.7.1 Greylisted" in message.delivery_error
    first_id = message.external_id
    assert first_id
    # The retry waits (back-off) instead of running at once.
    retry = DBTaskResult.objects.get(
        task_path="tickets.actions.delivery.deliver_message", status="READY"
    )
    assert retry.run_after > timezone.now() + timedelta(seconds=30)

    # The server takes it on the retry, which keeps the Message-ID of the first try.
    smtp_server.handler.refuse.clear()
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
    run_worker()
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT
    assert message.external_id == first_id
    assert smtp_server.messages[-1].parsed()["Message-ID"] == f"<{first_id}>"


def test_a_message_of_another_channel_keeps_its_own_id_and_the_mail_gets_one(
    agent, ticket, smtp_server
):
    """A chat answer sent by email (the customer is away) carries the chat's id of the line,
    "conversation:client id": it went out as the mail's Message-ID, a broken "<7"."""
    line = queued_reply(ticket, agent)
    Message.objects.filter(pk=line.pk).update(channel="chat", external_id="7:c1")
    outbound.send(Message.objects.get(pk=line.pk))
    outbound.send(Message.objects.get(pk=line.pk))  # a retry: the same Message-ID
    line.refresh_from_db()
    assert line.external_id == "7:c1"
    assert line.metadata["message_id"].endswith("@mywallet.example")
    sent = [mail.parsed()["Message-ID"] for mail in smtp_server.messages]
    assert sent == [f"<{line.metadata['message_id']}>"] * 2


def test_an_unreachable_server_is_a_temporary_failure(settings, agent, ticket):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 5},
        }
    }
    message = queued_reply(ticket, agent)
    with pytest.raises(DeliveryError) as raised:
        outbound.send(message)
    assert raised.value.permanent is False
    assert "could not be reached" in str(raised.value)


def test_the_reply_goes_to_the_address_the_customer_last_wrote_from(
    customer, agent, smtp_server, ticket
):
    CustomerIdentity.objects.create(customer=customer, kind="email", value="wei@work.example")
    customer_mail(ticket, message_id="work.1@work.example", sender="wei@work.example")
    actions.deliver(queued_reply(ticket, agent).pk)

    mail = smtp_server.messages[-1]
    assert mail.rcpt_tos == ("wei@work.example",)
    assert mail.parsed()["In-Reply-To"] == "<work.1@work.example>"


def test_an_undeliverable_address_is_skipped_for_another_of_the_customers(
    customer, agent, smtp_server, ticket
):
    CustomerIdentity.objects.create(customer=customer, kind="email", value="wei@work.example")
    customer.identities.filter(value="li.wei@example.com").update(undeliverable=True)
    actions.deliver(queued_reply(ticket, agent).pk)

    assert smtp_server.messages[-1].rcpt_tos == ("wei@work.example",)


def test_with_no_deliverable_address_the_reply_fails_at_once_with_the_reason(
    customer, agent, smtp_server, ticket
):
    customer.identities.filter(kind="email").update(undeliverable=True)
    message = queued_reply(ticket, agent)

    assert actions.deliver(message.pk) == Message.Delivery.FAILED

    message.refresh_from_db()
    assert "no deliverable email address" in message.delivery_error
    assert smtp_server.messages == []


def test_the_tickets_cc_is_copied_without_our_own_or_the_customers_address(
    agent, smtp_server, ticket
):
    Ticket.objects.filter(pk=ticket.pk).update(
        cc=["Boss <Boss@Example.com>", "support@mywallet.example", "li.wei@example.com"]
    )
    actions.deliver(queued_reply(ticket, agent).pk)

    received = smtp_server.messages[-1]
    assert sorted(received.rcpt_tos) == ["boss@example.com", "li.wei@example.com"]
    assert [a.addr_spec for a in received.parsed()["Cc"].addresses] == ["boss@example.com"]


def test_mail_to_an_address_that_is_not_ours_is_answered_from_the_default_address(
    customer, agent, smtp_server
):
    ticket = customer_mail(
        message_id="fwd.1@mail.example.com", metadata={"to": ["someone@elsewhere.example"]}
    ).ticket
    actions.deliver(queued_reply(ticket, agent).pk)

    mail = smtp_server.messages[-1].parsed()
    assert mail["From"].addresses[0].addr_spec == "support@mywallet.example"
    assert mail["Message-ID"].endswith("@mywallet.example>")
