"""Payment-failure diagnosis (issue 14, point 4): the classifier on a corpus in both
languages, the diagnosis of the demo's real failed transactions of every failure reason,
and the answer the ticket page sends, which names a payment only to a verified customer."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from accounts.models import Customer, Transaction
from demo.data import DEMO_CUSTOMERS
from demo.data import seed as seed_demo
from tests.accounts.security_helpers import strong_verification
from tests.accounts.test_customer_texts import asks_for_a_code
from tests.tickets import factories
from tickets import actions, diagnosis
from tickets.actions.payments import customer_explanation
from tickets.models import Message, Ticket, TicketEvent

Reason = Transaction.FailureReason

FAILED_PAYMENTS = [
    "支付失败了，怎么回事？",
    "付款失败",
    "我在超市付不了钱",
    "扣款失败但是钱少了",
    "交易失败，请帮忙查一下",
    "充值一直报错",
    "为什么无法支付",
    "刚才付款没成功",
    "My payment failed at the coffee shop",
    "The payment didn't go through",
    "payment didn\u2019t go through twice",  # a typographic apostrophe
    "I can't pay with my wallet",
    "I cannot make a payment since this morning",
    "My card was declined",
    "Top-up failed again",
    "Why was my transaction rejected?",
    "Subject: failed payment",
]
LOOK_ALIKES = [
    "支付成功，谢谢",
    "如何支付水电费？",
    "我想修改支付密码",
    "付款时拒绝了好友申请",
    "Payment succeeded, thanks!",
    "I want to pay my bill",
    "How do I pay with a bank card?",
    "I declined the invitation to the survey",
    "The payment did not fail, it was fine",
    "The app failed to open after the update",
    "How do I check my transactions?",
    "",
]


@pytest.mark.parametrize("text", FAILED_PAYMENTS)
def test_a_failed_payment_is_recognised(text):
    assert diagnosis.mentions_failed_payment(text)


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_not_taken_for_a_failure(text):
    assert not diagnosis.mentions_failed_payment(text)


# --- the demo's failed transactions -------------------------------------------------------


@pytest.fixture
def demo(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seed_demo()
    return {spec.name: Customer.objects.get(name=spec.name) for spec in DEMO_CUSTOMERS}


def test_the_demo_has_a_failed_transaction_of_every_reason_and_each_is_diagnosed(demo):
    now = timezone.now()
    seen = {}
    for customer in demo.values():
        for finding in diagnosis.diagnose(customer, now):
            txn = finding.transaction
            assert txn.status == Transaction.Status.FAILED
            assert txn.account.customer_id == customer.pk
            assert finding.cause is diagnosis.CAUSES[txn.failure_reason]
            seen[txn.failure_reason] = finding
    assert set(seen) == set(Reason.values) - {Reason.NONE}


def test_findings_are_the_latest_failed_ones_newest_first(demo):
    li_wei = demo["李伟 Li Wei"]
    findings = diagnosis.diagnose(li_wei, timezone.now())
    assert [f.transaction.reference for f in findings] == ["T-DEMO-0102", "T-DEMO-0101"]
    assert [f.transaction.failure_reason for f in findings] == [
        Reason.WRONG_PASSWORD,
        Reason.NETWORK,
    ]
    # Long ago, or not yet: not what the customer writes about now.
    assert diagnosis.diagnose(li_wei, timezone.now() + diagnosis.RECENT * 2) == []
    assert diagnosis.diagnose(None, timezone.now()) == []


@pytest.mark.parametrize(
    ("reason", "english", "chinese"),
    [
        (Reason.NETWORK, "Try again", "重试"),
        (Reason.INSUFFICIENT_BALANCE, "Top up your wallet", "充值"),
        (Reason.WRONG_PASSWORD, "Reset it yourself", "自行重置"),
        (Reason.RISK_BLOCKED, "Never share a verification code", "验证码"),
        (Reason.CARD_DECLINED, "call your bank", "银行"),
        (Reason.LIMIT_EXCEEDED, "smaller amount", "金额"),
        (Reason.ACCOUNT_LOCKED, "unlock it", "解锁"),
        (Reason.OTHER, "an agent will look into it", "客服"),
    ],
)
def test_each_reason_is_explained_with_its_steps_in_both_languages(demo, reason, english, chinese):
    now = timezone.now()
    finding = next(
        f
        for customer in demo.values()
        for f in diagnosis.diagnose(customer, now)
        if f.transaction.failure_reason == reason
    )
    txn = finding.transaction
    local = timezone.localtime(txn.occurred_at)
    with translation.override("en"):
        text = diagnosis.explanation([finding], now)
    assert f"¥{txn.amount}" in text and txn.merchant in text
    assert local.strftime("%H:%M") in text
    assert f"failed because {finding.cause.because}" in text
    assert english in text
    with translation.override("zh-hans"):
        text = diagnosis.explanation([finding], now)
    assert f"¥{txn.amount}" in text and txn.merchant in text and local.strftime("%H:%M") in text
    assert "原因是" in text and chinese in text
    assert "failed because" not in text


def test_the_time_is_local_and_names_the_day_when_not_today(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    now = timezone.make_aware(timezone.datetime(2026, 12, 4, 12, 0), timezone.UTC)
    assert diagnosis.when_text(now - timedelta(hours=6), now) == "14:00"
    assert diagnosis.when_text(now - timedelta(days=1), now) == "12-03 20:00"


def test_the_general_explanation_names_no_payment(demo):
    for language, word in (("en", "balance"), ("zh-hans", "余额")):
        with translation.override(language):
            text = diagnosis.general_explanation()
        assert word in text
        assert "¥" not in text and "Meituan" not in text and "T-DEMO" not in text


# --- the ticket page's answer ---------------------------------------------------------------


@pytest.fixture
def payment_ticket(customer):
    wallet = customer.wallets.get()
    Transaction.objects.create(
        account=wallet,
        reference="T-TEST-1",
        amount=Decimal("128.00"),
        merchant="Metro Coffee",
        status=Transaction.Status.FAILED,
        failure_reason=Reason.INSUFFICIENT_BALANCE,
        occurred_at=timezone.now() - timedelta(minutes=5),
    )
    return actions.receive(factories.email("li.wei@example.com", text="My payment failed")).ticket


@pytest.mark.usefixtures("tasks_at_once")
def test_an_unverified_customer_is_sent_the_general_causes_only(payment_ticket, agent):
    message = actions.send_payment_explanation(payment_ticket, acting_user=agent)

    assert message.direction == Message.Direction.OUTBOUND and message.author == agent
    assert "Metro Coffee" not in message.text and "128.00" not in message.text
    assert "余额" in message.text  # Li Wei reads Chinese (the customer's language)


@pytest.mark.usefixtures("tasks_at_once")
def test_a_verified_customer_is_sent_their_payment_and_the_ticket_is_marked(
    payment_ticket, customer, agent
):
    strong_verification(payment_ticket, customer.wallets.get(), agent)

    message = actions.send_payment_explanation(payment_ticket, acting_user=agent)

    assert "Metro Coffee" in message.text and "¥128.00" in message.text
    ticket = Ticket.objects.get(pk=payment_ticket.pk)
    assert ticket.category == Ticket.Category.TRANSACTION
    assert ticket.related_transaction.reference == "T-TEST-1"
    event = ticket.events.filter(kind=TicketEvent.Kind.CHANGED).get()
    assert event.actor == agent
    assert event.data["category"] == ["other", "transaction"]
    assert event.data["related_transaction"] == [None, ticket.related_transaction_id]


def test_marking_keeps_what_an_agent_chose(payment_ticket, agent):
    actions.update_details(payment_ticket, acting_user=agent, category=Ticket.Category.SECURITY)
    actions.mark_failed_payment(payment_ticket, actor=None)
    actions.mark_failed_payment(payment_ticket, actor=None)  # a second time changes nothing

    ticket = Ticket.objects.get(pk=payment_ticket.pk)
    assert ticket.category == Ticket.Category.SECURITY
    assert ticket.related_transaction.reference == "T-TEST-1"
    assert ticket.events.filter(kind=TicketEvent.Kind.CHANGED, actor=None).count() == 1


def test_the_customers_language_decides_the_explanation(payment_ticket, customer):
    customer.language = Customer.Language.ENGLISH
    customer.save()
    text = customer_explanation(Ticket.objects.get(pk=payment_ticket.pk), private=True)
    assert text.startswith("Your payment of ¥128.00 to Metro Coffee")
    assert "your wallet balance was not enough" in text


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_explanation_asks_the_customer_to_pass_a_code_on(demo, language):
    now = timezone.now()
    findings = [f for customer in demo.values() for f in diagnosis.diagnose(customer, now)]
    with translation.override(language):
        texts = [diagnosis.explanation(findings, now), diagnosis.general_explanation()]
    for text in texts:
        assert asks_for_a_code(text) == [], text
