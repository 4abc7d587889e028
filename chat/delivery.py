"""The chat channel's sender (see ``tickets.sources.SENDERS``).

An agent's answer reaches a connected customer through the chat's own live frames when it
is stored (the writer marks it sent then). Delivered later, by the task, it is an answer
written while the customer was away, or one from the ticket page: the live broadcast
reaches a customer who is still here, and a customer who has gone is AWAY, so delivery
sends it by email when they have an address and otherwise keeps it for their next visit
(``resume`` shows it and marks it sent). A chat ticket without a conversation (made before
the live chat, or by hand) has no page to show it on: GONE, by email or not at all.
"""

from tickets.models import Message
from tickets.sources import AWAY, GONE

from .models import Conversation


def send(message: Message) -> str | None:
    conversation = (
        Conversation.objects.filter(ticket_id=message.ticket_id)
        .values("state", "customer_sockets")
        .first()
    )
    if conversation is None:
        return GONE  # a chat ticket from before live chat: no page to show it on
    if conversation["state"] != Conversation.State.ENDED and conversation["customer_sockets"] > 0:
        return None  # the live broadcast delivered it
    return AWAY
