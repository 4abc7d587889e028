"""Revealing a value a customer wrote in a message (issue 16, point 3): only to a role that
holds the permission, only with a strong verification on the ticket or a typed reason, and
always audited, in the customer's chained trail and the ticket's history, without the value.
"""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from accounts.audit import verify_chain
from accounts.event_text import event_sentence
from accounts.models import AccountEvent
from tests.accounts.security_helpers import strong_verification
from tests.tickets import factories
from tickets import actions
from tickets.history import ticket_history
from tickets.models import Message, SensitiveValue, TicketEvent
from tickets.personal_data import protect, value_rows

pytestmark = pytest.mark.django_db

ID_NUMBER = "110101199003074514"
CARD = "6222021234567890123"
SAMPLE = f"我的身份证号是{ID_NUMBER}，银行卡号{CARD}，新手机号13912345678"
REASON = "Customer asks which card the refund went to"


def values_of(message: Message) -> list[SensitiveValue]:
    """The message's values. Until the thread stores messages protected (the "rest" lane of
    issue 16), they are written here the way it will: protect() and value_rows()."""
    if not message.sensitive_values.exists():
        protected = protect(message.text)
        Message.objects.filter(pk=message.pk).update(text=protected.text)
        SensitiveValue.objects.bulk_create(value_rows(message.pk, protected.found))
    return list(message.sensitive_values.order_by("position"))


@pytest.fixture
def message(customer):
    received = actions.receive(factories.email("li.wei@example.com", text=SAMPLE))
    return received.ticket.messages.get(direction=Message.Direction.INBOUND)


def test_an_agent_reveals_a_value_with_a_reason(message, agent):
    id_number, card, _phone = values_of(message)
    assert actions.reveal(card, acting_user=agent, reason=REASON) == CARD
    assert actions.reveal(id_number, acting_user=agent, reason=REASON) == ID_NUMBER


def test_a_reveal_is_refused_without_a_reason_or_verification(message, agent):
    card = values_of(message)[1]
    for reason in ["", "   ", "because", "         x"]:
        with pytest.raises(ValidationError) as refused:
            actions.reveal(card, acting_user=agent, reason=reason)
        assert refused.value.code == "reason_required"
    assert not AccountEvent.objects.filter(action="personal_data_revealed").exists()
    assert not TicketEvent.objects.filter(kind="value_revealed").exists()


def test_a_strong_verification_on_the_ticket_needs_no_reason(message, customer, agent):
    card = values_of(message)[1]
    assert actions.reason_needed(message.ticket, agent)
    strong_verification(message.ticket, customer.wallets.get(), agent)
    assert not actions.reason_needed(message.ticket, agent)
    assert actions.reveal(card, acting_user=agent) == CARD
    event = AccountEvent.objects.get(action="personal_data_revealed")
    assert event.reason == "" and event.details["verified"] is True


def test_a_colleagues_verification_does_not_count(message, customer, agent, other_agent):
    card = values_of(message)[1]
    strong_verification(message.ticket, customer.wallets.get(), other_agent)
    with pytest.raises(ValidationError):
        actions.reveal(card, acting_user=agent)


def test_a_role_without_the_permission_is_refused(message, agent, django_user_model):
    card = values_of(message)[1]
    agent.groups.clear()
    agent = django_user_model.objects.get(pk=agent.pk)  # no cached permissions
    assert not actions.may_reveal(agent)
    with pytest.raises(PermissionDenied):
        actions.reveal(card, acting_user=agent, reason=REASON)
    with pytest.raises(PermissionDenied):
        actions.reveal(card, acting_user=None, reason=REASON)


def test_agents_and_supervisors_hold_the_permission(agent, supervisor):
    assert actions.may_reveal(agent) and actions.may_reveal(supervisor)
    assert agent.has_perm("tickets.reveal_sensitivevalue")


def test_the_reveal_is_audited_without_the_value(message, customer, agent):
    card = values_of(message)[1]
    actions.reveal(card, acting_user=agent, reason=f"{REASON}; his card number is {CARD}")
    event = AccountEvent.objects.get(action="personal_data_revealed")
    assert event.customer == customer and event.ticket == message.ticket
    assert event.actor == agent and event.actor_kind == "agent"
    assert event.details == {
        "kind": "card",
        "masked": card.masked,
        "message": message.pk,
        "sensitive_value": card.pk,
        "verified": False,
    }
    assert event.reason.startswith(REASON)
    stored = json.dumps([event.reason, event.details]) + json.dumps(
        TicketEvent.objects.get(kind="value_revealed").data
    )
    assert CARD not in stored and ID_NUMBER not in stored
    assert card.masked in event.reason  # the reason's own copy is masked too
    assert verify_chain().intact


def test_the_history_and_the_audit_trail_say_it_in_both_languages(message, agent):
    card = values_of(message)[1]
    actions.reveal(card, acting_user=agent, reason=REASON)
    event = AccountEvent.objects.get(action="personal_data_revealed")
    with translation.override("en"):
        line = ticket_history(message.ticket)[-1].sentence
        assert line == (
            f"agent revealed personal data: Bank card number {card.masked} in message "
            f"#{message.pk}: “{REASON}”"
        )
        assert event_sentence(event) == (
            f"agent revealed personal data written in a message ({card.masked} in message "
            f"#{message.pk})"
        )
    with translation.override("zh-hans"):
        line = ticket_history(message.ticket)[-1].sentence
        assert "查看了" in line and card.masked in line and CARD not in line
        assert "查看了" in event_sentence(event)
