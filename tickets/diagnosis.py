"""Payment-failure diagnosis: does a customer's message speak of a failed payment, which of
their payments failed lately, why, and what they can do about it.

Two readers use it. The ticket page shows the agent the customer's latest failed
transactions with the cause and the steps for each (in the agent's language), and offers
the explanation to send (in the customer's). The chat answers a customer the MY Wallet app
proved at once with their own payment's explanation; a customer we only have a claim for
gets the general causes, never a transaction (`general_explanation`).

`mentions_failed_payment` is a small classifier, not one regular expression: Chinese
phrases of a payment word close to a failure word, and English sentences holding both a
payment word and a failure cue (or "can't pay"), so "payment succeeded" or "I want to pay
my bill" are not taken for a failure.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Customer, Transaction

from .models import Message

Reason = Transaction.FailureReason

# How far back a failed transaction still explains a message, and how many are shown.
RECENT = timedelta(days=30)
SHOWN = 3

# --- detection ------------------------------------------------------------------------------

_ZH_PAYMENT = "支付|付款|扣款|交易|充值|转账|付钱|买单|结账|刷卡"
_ZH_FAILURE = "失败|不成功|没成功|未成功|被拒|异常|出错|报错|不了"
_ZH = re.compile(
    rf"(?:{_ZH_PAYMENT})[^，。！？；,.!?;]{{0,6}}?(?:{_ZH_FAILURE})"
    r"|付不了|付不出|无法(?:支付|付款)|不能(?:支付|付款)|支付不了|钱付不"
)
_EN_PAYMENT = re.compile(
    r"\b(?:pay|paid|paying|payments?|transactions?|cards?|top[- ]?ups?|topping up|"
    r"transfers?|purchases?|charges?|checkout|check out|orders?)\b"
)
_EN_FAILURE = re.compile(
    r"\b(?:fail(?:s|ed|ing|ure)?|declin(?:e|ed|es|ing)|reject(?:ed|s)?|bounced|"
    r"(?:didn't|did not|won't|will not|doesn't|does not|isn't|is not|not) go(?:ing)? through)\b"
)
_EN_UNABLE = re.compile(
    r"\b(?:can't|cannot|can not|couldn't|could not|unable to|won't let me)\s+"
    r"(?:\w+\s+){0,2}?(?:pay(?:ments?)?|top[- ]?up|transfer|buy|check ?out)\b"
)
_EN_NOT_FAILED = re.compile(r"\b(?:didn't|did not|never|not|no)\s+fail")
_SENTENCES = re.compile(r"[.!?\n;]+")


def mentions_failed_payment(text: str) -> bool:
    """Whether ``text`` (a subject and a message, Chinese or English) says a payment failed."""
    text = (text or "").replace("\u2019", "'").lower()
    if _ZH.search(text):
        return True
    return any(_sentence_says_failed(sentence) for sentence in _SENTENCES.split(text))


def _sentence_says_failed(sentence: str) -> bool:
    if _EN_UNABLE.search(sentence):
        return True
    if _EN_NOT_FAILED.search(sentence):
        return False
    return bool(_EN_PAYMENT.search(sentence) and _EN_FAILURE.search(sentence))


# --- the causes and their steps -------------------------------------------------------------


@dataclass(frozen=True)
class Cause:
    """Why a payment fails (completing "... failed because ..."), and what to do."""

    because: str
    steps: tuple[str, ...]


CAUSES = {
    Reason.NETWORK: Cause(
        gettext_lazy("the connection dropped before the payment was confirmed"),
        (
            gettext_lazy("Check your phone's connection (switch between Wi-Fi and mobile data)."),
            gettext_lazy("Try again: a payment that failed was not charged."),
            gettext_lazy("If it keeps failing, update or reinstall the app, or clear its cache."),
        ),
    ),
    Reason.INSUFFICIENT_BALANCE: Cause(
        gettext_lazy("your wallet balance was not enough"),
        (
            gettext_lazy("Top up your wallet, or choose one of your bank cards to pay with."),
            gettext_lazy("Then try the payment again."),
        ),
    ),
    Reason.WRONG_PASSWORD: Cause(
        gettext_lazy("the payment password entered was wrong"),
        (
            gettext_lazy("Enter your payment password again, carefully."),
            gettext_lazy(
                "Forgot it? Reset it yourself in the app or at /account/ with a code sent "
                "to your registered phone."
            ),
            gettext_lazy(
                "After 5 wrong tries the wallet is locked to protect you; then contact us."
            ),
        ),
    ),
    Reason.RISK_BLOCKED: Cause(
        gettext_lazy("our risk control stopped it to protect your account"),
        (
            gettext_lazy("Contact us so an agent can verify your identity and release it."),
            gettext_lazy(
                "Never share a verification code or password with anyone, even someone "
                "who says they are from MY Wallet."
            ),
        ),
    ),
    Reason.CARD_DECLINED: Cause(
        gettext_lazy("your bank declined the card"),
        (
            gettext_lazy("Check the card is valid and has enough credit, or call your bank."),
            gettext_lazy("Or pay with your wallet balance or another card."),
        ),
    ),
    Reason.LIMIT_EXCEEDED: Cause(
        gettext_lazy("the amount is over your single or daily limit"),
        (
            gettext_lazy("Pay a smaller amount, or wait until the daily limit resets."),
            gettext_lazy("Verify your identity in the app to raise your limits."),
        ),
    ),
    Reason.ACCOUNT_LOCKED: Cause(
        gettext_lazy("your wallet is locked or frozen"),
        (
            gettext_lazy("Contact us so an agent can verify your identity and unlock it."),
            gettext_lazy("Never share a verification code or password with anyone."),
        ),
    ),
    Reason.OTHER: Cause(
        gettext_lazy("of a problem on our side or the merchant's"),
        (
            gettext_lazy("Try again in a few minutes."),
            gettext_lazy("If it fails again, reply here and an agent will look into it."),
        ),
    ),
}

# The causes the general explanation names, most common first.
GENERAL = (
    Reason.NETWORK,
    Reason.INSUFFICIENT_BALANCE,
    Reason.WRONG_PASSWORD,
    Reason.RISK_BLOCKED,
)


# --- a customer's failed payments -----------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One failed transaction and why it failed."""

    transaction: Transaction
    cause: Cause


