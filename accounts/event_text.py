"""An account event (AccountEvent) as one sentence an agent reads, in their language and
time zone: "Wang Fang verified the caller's identity by registered phone and code by SMS
(expires 07:52)", never a dump of the row's JSON.

One sentence per action (`SENTENCES`, checked for every choice by the tests); the details
a sentence names are chosen ones (the checks passed, a lock reason, a masked contact),
translated, and masked once more on the way out. Times are shown in the current time zone
(the agent's, activated by workspace.middleware).
"""

import re
from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mywallet_support.logging import mask_personal_data
from mywallet_support.masking import mask_identity

from .models import AccountEvent, CustomerIdentity, Transaction, WalletAccount
from .verification import check_label

Action = AccountEvent.Action
# A sentence whose detail is empty drops its brackets: "locked the wallet ()".
_EMPTY_BRACKETS = re.compile(r"\s*[(（]\s*[)）]")
_CJK = re.compile(r"[\u4e00-\u9fff]")

# Each action's sentence: %(actor)s is who did it, %(detail)s what the row adds (may be "").
SENTENCES = {
    Action.CUSTOMER_CREATED: gettext_lazy("%(actor)s created the customer from %(detail)s"),
    Action.IDENTITY_ADDED: gettext_lazy("%(actor)s added the contact %(detail)s"),
    Action.CUSTOMERS_MERGED: gettext_lazy("%(actor)s merged two customer records"),
    Action.UNLOCK: gettext_lazy("%(actor)s unlocked the wallet"),
    Action.LOCK: gettext_lazy("%(actor)s locked the wallet (%(detail)s)"),
    Action.FREEZE: gettext_lazy("%(actor)s froze the wallet (%(detail)s)"),
    Action.UNFREEZE: gettext_lazy("%(actor)s unfroze the wallet"),
    Action.PAYMENT_PASSWORD_RESET: gettext_lazy("%(actor)s reset the payment password"),
    Action.CONTACT_CHANGED: gettext_lazy("%(actor)s changed the registered contact %(detail)s"),
    Action.NATIONAL_ID_CHANGED: gettext_lazy("%(actor)s changed the national ID number %(detail)s"),
    Action.IDENTITY_VERIFIED: gettext_lazy(
        "%(actor)s verified the caller's identity by %(detail)s (expires %(time)s)"
    ),
    Action.VERIFICATION_FAILED: gettext_lazy(
        "%(actor)s could not verify the caller's identity (failed: %(detail)s)"
    ),
    Action.CODE_SENT: gettext_lazy("%(actor)s sent a one-time code %(detail)s"),
    Action.CODE_FAILED: gettext_lazy("A wrong one-time code was entered (%(detail)s)"),
    Action.UNFREEZE_REQUESTED: gettext_lazy("%(actor)s asked a supervisor to unfreeze the wallet"),
    Action.APPROVAL_REJECTED: gettext_lazy("%(actor)s rejected the request"),
    Action.NATIONAL_ID_CHANGE_REQUESTED: gettext_lazy(
        "%(actor)s asked a supervisor to change the national ID number"
    ),
    Action.PAYMENT_PASSWORD_FAILED: gettext_lazy(
        "A wrong payment password was entered (%(detail)s)"
    ),
    Action.PAYMENT_FAILED: gettext_lazy("A payment failed: %(detail)s"),
    Action.RISK_ALERT: gettext_lazy("The risk rules raised an alert"),
    Action.CUSTOMER_NOTIFIED: "%(detail)s",  # the notice names itself: notice_sent
    Action.PERSONAL_DATA_REVEALED: gettext_lazy(
        "%(actor)s revealed personal data written in a message (%(detail)s)"
    ),
}


# A verification with no expiry recorded (the app's sign-in names none).
VERIFIED_FOR_GOOD = gettext_lazy("%(actor)s verified the caller's identity by %(detail)s")


def event_sentence(event: AccountEvent) -> str:
    """``event`` as one sentence in the active language and time zone."""
    details = event.details if isinstance(event.details, dict) else {}
    verification = event.verification if isinstance(event.verification, dict) else {}
    describe = _DETAILS.get(event.action, _nothing)
    sentence = SENTENCES[event.action]
    expires = local_time(verification.get("expires_at"))
    if event.action == Action.IDENTITY_VERIFIED and not expires:
        sentence = VERIFIED_FOR_GOOD
    sentence = sentence % {
        "actor": actor_name(event),
        "detail": describe(details, verification),
        "time": expires,
    }
    return mask_personal_data(_EMPTY_BRACKETS.sub("", sentence).strip())


def staff_name(user) -> str:
    """An agent as the history names them: their full name (a Chinese name family name
    first, "周小雨"), else their username."""
    if _CJK.search(user.first_name + user.last_name):
        return f"{user.last_name}{user.first_name}"
    return user.get_full_name() or user.get_username()


def actor_name(event: AccountEvent) -> str:
    """The agent's name, else who the row names: the customer or the system."""
    if event.actor is not None:
        return staff_name(event.actor)
    if event.actor_kind == AccountEvent.ActorKind.CUSTOMER:
        return _("The customer")
    return _("The system")


