"""The chat's rules, through chat.actions: who gets a chat, limits, transfer, closing,
rating, the batched store (idempotent, bounded queries) and the offline form."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.app_identity import AUDIENCE_CHAT, sign, verify
from accounts.models import AccountEvent, CustomerIdentity, Verification
from chat import actions, selectors
from chat.messages import Pending, store_messages
from chat.models import AgentPresence, Conversation
from tests.accounts.security_helpers import strong_verification
from tests.conftest import make_staff, race
from tickets import actions as ticket_actions
from tickets.models import Message, Queue, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def online(user, *, max_chats=None):
    AgentPresence.objects.update_or_create(
        user=user, defaults={"status": "online", "sockets": 1, "max_chats": max_chats}
    )
    return user


def start(**kwargs) -> Conversation:
    kwargs.setdefault("session_key", "s")
    return actions.start_conversation(**kwargs)


def test_a_chat_with_nobody_online_is_offline(customer):
    conversation = start()
    assert conversation.state == Conversation.State.OFFLINE
    assert conversation.ticket.channel == "chat"
    assert conversation.identity.kind == CustomerIdentity.Kind.WEB


def test_a_given_email_of_a_known_customer_is_only_a_claim(customer):
    conversation = start(name="Li", contact="LI.WEI@example.com")
    ticket = conversation.ticket
    assert ticket.customer != customer and ticket.wallet is None
    assert ticket.claimed_identity == customer.identities.get(kind="email")
    assert conversation.identity.kind == "web" and conversation.identity.customer == ticket.customer
    # nothing is attached to the claimed customer's record
    assert customer.identities.count() == 2 and not customer.tickets.exists()
    assert not conversation.verified_by_app


def test_a_given_phone_of_a_known_customer_is_only_a_claim(customer):
    conversation = start(contact="138 0013 8000")
    assert conversation.ticket.customer != customer
    assert conversation.ticket.claimed_identity == customer.identities.get(kind="phone")


def test_a_contact_new_to_us_becomes_the_chats_customer(db):
    conversation = start(name="Zhou", contact="zhou.min@example.com")
    assert conversation.identity.value == "zhou.min@example.com"
    assert conversation.ticket.customer == conversation.identity.customer
    assert conversation.ticket.claimed_identity is None


def test_the_apps_token_files_the_chat_on_its_customer_verified(customer):
    wallet = customer.wallets.get()
    app = verify(sign(wallet, audience=AUDIENCE_CHAT), audience=AUDIENCE_CHAT)
    conversation = start(app=app)
    ticket = conversation.ticket
    assert ticket.customer == customer and ticket.wallet == wallet
    assert ticket.claimed_identity is None and conversation.verified_by_app
    assert conversation.identity.customer == customer
    verification = Verification.objects.get(ticket=ticket)
    assert verification.by_app and verification.account == wallet
    assert verification.strength == "strong" and verification.checks_passed == ["app_token"]
    assert verification.expires_at > timezone.now()
    event = AccountEvent.objects.get(customer=customer, action="identity_verified")
    assert event.ticket_id == ticket.pk and event.actor_id is None
    assert event.details["via"] == "app" and event.details["token_id"] == app.jti


def test_an_agents_strong_verification_links_the_claimed_customer(customer, agent):
    conversation = start(name="Li", contact="li.wei@example.com")
    ticket, wallet = conversation.ticket, customer.wallets.get()
    placeholder = ticket.customer
    verification = strong_verification(ticket, wallet, agent)
    ticket_actions.link_claimed_customer(ticket, acting_user=agent, verification=verification)
    ticket.refresh_from_db()
    assert ticket.customer == customer and ticket.wallet == wallet
    assert ticket.claimed_identity is None
    placeholder.refresh_from_db()
    assert placeholder.merged_into == customer
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.CUSTOMER_MERGED)
    assert event.actor == agent


def test_a_weak_or_other_wallets_verification_does_not_link_the_claim(
    customer, other_customer, agent
):
    conversation = start(contact="li.wei@example.com")
    ticket = conversation.ticket
    weak = strong_verification(ticket, customer.wallets.get(), agent)
    Verification.objects.filter(pk=weak.pk).update(strength="weak")
    weak.refresh_from_db()
    other = strong_verification(ticket, other_customer.wallets.get(), agent)
    for verification in (weak, other):
        with pytest.raises(ValidationError):
            ticket_actions.link_claimed_customer(
                ticket, acting_user=agent, verification=verification
            )
    ticket.refresh_from_db()
    assert ticket.customer != customer and ticket.claimed_identity is not None


def test_a_signed_in_wallet_user_is_linked_automatically(customer, django_user_model):
    user = django_user_model.objects.create_user(username="liwei", password="x" * 20)
    customer.user = user
    customer.save()
    assert start(user=user).ticket.customer == customer


def test_a_signed_in_user_without_a_customer_becomes_one_audited_and_only_once(
    django_user_model,
):
    user = django_user_model.objects.create_user(
        username="newbie", first_name="Mei", password="x" * 20
    )
    first = start(user=user)
    again = start(user=user)
    customer = first.ticket.customer
    assert again.ticket.customer == customer and customer.user == user
    assert customer.name == "Mei"
    assert [i.value for i in customer.identities.all()] == [f"user-{user.pk}"]
    actions_recorded = list(
        AccountEvent.objects.filter(customer=customer)
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions_recorded == [
        AccountEvent.Action.CUSTOMER_CREATED,
        AccountEvent.Action.IDENTITY_ADDED,
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_first_chats_of_a_signed_in_user_at_once_make_one_customer(
    postgres_only, django_user_model
):
    user = django_user_model.objects.create_user(username="racer", password="x" * 20)
    conversations = race(4, lambda i: start(user=user, session_key=f"s{i}"))
    assert len({c.ticket.customer_id for c in conversations}) == 1
    assert CustomerIdentity.objects.filter(value=f"user-{user.pk}").count() == 1


def test_a_bad_contact_is_refused(db):
    with pytest.raises(ValidationError):
        start(contact="not an address@")


def test_auto_assign_gives_a_new_chat_to_the_least_busy_online_agent(settings, agent, other_agent):
    settings.CHAT_AUTO_ASSIGN = True
    online(agent)
    online(other_agent)
    first = start()
    second = start()
    third = start()
    assert {first.agent, second.agent} == {agent, other_agent}
    assert third.agent in (agent, other_agent)
    assert first.state == Conversation.State.ACTIVE
    assert first.ticket.assignee == first.agent


def test_auto_assign_respects_each_agents_limit_and_leaves_the_rest_waiting(settings, agent):
    settings.CHAT_AUTO_ASSIGN = True
    online(agent, max_chats=2)
    chats = [start() for _ in range(3)]
    assert [c.state for c in chats] == ["active", "active", "waiting"]


def test_auto_assign_only_picks_agents_of_the_chats_queue(settings, agent, other_agent):
    settings.CHAT_AUTO_ASSIGN = True
    security = Queue.objects.create(name="Security", slug="security")
    security.agents.add(other_agent)
    online(agent)
    online(other_agent)
    assert start(queue=security).agent == other_agent


def test_an_agent_away_gets_nothing(settings, agent):
    settings.CHAT_AUTO_ASSIGN = True
    AgentPresence.objects.create(user=agent, status="away", sockets=1)
    assert start().state == Conversation.State.OFFLINE


def test_accept_is_refused_beyond_the_agents_limit(settings, agent):
    settings.CHAT_AUTO_ASSIGN = False
    settings.CHAT_MAX_CHATS = 1
    online(agent)
    one, two = start(), start()
    actions.accept(one, acting_user=agent)
    with pytest.raises(ValidationError):
        actions.accept(two, acting_user=agent)


def test_a_customer_cannot_accept(customer, django_user_model):
    user = django_user_model.objects.create_user(username="someone", password="x" * 20)
    with pytest.raises(Exception, match="agent"):
        actions.accept(start(), acting_user=user)


def test_transfer_to_an_agent_and_to_a_queue(settings, agent, other_agent):
    settings.CHAT_AUTO_ASSIGN = False
    online(agent)
    conversation = start()
    actions.accept(conversation, acting_user=agent)
    moved = actions.transfer(conversation, acting_user=agent, to_agent=other_agent)
    assert moved.agent == other_agent
    assert Ticket.objects.get(pk=conversation.ticket_id).assignee == other_agent
    queue = Queue.objects.create(name="Security", slug="security")
    back = actions.transfer(conversation, acting_user=other_agent, to_queue=queue)
    assert back.agent is None
    assert back.state == Conversation.State.WAITING  # agent is online and the queue is open
    assert Ticket.objects.get(pk=conversation.ticket_id).queue == queue


def test_closing_by_the_agent_solves_the_ticket_and_the_customer_rates(settings, agent):
    online(agent)
    conversation = start()
    actions.accept(conversation, acting_user=agent)
    actions.close(conversation, acting_user=agent)
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.ENDED
    assert conversation.ticket.status == Ticket.Status.SOLVED
    ticket = actions.rate(conversation, score=5, comment="快 fast")
    assert (ticket.satisfaction_score, ticket.satisfaction_comment) == (5, "快 fast")
    with pytest.raises(ValidationError):
        actions.rate(conversation, score=6)


def test_rating_a_live_chat_ends_it(db):
    conversation = start()
    actions.rate(conversation, score=3)
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.ENDED


# --- the batched store ---------------------------------------------------------------------


def test_a_batch_is_stored_with_a_bounded_number_of_queries(settings, agent):
    settings.CHAT_AUTO_ASSIGN = False
    online(agent)
    conversations = [start() for _ in range(5)]
    for conversation in conversations[:3]:
        actions.accept(conversation, acting_user=agent)
    batch = [
        Pending(conversation_id=c.pk, client_id=f"c{i}", text=f"hi {i}", kind="customer")
        for c in conversations
        for i in range(10)
    ] + [
        Pending(conversation_id=c.pk, client_id=f"a{i}", text="ok", kind="agent", agent=agent)
        for c in conversations[:3]
        for i in range(10)
    ]
    with CaptureQueriesContext(connection) as queries:
        results = store_messages(batch)
    assert all(r.frame and not r.duplicate for r in results), [r.code for r in results]
    # read conversations, read existing ids, insert messages, touch tickets, reopen
    # tickets, first responses; plus the transaction's own statements
    assert len(queries) <= 8, [q["sql"][:80] for q in queries]
    assert Message.objects.filter(channel="chat").count() == 80
    ids = [r.message_id for r in results]
    assert ids == sorted(ids)  # stored in the order handed over


def test_a_client_id_is_stored_once_within_and_across_batches(db):
    conversation = start()
    one = Pending(conversation_id=conversation.pk, client_id="x", text="hi", kind="customer")
    first, again = store_messages([one, one])
    assert not first.duplicate and again.duplicate
    assert again.message_id == first.message_id
    [later] = store_messages([one])
    assert later.duplicate and later.message_id == first.message_id
    assert conversation.ticket.messages.count() == 1


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (Ticket.Status.PENDING, TicketEvent.Kind.STATUS),
        (Ticket.Status.SOLVED, TicketEvent.Kind.REOPENED),
    ],
)
def test_a_customer_answering_in_the_chat_opens_a_waiting_ticket_again(db, status, event):
    # Found in review: only mail reopened a ticket; a chat answer left it pending.
    conversation = start()
    Ticket.objects.filter(pk=conversation.ticket_id).update(status=status)
    store_messages(
        [Pending(conversation_id=conversation.pk, client_id="r", text="ok", kind="customer")]
    )
    ticket = Ticket.objects.get(pk=conversation.ticket_id)
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.events.filter(kind=event, data__by="customer").count() == 1


def test_a_closed_ticket_takes_no_more_chat_messages_from_the_customer(db):
    conversation = start()
    Ticket.objects.filter(pk=conversation.ticket_id).update(status=Ticket.Status.CLOSED)
    [result] = store_messages(
        [Pending(conversation_id=conversation.pk, client_id="c", text="hi", kind="customer")]
    )
    assert result.code == "closed" and result.frame is None
    assert not conversation.ticket.messages.exists()


def test_the_same_client_id_in_two_conversations_is_two_messages(db):
    one, two = start(), start()
    results = store_messages(
        [
            Pending(conversation_id=one.pk, client_id="x", text="a", kind="customer"),
            Pending(conversation_id=two.pk, client_id="x", text="b", kind="customer"),
        ]
    )
    assert len({r.message_id for r in results}) == 2


def test_an_agent_writes_only_in_a_chat_they_hold_and_nobody_in_an_ended_one(agent):
    conversation = start()
    refused, note = store_messages(
        [
            Pending(conversation.pk, "a", "hi", "agent", agent=agent),
            Pending(conversation.pk, "n", "internal", "note", agent=agent),
        ]
    )
    assert refused.code == "not_yours"
    assert note.frame["author"] == "note"
    actions.close(conversation)
    [late] = store_messages([Pending(conversation.pk, "c", "hello?", "customer")])
    assert late.code == "closed"


def test_stored_messages_are_the_thread_and_set_the_first_response(agent):
    online(agent)
    conversation = start()
    actions.accept(conversation, acting_user=agent)
    kinds_before = list(conversation.ticket.events.values_list("kind", flat=True))
    question, answer = store_messages(
        [
            Pending(conversation.pk, "c", "hi", "customer", name="Lin"),
            Pending(conversation.pk, "a", "hello", "agent", agent=agent, name="Agent"),
        ]
    )
    ticket = Ticket.objects.get(pk=conversation.ticket_id)
    assert ticket.first_responded_at is not None
    assert ticket.last_message_at is not None
    # the lines are the thread; the history keeps the ticket's changes only
    assert list(ticket.events.values_list("kind", flat=True)) == kinds_before
    inbound = ticket.messages.get(direction="inbound")
    assert (inbound.pk, inbound.text, inbound.channel) == (question.message_id, "hi", "chat")
    assert inbound.sender_id == conversation.identity_id and inbound.author_id is None
    assert (inbound.subject, inbound.html, inbound.metadata) == ("", "", {})
    assert inbound.external_id == f"{conversation.pk}:c"
    reply = ticket.messages.get(direction="outbound")
    assert (reply.pk, reply.author_id, reply.sender_id) == (answer.message_id, agent.pk, None)
    # the customer had no socket open: the reply waits for the chat channel's sender
    assert reply.delivery_status == Message.Delivery.QUEUED and reply.delivered_at is None
    # the frames announced are the frames storage gives back later
    assert answer.frame == selectors.message_frame(reply, name="Agent")
    assert question.frame == selectors.message_frame(inbound, name="Lin")


def test_an_agent_message_to_a_connected_customer_is_delivered_at_once(agent):
    online(agent)
    conversation = start()
    actions.accept(conversation, acting_user=agent)
    actions.customer_connected(conversation.pk)
    [answer] = store_messages([Pending(conversation.pk, "a", "hello", "agent", agent=agent)])
    reply = Message.objects.get(pk=answer.message_id)
    assert reply.delivery_status == Message.Delivery.SENT
    assert reply.delivered_at == reply.created_at


def test_leave_message_with_a_known_contact_files_a_claim(customer):
    received = actions.leave_message(contact="li.wei@example.com", name="Li", text="请回电")
    assert received.ticket.customer != customer
    assert received.ticket.claimed_identity.customer == customer
    assert received.ticket.conversation.state == Conversation.State.OFFLINE
    assert not customer.tickets.exists()


def test_leave_message_needs_text_and_a_contact(db):
    with pytest.raises(ValidationError):
        actions.leave_message(contact="a@example.com", text=" ")
    with pytest.raises(ValidationError):
        actions.leave_message(contact="", text="hello")


def test_leaving_a_message_in_an_offline_chat_files_it_on_that_chats_ticket(db):
    conversation = start()
    received = actions.leave_message(
        contact="Zhou.Min@example.com",
        name="Zhou Min",
        text="钱包被锁了",
        conversation=conversation,
    )
    assert received.ticket.pk == conversation.ticket_id and not received.opened
    assert Ticket.objects.count() == 1 and Conversation.objects.count() == 1
    conversation.refresh_from_db()
    customer = conversation.ticket.customer
    assert conversation.contact == "Zhou.Min@example.com"
    assert conversation.identity.kind == "email"
    assert conversation.identity.value == "zhou.min@example.com"
    assert conversation.identity.customer == customer and customer.name == "Zhou Min"
    assert (
        received.message.sender == conversation.identity and received.message.text == "钱包被锁了"
    )
    event = AccountEvent.objects.get(customer=customer, action="identity_added")
    assert event.ticket_id == conversation.ticket_id and "zhou.min" not in str(event.details)


def test_an_anonymous_chat_given_a_known_contact_only_claims_that_customer(customer):
    conversation = start()
    placeholder = conversation.ticket.customer
    actions.leave_message(
        contact="+86 138 0013 8000", text="Please call me", conversation=conversation
    )
    conversation.refresh_from_db()
    assert conversation.ticket.customer == placeholder and conversation.ticket.wallet is None
    assert conversation.ticket.claimed_identity == customer.identities.get(kind="phone")
    assert conversation.identity.customer == placeholder
    placeholder.refresh_from_db()
    assert placeholder.merged_into is None
    assert conversation.ticket.messages.get().sender.customer == placeholder
    assert customer.identities.count() == 2 and not customer.tickets.exists()


def test_a_known_customers_chat_is_not_moved_by_someone_elses_contact(customer, other_customer):
    conversation = start(
        app=verify(sign(customer.wallets.get(), audience=AUDIENCE_CHAT), audience=AUDIENCE_CHAT)
    )
    actions.leave_message(contact="anna@example.org", text="hi", conversation=conversation)
    conversation.refresh_from_db()
    assert conversation.ticket.customer == customer
    assert conversation.ticket.claimed_identity is None
    assert conversation.contact == ""  # the app told us who this is: a typed contact is not taken
    assert other_customer.identities.count() == 2 and other_customer.tickets.count() == 0
    assert conversation.ticket.messages.get().text == "hi"


def test_leaving_a_message_after_the_chat_ended_opens_a_new_ticket(db):
    conversation = start()
    actions.close(conversation)
    received = actions.leave_message(
        contact="a@example.com", text="hello", conversation=conversation
    )
    assert received.opened and received.ticket.pk != conversation.ticket_id
    assert Conversation.objects.count() == 2


def test_a_bad_contact_in_an_offline_chat_is_refused(db):
    conversation = start()
    with pytest.raises(ValidationError):
        actions.leave_message(contact="nobody@", text="hello", conversation=conversation)


def test_make_staff_agents_are_not_online_until_they_say_so(django_user_model):
    user = make_staff(django_user_model, "third", "Agents")
    assert not AgentPresence.objects.filter(user=user).exists()


def test_only_an_agent_links_a_claim(customer, agent, django_user_model):
    conversation = start(contact="li.wei@example.com")
    verification = strong_verification(conversation.ticket, customer.wallets.get(), agent)
    visitor = django_user_model.objects.create_user(username="visitor", password="x" * 20)
    with pytest.raises(PermissionDenied):
        ticket_actions.link_claimed_customer(
            conversation.ticket, acting_user=visitor, verification=verification
        )
    assert Ticket.objects.get(pk=conversation.ticket_id).customer != customer
