"""The chat asks for a rating however its ticket is solved (issue 14, point 5): from the
console (chat.actions.close, tested in test_actions) and from the ticket page or a bulk
action (tickets.actions.change_status), where the live chat ends with its ticket and the
customer gets the "closed" status that shows the rating form."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from chat import actions as chat_actions
from chat.models import Conversation
from tests.chat.conftest import receive_until, socket, start_chat
from tickets import actions
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_solving_the_ticket_from_the_ticket_page_ends_the_chat_and_asks_for_a_rating(agent):
    client, started = start_chat(name="Zhou Min")
    ticket = Ticket.objects.get(reference=started["reference"])

    async def scenario():
        communicator = socket("/ws/chat/", client)
        connected, _ = await communicator.connect()
        assert connected
        await sync_to_async(actions.change_status)(
            ticket, acting_user=agent, status=Ticket.Status.SOLVED
        )
        await receive_until(
            communicator, lambda f: f["type"] == "status" and f["state"] == "closed"
        )
        await communicator.send_json_to({"type": "rating", "score": 5, "comment": "Great"})
        await communicator.disconnect()

    async_to_sync(scenario)()

    conversation = Conversation.objects.get(pk=started["conversation"])
    assert conversation.state == Conversation.State.ENDED
    ended = ticket.events.get(kind=TicketEvent.Kind.CHAT_ENDED)
    assert ended.data == {"by": "ticket"}
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.SOLVED
    assert (ticket.satisfaction_score, ticket.satisfaction_comment) == (5, "Great")
    assert ticket.satisfaction_rated_at is not None


def test_an_ended_chat_is_left_as_it_is(agent):
    _client, started = start_chat(name="Zhou Min")
    conversation = Conversation.objects.get(pk=started["conversation"])
    chat_actions.close(conversation, acting_user=agent)  # the console: ends and solves
    assert Ticket.objects.get(pk=conversation.ticket_id).status == Ticket.Status.SOLVED
    assert (
        TicketEvent.objects.filter(
            ticket_id=conversation.ticket_id, kind=TicketEvent.Kind.CHAT_ENDED
        ).count()
        == 1
    )
