"""Automatic acknowledgements and too-large notices, sent through a real SMTP server."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from tests.tickets import factories
from tests.tickets.sources.email.smtp_server import running_smtp_server
from tickets import actions
from tickets.models import Message
from tickets.sources.email import notices

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp_server(settings):
    with running_smtp_server() as server:
        settings.MAILERS = {"default": server.mailer()}
        yield server


def forget_recent_notices():
    """Drop the notices' hourly cache entries (not cache.clear(): CI's cache is a shared Redis)."""
    cache.delete_many(
        [
            notices._cache_key(kind, address)
            for kind in (notices.ACKNOWLEDGEMENT, notices.TOO_LARGE)
            for address in ("li.wei@example.com", "wei@work.example", "anna@example.org")
        ]
    )


@pytest.fixture(autouse=True)
def _no_recent_notices():
    forget_recent_notices()
    yield
    forget_recent_notices()


def new_ticket(sender="li.wei@example.com", *, message_id, **fields):
    fields.setdefault("metadata", {"to": ["support@mywallet.example"], "auto_submitted": False})
    fields.setdefault("subject", "支付失败")
    received = actions.receive(factories.email(sender, external_id=message_id, **fields))
    assert received.opened
    return received.ticket


@pytest.fixture
def ticket(customer):
    return new_ticket(message_id="new.1@mail.example.com")


def text_of(mail) -> str:
    return mail.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html_of(mail) -> str:
    return mail.get_body(("html",)).get_content()


@pytest.mark.django_db(transaction=True)
def test_a_chinese_customer_is_acknowledged_in_chinese_by_the_task(customer, smtp_server):
    ticket = new_ticket(message_id="new.1@mail.example.com")
    notices.send_acknowledgements.enqueue([[ticket.pk, "li.wei@example.com", ""]])
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    [received] = smtp_server.messages
    assert received.rcpt_tos == ("li.wei@example.com",)
    mail = received.parsed()
    assert mail["Subject"] == f"[{ticket.reference}] 我们已收到您的问题"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["Precedence"] == "bulk"
    assert mail["In-Reply-To"] == "<new.1@mail.example.com>"
    assert mail["References"] == "<new.1@mail.example.com>"
    assert mail["From"].addresses[0].addr_spec == "support@mywallet.example"
    assert "我们已收到您的来信（主题：支付失败）" in text_of(mail)
    assert ticket.reference in text_of(mail)
    assert "我们已收到您的来信" in html_of(mail)
    assert 'lang="zh-Hans"' in html_of(mail)
    # Stored on the ticket: agents see it, and its Message-ID threads an answer to it.
    notice = ticket.messages.get(metadata__kind="acknowledgement")
    assert notice.direction == Message.Direction.OUTBOUND
    assert notice.delivery_status == Message.Delivery.SENT
    assert mail["Message-ID"] == f"<{notice.external_id}>"
    assert notice.subject == mail["Subject"]


def test_an_english_customer_is_acknowledged_in_english(customer, smtp_server, ticket):
    customer.language = "en"
    customer.save()

    notices.acknowledge(ticket, to_address="li.wei@example.com", language="en")

    mail = smtp_server.messages[-1].parsed()
    assert mail["Subject"] == f"[{ticket.reference}] We have received your request"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert f"opened request {ticket.reference}" in text_of(mail)
    assert "我们" not in text_of(mail)
    assert 'lang="en"' in html_of(mail)


def test_a_sender_is_acknowledged_at_most_once_an_hour(customer, smtp_server, ticket):
    first = notices.acknowledge(ticket, to_address="li.wei@example.com", language="zh-hans")
    second_ticket = new_ticket(message_id="new.2@mail.example.com", subject="又失败了")

    assert (
        notices.acknowledge(second_ticket, to_address="Li.Wei@Example.com", language="en") is None
    )
    # The database, not only the cache, remembers: another worker would not send either.
    forget_recent_notices()
    assert (
        notices.acknowledge(second_ticket, to_address="li.wei@example.com", language="en") is None
    )
    assert len(smtp_server.messages) == 1

    # An hour later the next new ticket is acknowledged again.
    Message.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(minutes=61))
    forget_recent_notices()
    assert notices.acknowledge(second_ticket, to_address="li.wei@example.com", language="en")
    assert len(smtp_server.messages) == 2


def test_no_acknowledgement_goes_to_an_undeliverable_address(customer, smtp_server, ticket):
    customer.identities.filter(value="li.wei@example.com").update(undeliverable=True)

    assert notices.acknowledge(ticket, to_address="li.wei@example.com", language="en") is None
    assert smtp_server.messages == []
    assert not ticket.messages.filter(metadata__kind="acknowledgement").exists()


@pytest.mark.parametrize(
    "address",
    [
        "support@mywallet.example",  # our own: a loop
        "anna@example.org",  # another customer must never learn this ticket's reference
        "nobody@example.net",  # no customer at all
        "",
    ],
)
def test_no_acknowledgement_goes_to_anyone_but_the_tickets_customer(
    customer, other_customer, smtp_server, ticket, address
):
    assert notices.acknowledge(ticket, to_address=address, language="en") is None
    assert smtp_server.messages == []


def test_an_automatic_message_is_never_acknowledged(customer, smtp_server):
    ticket = new_ticket(
        message_id="ooo.1@mail.example.com",
        metadata={"to": ["support@mywallet.example"], "auto_submitted": "auto-replied"},
    )
    assert notices.acknowledge(ticket, to_address="li.wei@example.com", language="en") is None
    assert smtp_server.messages == []


def test_a_refused_acknowledgement_is_recorded_as_failed_and_not_retried(
    customer, smtp_server, ticket
):
    smtp_server.refuse("li.wei@example.com", "550 5.7.1 Rejected by policy")

    notice = notices.acknowledge(ticket, to_address="li.wei@example.com", language="en")

    notice.refresh_from_db()
    assert notice.delivery_status == Message.Delivery.FAILED
    assert notice.delivery_error == "550 5.7.1 Rejected by policy"
    assert smtp_server.messages == []


def test_a_notice_interrupted_before_sending_is_never_sent_later_as_a_reply(
    customer, smtp_server, ticket
):
    notice = notices.acknowledge(ticket, to_address="li.wei@example.com", language="en")
    Message.objects.filter(pk=notice.pk).update(delivery_status=Message.Delivery.QUEUED)

    assert actions.deliver(notice.pk) == Message.Delivery.FAILED

    notice.refresh_from_db()
    assert "not sent again" in notice.delivery_error
    assert len(smtp_server.messages) == 1


def test_an_answer_to_the_acknowledgement_threads_into_the_ticket(customer, smtp_server, ticket):
    notice = notices.acknowledge(ticket, to_address="li.wei@example.com", language="en")

    answer = actions.receive(
        factories.email(
            "li.wei@example.com",
            external_id="answer.1@mail.example.com",
            subject="Re: something else entirely",
            thread_ids=(notice.external_id,),
        )
    )
    assert answer.ticket == ticket
    assert not answer.opened


def test_the_sender_is_told_once_that_attachments_over_the_limit_were_not_kept(
    customer, smtp_server, ticket
):
    notice = notices.too_large(
        ticket, to_address="li.wei@example.com", language="zh-hans", limit_bytes=10 * 1024 * 1024
    )
    assert notice.delivery_status == Message.Delivery.SENT
    mail = smtp_server.messages[-1].parsed()
    assert mail["Subject"] == f"[{ticket.reference}] 您邮件中过大的附件未能保存"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["In-Reply-To"] == "<new.1@mail.example.com>"
    assert "超过了 10 MB 的大小限制" in text_of(mail)

    # Not twice within the hour; an acknowledgement is a separate notice and still goes.
    again = notices.too_large(
        ticket, to_address="li.wei@example.com", language="zh-hans", limit_bytes=10 * 1024 * 1024
    )
    assert again is None
    assert notices.acknowledge(ticket, to_address="li.wei@example.com", language="zh-hans")
    assert len(smtp_server.messages) == 2


def test_the_too_large_notice_speaks_english_to_an_english_customer(customer, smtp_server, ticket):
    notices.too_large(ticket, to_address="li.wei@example.com", language="en", limit_bytes=512_000)

    mail = smtp_server.messages[-1].parsed()
    assert mail["Subject"] == f"[{ticket.reference}] Attachments too large to keep"
    assert "larger than our limit of 500 KB" in text_of(mail)
