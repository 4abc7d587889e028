"""Migrations tickets 0011-0013: existing tickets get their latest-message preview (notes
left out), chat tickets titled "Web chat" or 网页聊天 are named by their customer's first
line, and the search finds the messages that were there before its index."""

import pytest

from tests.tickets.test_cc_migration import latest, migrate
from tickets.models import Ticket
from tickets.selectors import search_tickets

BEFORE = [("tickets", "0010_sla_policies_routing_rules")]


@pytest.mark.django_db(transaction=True)
def test_existing_tickets_get_previews_titles_and_search():
    old_apps = migrate(BEFORE)
    customer = old_apps.get_model("accounts", "Customer").objects.create(name="Li Wei")
    OldTicket = old_apps.get_model("tickets", "Ticket")
    Message = old_apps.get_model("tickets", "Message")
    chat = OldTicket.objects.create(customer=customer, channel="chat", subject="网页聊天")
    mail = OldTicket.objects.create(customer=customer, channel="email", subject="Card")
    Message.objects.create(
        ticket=chat, direction="inbound", channel="chat", text="\n 我的账户被冻结了 \n谢谢"
    )
    Message.objects.create(ticket=chat, direction="outbound", channel="chat", text="我们来看看")
    Message.objects.create(ticket=mail, direction="inbound", channel="email", text="New card")
    Message.objects.create(ticket=mail, direction="note", channel="email", text="internal")

    migrate(latest())
    chat, mail = Ticket.objects.get(pk=chat.pk), Ticket.objects.get(pk=mail.pk)
    assert (chat.subject, chat.last_message_preview) == ("我的账户被冻结了", "我们来看看")
    assert (mail.subject, mail.last_message_preview) == ("Card", "New card")
    assert list(search_tickets(Ticket.objects.all(), "账户被冻结")) == [chat]
