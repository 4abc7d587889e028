"""What the agent console is sent: the "chat" frame's customer panel."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from accounts.app_identity import AUDIENCE_CHAT, sign, verify
from accounts.models import Transaction
from chat import actions, selectors
from tests.accounts.security_helpers import strong_verification
from tickets import actions as ticket_actions
from tickets.models import Channel, Queue

pytestmark = pytest.mark.django_db


def test_the_chat_frame_links_the_customer_wallet_and_earlier_tickets_once_verified(
    customer, agent
):
    security = Queue.objects.create(name="Security", slug="security")
    earlier = ticket_actions.open_ticket(
        customer=customer, channel=Channel.EMAIL, subject="Card", acting_user=None
    )
    wallet = customer.wallets.get()
    wallet.status, wallet.lock_reason = "locked", "wrong_password"
    wallet.save()
    Transaction.objects.create(
        account=wallet,
        reference="T1",
        amount=Decimal("88.00"),
        merchant="Metro",
        status="failed",
        failure_reason="wrong_password",
        occurred_at=timezone.now(),
    )
    conversation = actions.start_conversation(
        session_key="s", contact="li.wei@example.com", queue=security
    )
    # A typed contact is a claim: the frame names the claimed customer, masked, and
    # carries nothing of theirs.
    claimed = selectors.chat_frame(conversation, agent=agent)
    assert claimed["claim"] == {"name": "Li Wei", "contact": "li***@example.com"}
    assert claimed["customer"]["wallets"] == [] and claimed["customer"]["earlier_tickets"] == []
    text = str(claimed)
    for private in ("1024.50", "T1", "Metro", earlier.reference, wallet.number):
        assert private not in text
    verification = strong_verification(conversation.ticket, wallet, agent)
    ticket_actions.link_claimed_customer(
        conversation.ticket, acting_user=agent, verification=verification
    )
    conversation = actions.conversation_for_agent(conversation.pk, user=agent)
    with translation.override("zh-hans"):
        frame = selectors.chat_frame(conversation, agent=agent)
    assert frame["claim"] is None and not frame["verified_by_app"]
    assert frame["queue"] == {"slug": "security", "name": "Security"}
    panel = frame["customer"]
    assert panel["url"] == reverse("admin:accounts_customer_change", args=[customer.pk])
    [shown] = panel["wallets"]
    assert shown["url"] == reverse("admin:accounts_walletaccount_change", args=[wallet.pk])
    assert shown["balance"] == "1024.50" and shown["currency"] == "CNY"
    assert shown["lock_reason"] == "wrong_password"
    assert shown["lock_reason_label"] == "支付密码错误次数过多"
    assert [txn["reference"] for txn in shown["recent_failed"]] == ["T1"]
    assert panel["earlier_tickets"] == [
        {
            "reference": earlier.reference,
            "subject": "Card",
            "url": reverse("admin:tickets_ticket_change", args=[earlier.pk]),
        }
    ]
    # contact details stay masked: neither the address nor the number in full
    text = str(panel)
    assert "li.wei@example.com" not in text
    assert panel["contact"] == "li***@example.com"  # what the customer typed, masked too
    assert "13800138000" not in text and "110101199003071234" not in text


def test_an_unlocked_wallet_has_no_lock_reason_label(customer):
    app = verify(sign(customer.wallets.get(), audience=AUDIENCE_CHAT), audience=AUDIENCE_CHAT)
    conversation = actions.start_conversation(session_key="s", app=app)
    assert selectors.chat_frame(conversation, agent=None)["verified_by_app"]
    [shown] = selectors.chat_frame(conversation, agent=None)["customer"]["wallets"]
    assert shown["lock_reason_label"] == "" and frame_queue(conversation) is None


def frame_queue(conversation):
    return selectors.chat_frame(conversation, agent=None)["queue"]