def diagnose(customer: Customer | None, now: datetime) -> list[Finding]:
    """The customer's latest failed transactions (at most ``SHOWN``, within ``RECENT`` of
    ``now``), newest first, each with its cause. One query."""
    if customer is None:
        return []
    failed = Transaction.objects.filter(
        account__customer=customer,
        status=Transaction.Status.FAILED,
        occurred_at__gte=now - RECENT,
        occurred_at__lte=now,
    ).order_by("-occurred_at", "-pk")[:SHOWN]
    return [
        Finding(transaction=txn, cause=CAUSES.get(txn.failure_reason, CAUSES[Reason.OTHER]))
        for txn in failed
    ]


def amount_text(txn: Transaction) -> str:
    """¥128.00 for yuan, else the amount and its currency code."""
    return f"¥{txn.amount}" if txn.currency == "CNY" else f"{txn.amount} {txn.currency}"


def when_text(moment: datetime, now: datetime) -> str:
    """The local time (settings.TIME_ZONE): "14:02" today, "12-03 14:02" on another day."""
    local = timezone.localtime(moment)
    same_day = local.date() == timezone.localtime(now).date()
    return local.strftime("%H:%M" if same_day else "%m-%d %H:%M")


def explanation(findings: list[Finding], now: datetime) -> str:
    """The explanation of the customer's own failed payments, in the active language:
    what failed, when and why, then the steps. Only for a customer we know (the app's
    token, an agent's strong verification): it names their transactions."""
    parts = []
    for finding in findings:
        txn = finding.transaction
        target = txn.merchant or txn.get_kind_display()
        parts.append(
            _("Your %(kind)s of %(amount)s to %(target)s at %(time)s failed because %(cause)s.")
            % {
                "kind": txn.get_kind_display().lower(),
                "amount": amount_text(txn),
                "target": target,
                "time": when_text(txn.occurred_at, now),
                "cause": finding.cause.because,
            }
            + "\n"
            + _steps(finding.cause)
        )
    return "\n\n".join(parts)


def general_explanation() -> str:
    """The common causes and their first steps, naming nothing of any customer: what a
    customer we only have a claim for is told."""
    lines = [_("A payment usually fails for one of these reasons:")]
    for reason in GENERAL:
        cause = CAUSES[reason]
        lines.append(f"- {Reason(reason).label}: {cause.steps[0]}")
    lines.append(
        _(
            "To see what happened to your own payment, open this chat from the MY Wallet app, "
            "so that we know it is you."
        )
    )
    return "\n".join(lines)


def customer_text(findings: list[Finding], now: datetime) -> str:
    """What the customer is told, in the active language: their own failed payments when
    there are findings (only ever given for a customer we know), else the general causes."""
    return explanation(findings, now) if findings else general_explanation()


def _steps(cause: Cause) -> str:
    return "\n".join(f"- {step}" for step in cause.steps)


def ticket_diagnosis(ticket, thread, now: datetime) -> list[Finding] | None:
    """The findings for the ticket page when the ticket's subject or a customer's message
    in ``thread`` (its messages, already read) speaks of a failed payment; else None."""
    texts = [ticket.subject, *(m.text for m in thread if m.direction == Message.Direction.INBOUND)]
    if not any(mentions_failed_payment(text) for text in texts):
        return None
    return diagnose(ticket.customer, now)
