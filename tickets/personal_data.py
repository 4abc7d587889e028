"""Personal data written in messages, protected before it is stored.

`protect` finds the values in a text (mywallet_support.pii: ID and card numbers, phones,
emails, passports) and gives the text with each one masked in its place, and what it found;
`value_rows` turns what was found into SensitiveValue rows (the value encrypted, its keyed
fingerprint for search), to be saved with the message. The thread's rules (which kinds a
message of each direction protects) are tickets.actions.thread's; this module only does it.

A masked form is never found again (it holds "*"), so protecting a text twice changes
nothing: the re-mask command relies on that.
"""

from dataclasses import dataclass, field

from mywallet_support import pii

from .models import Message, SensitiveValue

ALL_KINDS = frozenset({pii.ID_NUMBER, pii.CARD, pii.PHONE, pii.EMAIL, pii.PASSPORT})
# What an agent's answer must never repeat in full: a phone number or an email address in
# an answer is usually the desk's own (the hotline, the support mailbox).
OUTBOUND_KINDS = frozenset({pii.ID_NUMBER, pii.CARD, pii.PASSPORT})


def kinds_for(direction: str) -> frozenset[str]:
    """What a message of ``direction`` keeps masked: an answer (OUTBOUND_KINDS) or anything
    else, a customer's words and notes (ALL_KINDS). The thread stores by this rule and the
    re-mask command applies it to older rows."""
    return OUTBOUND_KINDS if direction == Message.Direction.OUTBOUND else ALL_KINDS


@dataclass(frozen=True)
class Found:
    kind: str
    masked: str
    normalised: str
    fingerprint: str


@dataclass(frozen=True)
class Protected:
    text: str
    found: list[Found] = field(default_factory=list)


def protect(text: str, kinds: frozenset[str] = ALL_KINDS) -> Protected:
    """``text`` with the values of ``kinds`` masked, and the values found, in order."""
    if not text:
        return Protected(text or "")
    found: list[Found] = []

    def masked(span: pii.Span) -> str:
        if span.kind not in kinds or "*" in span.value:
            return span.value
        shown = pii.mask(span.kind, span.normalised)
        found.append(
            Found(span.kind, shown, span.normalised, pii.fingerprint(span.kind, span.normalised))
        )
        return shown

    return Protected(pii.replace(text, masked), found)


def value_rows(message_id: int, found: list[Found], first_position: int = 0):
    """Unsaved SensitiveValue rows of one message, for bulk_create."""
    return [
        SensitiveValue(
            message_id=message_id,
            kind=item.kind,
            position=first_position + index,
            masked=item.masked[:100],
            value=item.normalised,
            fingerprint=item.fingerprint,
        )
        for index, item in enumerate(found)
    ]


def for_customer(text: str) -> str:
    """``text`` as it may leave for the customer: its cards, ID and passport numbers
    masked. The senders' last check, whatever the row they send holds (a row stored before
    messages were protected, or written around thread.append)."""
    return protect(text, OUTBOUND_KINDS).text
