import asyncio
import hashlib

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Customer, CustomerIdentity
from tickets import actions, live
from tickets.inbound import InboundAttachment
from tickets.models import InboundMessage, Message, Ticket, TicketEvent

from . import factories

pytestmark = pytest.mark.django_db


def test_a_first_message_opens_a_ticket_with_a_reference_for_a_new_customer():
    received = actions.receive(factories.email("Zhang.San@Example.com", sender_name="张三"))
    assert received.opened and not received.duplicate
    ticket = received.ticket
    assert ticket.reference == f"MW-{ticket.pk:06d}"
    assert ticket.status == Ticket.Status.NEW
    assert ticket.channel == "email"
    assert ticket.subject == "Payment failed"
    assert ticket.customer.name == "张三"
    assert ticket.customer.identities.get().value == "zhang.san@example.com"
    assert ticket.first_response_due is not None
    assert list(ticket.messages.values_list("direction", flat=True)) == ["inbound"]


def test_a_known_sender_lands_on_their_existing_customer(customer):
    received = actions.receive(factories.email("LI.WEI@example.com"))
    assert received.ticket.customer == customer
    assert received.message.sender.customer == customer
    assert Customer.objects.count() == 1


def test_the_only_wallet_of_the_customer_is_linked(customer):
    received = actions.receive(factories.email("li.wei@example.com"))
    assert received.ticket.wallet == customer.wallets.get()


def test_receiving_the_same_message_twice_stores_it_once(customer):
    inbound = factories.email("li.wei@example.com", external_id="<same@mail.example.com>")
    first = actions.receive(inbound)
    second = actions.receive(inbound)
    assert second.duplicate and not second.opened
    assert second.message.pk == first.message.pk
    assert Message.objects.count() == 1
    assert Ticket.objects.count() == 1


def test_the_same_external_id_on_another_channel_is_another_message():
    actions.receive(factories.email(external_id="42"))
    actions.receive(factories.wechat(external_id="42"))
    assert Message.objects.count() == 2


def test_a_reply_threads_on_an_earlier_message_id(customer):
    first = actions.receive(factories.email("li.wei@example.com", external_id="<a@x>"))
    second = actions.receive(
        factories.email("li.wei@example.com", subject="Re: Payment failed", thread_ids=("<a@x>",))
    )
    assert not second.opened
    assert second.ticket == first.ticket
    assert first.ticket.messages.count() == 2


def test_a_reply_threads_on_our_own_outbound_message_id(customer, agent):
    first = actions.receive(factories.email("li.wei@example.com"))
    answer = actions.reply(first.ticket, acting_user=agent, body="Please try again.")
    Message.objects.filter(pk=answer.pk).update(external_id="<out-1@mywallet.example>")
    again = actions.receive(
        factories.email("li.wei@example.com", thread_ids=("<out-1@mywallet.example>",))
    )
    assert again.ticket == first.ticket


def test_the_reference_in_the_subject_continues_the_customers_ticket(customer):
    first = actions.receive(factories.email("li.wei@example.com"))
    again = actions.receive(
        factories.email("li.wei@example.com", ticket_reference=first.ticket.reference.lower())
    )
    assert again.ticket == first.ticket


def test_a_stranger_quoting_a_reference_opens_a_new_linked_ticket(customer, other_customer):
    """Guards Zammad's bug: mail threaded into another customer's ticket by its number."""
    first = actions.receive(factories.email("li.wei@example.com"))
    stranger = actions.receive(
        factories.email("anna@example.org", ticket_reference=first.ticket.reference)
    )
    assert stranger.opened
    assert stranger.ticket != first.ticket
    assert stranger.ticket.customer == other_customer
    assert stranger.ticket.follows_up == first.ticket
    assert first.ticket.messages.count() == 1


def test_a_reply_to_a_solved_ticket_reopens_it(customer, agent):
    first = actions.receive(factories.email("li.wei@example.com", external_id="<s@x>"))
    actions.change_status(first.ticket, acting_user=agent, status=Ticket.Status.SOLVED)
    again = actions.receive(factories.email("li.wei@example.com", thread_ids=("<s@x>",)))
    ticket = Ticket.objects.get(pk=first.ticket.pk)
    assert again.ticket == ticket
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.solved_at is None
    assert ticket.events.filter(kind=TicketEvent.Kind.REOPENED).exists()