def local_time(value) -> str:
    """A stored time (a datetime or ISO text) as the agent reads it: "07:52" today, else
    with its date, in the current time zone."""
    moment = value if isinstance(value, datetime) else parse_datetime(str(value or ""))
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    if local.date() == timezone.localdate():
        return date_format(local, "H:i")
    return date_format(local, "Y-m-d H:i")


def and_list(items: Iterable[str]) -> str:
    """ "a, b and c" in the active language ("a、b和c")."""
    items = [str(item) for item in items if item]
    if len(items) < 2:
        return "".join(items)
    return _("%(first)s and %(last)s") % {
        "first": _(", ").join(items[:-1]),
        "last": items[-1],
    }


def masked(kind: str, value: str) -> str:
    """A contact masked, unless its writer already masked it."""
    return value if "*" in value else mask_identity(kind, value)


def _nothing(details: dict, verification: dict) -> str:
    return ""


def _contact(details: dict, verification: dict) -> str:
    kind = details.get("kind", "")
    label = dict(CustomerIdentity.Kind.choices).get(kind, kind)
    return f"{label} {masked(kind, str(details.get('value', '')))}".strip()


def _lock_reason(details: dict, verification: dict) -> str:
    reason = details.get("lock_reason", "")
    return str(dict(WalletAccount.LockReason.choices).get(reason, "")) if reason else ""


def _old_and_new(details: dict, verification: dict) -> str:
    if not details.get("old") and not details.get("new"):
        return ""
    return f"{details.get('old') or '—'} → {details.get('new') or '—'}"


def _checks(names) -> str:
    return and_list(check_label(name) for name in names or [])


def _verified(details: dict, verification: dict) -> str:
    return _checks(verification.get("passed") or [verification.get("method", "")])


def _failed_checks(details: dict, verification: dict) -> str:
    return _checks(verification.get("failed")) or _("no check passed")


def _code_sent(details: dict, verification: dict) -> str:
    channel = details.get("channel", "")
    destination = details.get("destination", "")
    if channel == "email":
        return _("by email to %(to)s") % {"to": destination}
    return _("by SMS to %(to)s") % {"to": destination}


def _failures(details: dict, verification: dict) -> str:
    return _("%(count)s wrong so far") % {"count": details.get("failures", "?")}


def _password_attempts(details: dict, verification: dict) -> str:
    return _("%(attempts)s of %(limit)s attempts") % {
        "attempts": details.get("attempts", "?"),
        "limit": details.get("limit", "?"),
    }


def _payment(details: dict, verification: dict) -> str:
    reason = details.get("reason", "")
    return _("%(currency)s %(amount)s to %(merchant)s, %(reason)s") % {
        "currency": details.get("currency", ""),
        "amount": details.get("amount", ""),
        "merchant": details.get("merchant", ""),
        "reason": dict(Transaction.FailureReason.choices).get(reason, reason) or _("no reason"),
    }


def _notified(details: dict, verification: dict) -> str:
    return notice_sent(details.get("sms") or [], details.get("email") or [])


def notice_sent(phones: list[str], emails: list[str]) -> str:
    """What a wallet notice did, masked, naming only the contacts it really went to:
    "Notice sent by SMS to 138****8001; no email address on file"."""
    phones = [masked("phone", value) for value in phones]
    emails = [masked("email", value) for value in emails]
    by_sms = _("by SMS to %(to)s") % {"to": and_list(phones)} if phones else ""
    by_email = _("by email to %(to)s") % {"to": and_list(emails)} if emails else ""
    if by_sms and by_email:
        return _("Notice sent %(first)s and %(last)s") % {"first": by_sms, "last": by_email}
    if by_sms:
        return _("Notice sent %(sent)s; no email address on file") % {"sent": by_sms}
    if by_email:
        return _("Notice sent %(sent)s; no phone number on file") % {"sent": by_email}
    return _("Notice not sent: no phone number or email address on file")


def _revealed(details: dict, verification: dict) -> str:
    """The value's masked form and the message it is in; the reason is the row's own.
    A raw payload's read (the same action) names no value: no detail."""
    if not details.get("masked"):
        return ""
    return _("%(masked)s in message #%(id)s") % {
        "masked": details["masked"],
        "id": details.get("message", "?"),
    }


_DETAILS = {
    Action.PERSONAL_DATA_REVEALED: _revealed,
    Action.CUSTOMER_CREATED: _contact,
    Action.IDENTITY_ADDED: _contact,
    Action.LOCK: _lock_reason,
    Action.FREEZE: _lock_reason,
    Action.CONTACT_CHANGED: _old_and_new,
    Action.NATIONAL_ID_CHANGED: _old_and_new,
    Action.IDENTITY_VERIFIED: _verified,
    Action.VERIFICATION_FAILED: _failed_checks,
    Action.CODE_SENT: _code_sent,
    Action.CODE_FAILED: _failures,
    Action.PAYMENT_PASSWORD_FAILED: _password_attempts,
    Action.PAYMENT_FAILED: _payment,
    Action.CUSTOMER_NOTIFIED: _notified,
}
