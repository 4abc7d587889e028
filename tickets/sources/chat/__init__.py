"""Web chat: the customer's socket watches the ticket's group and resumes from storage.

`send` is the chat channel's sender (see ``tickets.sources.SENDERS``). A reply reaches a
connected customer through the commit-time broadcast; when the customer is gone, it goes
out by email through the email channel if they gave an address, and otherwise waits for
their next visit (``resume`` shows it, and marks it sent).
"""

from accounts.models import CustomerIdentity
from tickets.models import Message


def send(message: Message) -> str | None:
    from chat.models import Conversation

    conversation = Conversation.objects.filter(ticket_id=message.ticket_id).first()
    if conversation is None:
        return None  # a chat ticket from before live chat: nothing to reach the customer by
    if conversation.is_live and conversation.customer_sockets > 0:
        return None  # the live broadcast delivered it
    has_email = CustomerIdentity.objects.filter(
        customer_id=message.ticket.customer_id,
        kind=CustomerIdentity.Kind.EMAIL,
        undeliverable=False,
    ).exists()
    if has_email:
        from tickets.sources.email import outbound

        outbound.send(message)
        return None
    return Message.Delivery.QUEUED