def test_a_reply_to_a_closed_ticket_opens_a_follow_up(customer, agent):
    first = actions.receive(factories.email("li.wei@example.com", external_id="<c@x>"))
    actions.change_status(first.ticket, acting_user=agent, status=Ticket.Status.CLOSED)
    again = actions.receive(factories.email("li.wei@example.com", thread_ids=("<c@x>",)))
    assert again.opened
    assert again.ticket.follows_up == first.ticket
    assert Ticket.objects.get(pk=first.ticket.pk).status == Ticket.Status.CLOSED


def test_email_without_thread_headers_opens_a_new_ticket(customer):
    first = actions.receive(factories.email("li.wei@example.com"))
    second = actions.receive(factories.email("li.wei@example.com"))
    assert first.ticket != second.ticket


def test_conversational_channels_continue_the_open_ticket():
    first = actions.receive(factories.wechat(text="你好"))
    second = actions.receive(factories.wechat(text="我的支付失败了"))
    assert second.ticket == first.ticket and not second.opened
    assert [m.text for m in first.ticket.messages.all()] == ["你好", "我的支付失败了"]


def test_a_solved_chat_is_not_continued_by_a_new_conversation(agent):
    first = actions.receive(factories.chat())
    actions.change_status(first.ticket, acting_user=agent, status=Ticket.Status.SOLVED)
    second = actions.receive(factories.chat())
    assert second.opened and second.ticket != first.ticket


def test_a_customer_answering_a_pending_ticket_puts_it_back_to_open(customer, agent):
    first = actions.receive(factories.email("li.wei@example.com", external_id="<p@x>"))
    actions.change_status(first.ticket, acting_user=agent, status=Ticket.Status.PENDING)
    actions.receive(factories.email("li.wei@example.com", thread_ids=("<p@x>",)))
    assert Ticket.objects.get(pk=first.ticket.pk).status == Ticket.Status.OPEN


def test_tickets_from_every_channel_gather_on_one_customer(customer):
    CustomerIdentity.objects.create(customer=customer, kind="wechat", value="oLiWei")
    actions.receive(factories.email("li.wei@example.com"))
    actions.receive(factories.wechat("oLiWei"))
    actions.receive(factories.phone("138 0013 8000"))
    assert set(customer.tickets.values_list("channel", flat=True)) == {"email", "wechat", "phone"}


def test_an_invalid_sender_writes_nothing():
    with pytest.raises(ValidationError):
        actions.receive(factories.email("not-an-address"))
    assert Ticket.objects.count() == 0
    assert Customer.objects.count() == 0


def test_html_is_sanitised_on_the_way_in():
    received = actions.receive(
        factories.email(html='<p onclick="x()">Hi<script>alert(1)</script><img src="cid:logo"></p>')
    )
    html = received.message.html
    assert "<script" not in html and "onclick" not in html
    assert 'src="cid:logo"' in html


