"""No full value in any agent view (issue 16, point 3): a customer's mail holding an ID
number, a card number, a phone number, an email address and a passport number (and a card
number in its subject) is read on every page an agent opens and every API answer a key
gets; each shows the masked forms only, before and after an agent reveals one value.

The message is received as any mail is; its text is then protected the way the thread
stores it (tests.tickets.test_personal_data_reveal.values_of), while its subject and the
ticket's preview stay as the sender wrote them, so the pages' own masking is tested too.
"""

import pytest
from django.urls import reverse

from tests.tickets import factories
from tests.tickets.test_personal_data_reveal import values_of
from tickets import actions
from tickets.models import InboundMessage, Message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_at_once")]

FULL = {
    "id_number": "110101199003074514",
    "card": "6222021234567890123",
    "phone": "13912345678",
    "email": "wang.fang@example.net",
    "passport": "E12345678",
}
TEXT = (
    f"我的身份证号是{FULL['id_number']}，银行卡号{FULL['card']}，新手机号{FULL['phone']}，"
    f"邮箱 {FULL['email']}，passport {FULL['passport']}"
)
SUBJECT = f"Card {FULL['card']} blocked"


@pytest.fixture
def message(customer):
    received = actions.receive(factories.email("li.wei@example.com", text=TEXT, subject=SUBJECT))
    message = received.ticket.messages.get(direction=Message.Direction.INBOUND)
    InboundMessage.objects.create(
        channel="email", raw=b"(raw)", sha256="0" * 64, reason=f"Unreadable: {TEXT}"
    )
    assert {value.kind for value in values_of(message)} == set(FULL)
    return message


def assert_masked_only(text: str, where: str) -> None:
    for kind, value in FULL.items():
        assert value not in text, f"the full {kind} is on {where}"


def agent_pages(message) -> list[str]:
    ticket = message.ticket
    return [
        reverse("admin:tickets_ticket_change", args=[ticket.pk]),
        reverse("admin:tickets_ticket_changelist"),
        reverse("admin:tickets_ticket_changelist") + "?q=blocked",
        reverse("admin:tickets_message_changelist"),
        reverse("admin:tickets_message_change", args=[message.pk]),
        reverse("admin:tickets_ticketevent_changelist"),
        reverse("admin:accounts_customer_change", args=[ticket.customer_id]),
        reverse("admin:accounts_accountevent_changelist"),
        reverse("admin:tickets_inboundmessage_changelist"),
    ]


def test_no_agent_page_shows_a_full_value(message, agent_client):
    masked = {value.kind: value.masked for value in message.sensitive_values.all()}
    ticket_page = agent_client.get(agent_pages(message)[0]).content.decode()
    for kind in FULL:
        assert masked[kind] in ticket_page
    for url in agent_pages(message):
        response = agent_client.get(url)
        assert response.status_code == 200, url
        assert_masked_only(response.content.decode(), url)


def test_after_a_reveal_the_pages_and_the_audit_still_show_masked_forms(
    message, agent, agent_client
):
    card = message.sensitive_values.get(kind="card")
    url = reverse("admin:tickets_ticket_reveal", args=[message.ticket_id, card.pk])
    reason = f"Customer asks to confirm the card number {FULL['card']}"
    assert agent_client.post(url, {"reason": reason}).json() == {"value": FULL["card"]}
    for url in agent_pages(message):
        page = agent_client.get(url).content.decode()
        assert_masked_only(page, url)
    history = agent_client.get(agent_pages(message)[0]).content.decode()
    assert card.masked in history and "Customer asks to confirm" in history
