"""Pure checks behind identity verification and protected changes.

A caller's answers are compared with the wallet (registered phone, registered email, one
recent transaction matched with tolerance); national ID numbers are validated by their
check digit. Nothing here writes: accounts.actions.security records the result.
"""

import difflib
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .identities import normalise_email, normalise_phone
from .models import Transaction, WalletAccount

# The names of the checks, as stored in Verification.checks_passed / checks_failed.
PHONE = "phone"
EMAIL = "email"
TRANSACTION = "transaction"
CODE_PHONE = "code_phone"
CODE_EMAIL = "code_email"
BY_APP = "app_token"  # a valid identity token from the MY Wallet app (no agent)
KNOWLEDGE_CHECKS = (PHONE, EMAIL, TRANSACTION)
CHECK_LABELS = {
    PHONE: gettext_lazy("registered phone"),
    EMAIL: gettext_lazy("registered email"),
    TRANSACTION: gettext_lazy("recent transaction"),
    CODE_PHONE: gettext_lazy("code by SMS"),
    CODE_EMAIL: gettext_lazy("code by email"),
    BY_APP: gettext_lazy("signed in to the MY Wallet app"),
}


def check_label(check: str) -> str:
    return str(CHECK_LABELS.get(check, check))


def code_check(channel: str) -> str:
    """The check name of a correct one-time code sent by ``channel`` (phone or email)."""
    return CODE_PHONE if channel == "phone" else CODE_EMAIL


@dataclass(frozen=True)
class Answers:
    """What the caller said, normalised; blanks are questions not asked."""

    phone: str = ""
    email: str = ""
    amount: Decimal | None = None
    day: date | None = None
    merchant: str = ""

    @property
    def asked(self) -> bool:
        return bool(self.phone or self.email or self.amount is not None)


def normalise_answers(raw: dict) -> Answers:
    """Turn the agent's form input into comparable values. Unparseable answers stay as typed
    (they will simply not match); a transaction answer needs at least its amount."""
    phone = (raw.get("phone") or "").strip()
    if phone:
        try:
            phone = normalise_phone(phone)
        except ValidationError:
            phone = re.sub(r"\s+", "", phone)
    email = (raw.get("email") or "").strip()
    if email:
        try:
            email = normalise_email(email)
        except ValidationError:
            email = email.lower()
    amount = raw.get("transaction_amount")
    if amount in (None, ""):
        amount = None
    else:
        try:
            amount = Decimal(str(amount).replace(",", "").strip())
        except InvalidOperation:
            amount = None
    day = raw.get("transaction_date") or None
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day.strip())
        except ValueError:
            day = None
    merchant = " ".join((raw.get("transaction_merchant") or "").split()).casefold()
    return Answers(phone=phone, email=email, amount=amount, day=day, merchant=merchant)


def check_answers(account: WalletAccount, answers: Answers) -> tuple[list[str], list[str]]:
    """The knowledge checks passed and failed. A question not asked is neither."""
    passed, failed = [], []
    if answers.phone:
        ok = bool(account.registered_phone) and answers.phone == account.registered_phone
        (passed if ok else failed).append(PHONE)
    if answers.email:
        registered = (account.registered_email or "").lower()
        ok = bool(registered) and answers.email == registered
        (passed if ok else failed).append(EMAIL)
    if answers.amount is not None:
        (passed if _matching_transaction(account, answers) else failed).append(TRANSACTION)
    return passed, failed


def _matching_transaction(account: WalletAccount, answers: Answers) -> Transaction | None:
    """One of the recent transactions whose amount (within the tolerance), day (give or
    take VERIFICATION_DAY_TOLERANCE) and merchant (fuzzy) all match what the caller said."""
    now = timezone.now()
    since = now - timedelta(days=settings.VERIFICATION_TRANSACTION_DAYS)
    tolerance = Decimal(settings.VERIFICATION_AMOUNT_TOLERANCE_PERCENT) / 100
    low = answers.amount * (1 - tolerance)
    high = answers.amount * (1 + tolerance)
    candidates = account.transactions.filter(
        occurred_at__gte=since, amount__gte=low, amount__lte=high
    ).order_by("-occurred_at")[:50]
    for txn in candidates:
        if answers.day is not None:
            local_day = timezone.localdate(txn.occurred_at)
            if abs((local_day - answers.day).days) > settings.VERIFICATION_DAY_TOLERANCE:
                continue
        if answers.merchant and not merchant_matches(answers.merchant, txn.merchant):
            continue
        return txn
    return None


def merchant_matches(said: str, merchant: str) -> bool:
    """'starbucks' matches 'Starbucks Coffee (Shanghai)'; '星巴克' matches '星巴克咖啡'."""
    said = " ".join(said.split()).casefold()
    merchant = " ".join((merchant or "").split()).casefold()
    if not said or not merchant:
        return False
    if len(said) >= 2 and (said in merchant or merchant in said):
        return True
    ratio = difflib.SequenceMatcher(None, said, merchant).ratio()
    return ratio * 100 >= settings.VERIFICATION_MERCHANT_SIMILARITY


def answers_digest(answers: Answers) -> str:
    """A keyed digest of the normalised answers: proves later what was asked and said
    (recompute and compare) without keeping the answers themselves."""
    data = json.dumps(
        {
            "phone": answers.phone,
            "email": answers.email,
            "amount": str(answers.amount) if answers.amount is not None else "",
            "day": answers.day.isoformat() if answers.day else "",
            "merchant": answers.merchant,
        },
        sort_keys=True,
    )
    return salted_hmac("accounts.verification.answers", data, algorithm="sha256").hexdigest()


# --- national ID numbers ------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def validate_national_id(value: str) -> str:
    """An 18-character PRC resident ID number (GB 11643): 17 digits, a valid birth date,
    and the ISO 7064 MOD 11-2 check character. Returns it upper-cased."""
    value = (value or "").strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise ValidationError(_("A national ID number has 17 digits followed by a digit or X."))
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValidationError(_("This national ID number has no valid birth date.")) from None
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != value[17]:
        raise ValidationError(_("This national ID number's check digit is wrong."))
    return value