def test_attachments_are_stored_with_their_digest(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    content = b"%PDF-1.4 statement"
    received = actions.receive(
        factories.email(attachments=(InboundAttachment("账单.pdf", "application/pdf", content),))
    )
    attachment = received.message.attachments.get()
    assert attachment.name == "账单.pdf"
    assert attachment.size == len(content)
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    with attachment.file.open("rb") as fh:
        assert fh.read() == content


def test_the_raw_payload_is_marked_processed_or_duplicate():
    raw = InboundMessage.objects.create(channel="email", raw=b"raw bytes", sha256="0" * 64)
    inbound = factories.email(external_id="<raw@x>", raw_id=raw.pk)
    received = actions.receive(inbound)
    raw.refresh_from_db()
    assert raw.status == InboundMessage.Status.PROCESSED
    assert raw.message == received.message
    again = InboundMessage.objects.create(channel="email", raw=b"raw bytes", sha256="0" * 64)
    actions.receive(factories.email(external_id="<raw@x>", raw_id=again.pk))
    again.refresh_from_db()
    assert again.status == InboundMessage.Status.DUPLICATE


def test_live_viewers_hear_of_the_message_after_commit(django_capture_on_commit_callbacks):
    """Through the configured layer: in-memory, or Redis pub/sub when REDIS_URL is set."""
    layer = get_channel_layer()
    ticket = actions.receive(factories.chat()).ticket
    group = live.ticket_group(ticket.pk)

    def receive_and_commit():
        with django_capture_on_commit_callbacks(execute=True):
            return actions.receive(factories.chat(text="still there?"))

    async def listen():
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        received = await sync_to_async(receive_and_commit)()
        event = await asyncio.wait_for(layer.receive(channel), timeout=5)
        await layer.group_discard(group, channel)
        return received, event

    received, event = async_to_sync(listen)()
    assert received.ticket == ticket
    assert event["type"] == "ticket.message"
    assert event["message"] == received.message.pk
    assert event["ticket"] == received.ticket.pk


def test_people_copied_in_are_proposed_on_the_ticket_never_added(customer):
    first = actions.receive(factories.email("li.wei@example.com", cc=("wife@example.com",)))
    actions.receive(
        factories.email(
            "li.wei@example.com",
            thread_ids=(first.message.external_id,),
            cc=("wife@example.com", "bank@example.com"),
        )
    )
    first.ticket.refresh_from_db()
    assert first.ticket.cc == []
    assert first.ticket.cc_proposed == ["wife@example.com", "bank@example.com"]
    proposed = first.ticket.events.filter(kind=TicketEvent.Kind.CC_PROPOSED)
    assert sorted(proposed.values_list("data__address", flat=True)) == [
        "bank@example.com",
        "wife@example.com",
    ]


# --- a batch: the same rules, a fixed number of queries --------------------------------------


def test_a_batch_files_each_message_as_if_received_one_by_one(customer, agent):
    solved = actions.receive(factories.email("li.wei@example.com", external_id="<old@x>"))
    actions.change_status(solved.ticket, acting_user=agent, status=Ticket.Status.SOLVED)
    results = actions.receive_many(
        [
            factories.email("new.person@example.com", external_id="<a@x>", sender_name="New"),
            factories.email("not an address"),
            factories.email("New.Person@example.com", thread_ids=("<a@x>",), cc=("cc@x.com",)),
            factories.email("li.wei@example.com", thread_ids=("<old@x>",)),
            factories.email("new.person@example.com", external_id="<a@x>"),  # sent twice
            factories.wechat(text="你好"),
            factories.wechat(text="在吗"),
        ]
    )
    first, invalid, reply, reopening, again, chat_1, chat_2 = results
    assert isinstance(invalid, ValidationError)
    # A reply to a message filed earlier in the same batch continues its new ticket.
    assert first.opened and not reply.opened
    assert reply.ticket == first.ticket
    assert first.ticket.reference == f"MW-{first.ticket.pk:06d}"
    assert Ticket.objects.get(pk=first.ticket.pk).reference == first.ticket.reference
    assert Ticket.objects.get(pk=first.ticket.pk).cc_proposed == ["cc@x.com"]
    assert first.ticket.customer.name == "New"
    assert again.duplicate and again.message == first.message
    # The solved ticket reopens, with its event.
    assert reopening.ticket == solved.ticket
    assert Ticket.objects.get(pk=solved.ticket.pk).status == Ticket.Status.OPEN
    assert solved.ticket.events.filter(kind=TicketEvent.Kind.REOPENED).count() == 1
    # A conversational channel continues the ticket opened earlier in the batch.
    assert chat_1.opened and chat_2.ticket == chat_1.ticket and not chat_2.opened
    assert Message.objects.count() == 7  # the six filed, and the solved ticket's survey notice
    assert CustomerIdentity.objects.filter(value="new.person@example.com").count() == 1
    assert list(first.ticket.events.order_by("pk").values_list("kind", "data__message")) == [
        ("created", None),
        ("message", reply.message.pk),
        ("cc_proposed", reply.message.pk),
    ]


def test_a_batch_takes_the_same_number_of_queries_whatever_its_size(customer):
    def batch(size, start):
        return [
            factories.email(f"sender{start + i}@example.com", cc=("cc@example.com",))
            for i in range(size)
        ]

    # Measured on a warm batch so that both sizes do the same kinds of work.
    actions.receive_many(batch(3, 0))
    with CaptureQueriesContext(connection) as small:
        actions.receive_many(batch(5, 100))
    with CaptureQueriesContext(connection) as large:
        actions.receive_many(batch(60, 200))
    assert len(large.captured_queries) == len(small.captured_queries)
    # incl. the audit chain's savepoint for new senders, and the routing rules and SLA
    # policies a batch that opens tickets reads once
    assert len(small.captured_queries) <= 20
    assert Ticket.objects.count() == 68


def test_a_ticket_past_a_million_keeps_its_whole_number_in_the_reference(customer):
    Ticket.objects.create(pk=1_234_566, customer=customer, channel="email", subject="old")
    with connection.cursor() as cursor:  # PostgreSQL's sequence follows explicit keys only so
        for sql in connection.ops.sequence_reset_sql(no_style(), [Ticket]):
            cursor.execute(sql)
    [received] = actions.receive_many([factories.email("li.wei@example.com")])
    assert received.ticket.pk == 1_234_567
    assert received.ticket.reference == "MW-1234567"
    assert Ticket.objects.get(pk=1_234_567).reference == "MW-1234567"
