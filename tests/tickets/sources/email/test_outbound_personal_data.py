"""What leaves by email never carries a customer's full card or ID number (issue 16, point 4):
read back from a real SMTP server (aiosmtpd), after the worker sent it."""

import pytest

from tests.tickets.sources.email.smtp_server import running_smtp_server
from tests.tickets.sources.email.test_outbound import customer_mail, queued_reply, run_worker
from tickets import actions
from tickets.actions.pii_notice import PII_NOTICE
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)  # the worker commits for real

ID_NUMBER, CARD = "110101199003074514", "6222021234567890123"
FULL = (ID_NUMBER, CARD, "6222 0212 3456 7890 123")


@pytest.fixture
def smtp_server(settings):
    with running_smtp_server() as server:
        settings.MAILERS = {"default": server.mailer()}
        yield server


def readable(received) -> str:
    """The whole mail as a reader sees it: headers decoded, every text part decoded, and
    the bytes as they came."""
    mail = received.parsed()
    parts = [str(value) for _name, value in mail.items()]
    parts += [part.get_content() for part in mail.walk() if part.get_content_maintype() == "text"]
    return "\n".join([received.raw.decode("ascii", "replace"), *parts])


def sent(server, message):
    """The mail the worker sent for ``message`` (its Message-ID), once it is marked sent."""
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT
    (received,) = [
        mail
        for mail in server.messages
        if mail.parsed()["Message-ID"] == f"<{message.external_id}>"
    ]
    return received


def assert_no_full_number(received) -> str:
    text = readable(received)
    for number in FULL:
        assert number not in text
    return text


def test_an_answer_where_the_agent_pasted_the_customers_numbers_leaves_masked(
    customer, agent, smtp_server
):
    ticket = customer_mail(
        message_id="first.1@mail.example.com",
        subject=f"卡号 {CARD} 被冻结",
        text=f"我的身份证号是{ID_NUMBER}，银行卡号{CARD}",
    ).ticket
    message = actions.reply(
        ticket,
        acting_user=agent,
        body=(
            f"You wrote:\n> 银行卡号6222 0212 3456 7890 123\n> 身份证号{ID_NUMBER}\n"
            "It is unblocked."
        ),
    )
    run_worker()

    received = sent(smtp_server, message)
    text = assert_no_full_number(received)
    assert "622202*********0123" in text  # the agent's quote, masked as stored
    assert "1101**********4514" in text
    assert (
        received.parsed()["Subject"] == f"Re: [{ticket.reference}] 卡号 622202*********0123 被冻结"
    )


def test_a_row_stored_in_clear_before_the_change_still_leaves_masked(customer, agent, smtp_server):
    ticket = customer_mail(message_id="first.2@mail.example.com", subject="Payment").ticket
    # What the old code stored: the subject and an answer in clear, never re-masked.
    Ticket.objects.filter(pk=ticket.pk).update(subject=f"ID {ID_NUMBER}")
    message = queued_reply(ticket, agent, body=f"Your card {CARD} is unblocked.")
    actions.enqueue_delivery(message.pk)
    run_worker()

    received = sent(smtp_server, message)
    text = assert_no_full_number(received)
    assert "Your card 622202*********0123 is unblocked." in text


def test_the_notice_for_a_card_number_reaches_the_customer_by_mail_without_it(
    customer, smtp_server
):
    ticket = customer_mail(
        message_id="first.3@mail.example.com",
        subject="Card",
        text=f"my card number is {CARD}",
        language="en",
    ).ticket
    run_worker()

    received = sent(smtp_server, ticket.messages.get(**{f"metadata__{PII_NOTICE}": True}))
    assert received.rcpt_tos == ("li.wei@example.com",)
    text = assert_no_full_number(received)
    assert "please do not send full bank card, ID or passport numbers" in text
