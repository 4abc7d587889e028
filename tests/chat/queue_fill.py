"""A long chat queue in a few queries, for the tests of the queue at scale and for the
browser test's server (run there through `manage.py shell`).

The chats are real rows (a ticket on the chat channel and its waiting conversation each),
made in bulk because starting a thousand through the action would take the test's time,
not test anything more: the starts themselves are measured by bench/chat_rush.py.
"""

import uuid
from datetime import timedelta

from django.utils import timezone

from accounts.models import Customer
from chat.models import Conversation
from tickets.models import Channel, Ticket


def fill_queue(count: int, *, queue=None, name: str = "Waiting customer") -> list[int]:
    """``count`` waiting chats, one second apart and all older than now; their
    conversation ids, oldest first."""
    customer = Customer.objects.create(name=name)
    batch = uuid.uuid4().hex[:6]
    tickets = Ticket.objects.bulk_create(
        Ticket(
            reference=f"MWQ{n:05d}-{batch}",
            customer=customer,
            channel=Channel.CHAT,
            subject="Web chat",
            queue=queue,
        )
        for n in range(count)
    )
    conversations = Conversation.objects.bulk_create(
        Conversation(ticket=ticket, queue=queue, state=Conversation.State.WAITING)
        for ticket in tickets
    )
    oldest = timezone.now() - timedelta(seconds=count + 60)
    for n, conversation in enumerate(conversations):
        conversation.started_at = oldest + timedelta(seconds=n)
    Conversation.objects.bulk_update(conversations, ["started_at"], batch_size=500)
    return [conversation.pk for conversation in conversations]
