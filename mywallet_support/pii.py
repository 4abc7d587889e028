"""Personal data in free text: find it, mask it, fingerprint it (pure functions).

Customers paste their ID number, bank card and phone into mail and chat. Everything that
protects those values later (masked views, encrypted spans, search by a typed number) rests
on `find`, so its rules are written down here and tested against a labelled corpus
(tests/fixtures/pii_corpus.py):

- "id_number": a Chinese resident ID, 18 characters whose last is the ISO 7064 MOD 11-2
  check character, or the old 15-digit form; both with a province code that exists and a
  real birth date not in the future. Groups of 6-8-4 (6-6-3) with a space or dash count.
- "card": 13 to 19 digits that pass the Luhn check and start as a card issuer's numbers
  do (ISSUERS: a Luhn pass alone is one number in ten, so dates and references would get
  through), in one piece or in groups of four (Amex: 4-6-5).
- "phone": whatever phonenumbers' matcher finds, China by default, +... for other
  countries; only valid numbers, and not a company's service line (400, 800, premium).
- "email": an ASCII address.
- "passport": a Chinese passport number (E + 8 digits, E + letter + 7, G + 8), only with a
  keyword (护照, passport) nearby: alone it looks like any product code.
- A number with the shape of an ID or a card but a wrong check digit is what a typo of a
  real one looks like; next to an ID keyword (身份证, ID) or a card keyword (卡, card) it
  counts all the same, so a customer's mistyped number is masked too.

Full-width digits, letters and separators (１２３, Ｘ, ＠, the ideographic space) are read
as their ASCII forms; the folding maps one character to one, so every offset refers to the
original text. 〇 is not folded: it only appears among Chinese numerals (二〇二六年), which
are not read, so folding it alone would never complete a number.
"""

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import phonenumbers
from django.conf import settings
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from .masking import mask_email, mask_phone

ID_NUMBER, CARD, PHONE, EMAIL, PASSPORT = "id_number", "card", "phone", "email", "passport"


@dataclass(frozen=True)
class Span:
    kind: str
    start: int
    end: int
    value: str  # as written, from the original text
    normalised: str


# Full-width forms are ASCII shifted by 0xFEE0 (０ is U+FF10); every width of dash and
# space is read as "-" and " ". One character for one: offsets stay put.
_NARROW = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+-.@_%"
_WIDE = "".join(chr(ord(c) + 0xFEE0) for c in _NARROW)
_FOLD = str.maketrans(
    _WIDE + "\u2010\u2011\u2012\u2013\u2014\u2212\u3000\u00a0", _NARROW + "------  "
)

# Groups of digits joined by one space or dash; an ID's last group may end in X.
_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9]+(?:[ -][0-9]+)*[Xx]?(?![0-9A-Za-z])")
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
)
_PASSPORT = re.compile(r"(?<![0-9A-Za-z])(?:[EG][0-9]{8}|E[A-Z][0-9]{7})(?![0-9A-Za-z])", re.I)

# Keywords are looked for this many characters either side of a number.
NEAR = 16
_ID_WORDS = re.compile(r"身份证|身份證|证件|證件|\bid\b|identity", re.I)
_CARD_WORDS = re.compile(r"卡|\bcard\b|\bpan\b", re.I)
_PASSPORT_WORDS = re.compile(r"护照|護照|passport", re.I)

# The first two digits of every province, region and SAR in GB/T 2260.
PROVINCES = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    }
)
# GB 11643: the character at position i (from 0) weighs 2^(17-i) mod 11.
_ID_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]
_ID_CHECK = "10X98765432"

# (first digits low, high, lengths): Visa, Mastercard, Amex, UnionPay, Discover (its 6011
# is in 60), JCB, Diners, and the Chinese banks' own 60 and 95 ranges (BOC 601382, ICBC
# 9558, ABC 9559).
ISSUERS = (
    (4, 4, (16, 19)),
    (51, 55, (16,)),
    (2221, 2720, (16,)),
    (34, 34, (15,)),
    (37, 37, (15,)),
    (62, 62, (16, 17, 18, 19)),
    (644, 659, (16, 19)),
    (3528, 3589, (16, 19)),
    (36, 36, (14, 16, 19)),
    (38, 39, (16, 19)),
    (60, 60, (16, 19)),
    (95, 95, (16, 19)),
)
CARD_LENGTHS = range(13, 20)

# A company's line, not a person's: 400 and 800 numbers, premium lines and the like.
_SERVICE_LINES = frozenset(
    {
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.UAN,
        PhoneNumberType.VOICEMAIL,
    }
)


def find(text: str) -> list[Span]:
    """The personal data in ``text``: non-overlapping spans, in order."""
    return _find(text, typed=False)


def _find(text: str, *, typed: bool) -> list[Span]:
    """``typed``: the text is what an agent typed to search by, so every number of an ID's
    or a card's shape counts, as if its keyword stood beside it."""
    if not text:
        return []
    folded = text.translate(_FOLD)
    # Strongest first: an email address holds the phone it is named after; a valid ID or
    # card beats a phone-shaped part of it; a typo's keyword rule comes after the checks.
    found = [
        *_emails(folded),
        *_numbers(folded, typed=typed),
        *_passports(folded, typed=typed),
        *_phones(folded),
    ]
    taken: list[tuple[int, int, str, str]] = []
    for start, end, kind, normalised in found:
        if all(end <= s or start >= e for s, e, _, _ in taken):
            taken.append((start, end, kind, normalised))
    return [Span(k, s, e, text[s:e], n) for s, e, k, n in sorted(taken)]


def _emails(folded: str):
    for match in _EMAIL.finditer(folded):
        local, _, domain = match.group().partition("@")
        yield match.start(), match.end(), EMAIL, f"{local}@{domain.lower()}"


def _passports(folded: str, *, typed: bool):
    for match in _PASSPORT.finditer(folded):
        if typed or _near(folded, match.start(), match.end(), _PASSPORT_WORDS):
            yield match.start(), match.end(), PASSPORT, match.group().upper()


def _phones(folded: str):
    for match in phonenumbers.PhoneNumberMatcher(folded, "CN"):
        kind = phonenumbers.number_type(match.number)
        # A landline is written with its trunk 0 (010-...) or a country code; without one,
        # a date-and-count reference (2026120412) would read as a Guangzhou number.
        dialled = match.raw_string[0] in "0+" or kind == PhoneNumberType.MOBILE
        if dialled and kind not in _SERVICE_LINES:
            e164 = phonenumbers.format_number(match.number, PhoneNumberFormat.E164)
            yield match.start, match.end, PHONE, e164


def _numbers(folded: str, *, typed: bool):
    """IDs and cards, valid ones first, then the keyword rule for typos, longest first."""
    valid, shaped = [], []
    for run in _RUN.finditer(folded):
        for start, end, digits in _pieces(run):
            near_id = typed or _near(folded, start, end, _ID_WORDS)
            near_card = typed or _near(folded, start, end, _CARD_WORDS)
            if is_id_number(digits):
                valid.append((start, end, ID_NUMBER, digits))
            elif is_card(digits):
                valid.append((start, end, CARD, digits))
            elif near_id and _id_shaped(digits):
                shaped.append((start, end, ID_NUMBER, digits))
            elif near_card and _card_shaped(digits):
                shaped.append((start, end, CARD, digits))
    return sorted(valid, key=_longest_first) + sorted(shaped, key=_longest_first)


def _longest_first(found: tuple[int, int, str, str]) -> int:
    start, end, _, _ = found
    return start - end


def _pieces(run: re.Match):
    """Each way a run of digit groups can be one number: one group alone, or the groups
    of a card (fours, the last shorter; Amex 4-6-5) or an ID (6-8-4, old 6-6-3)."""
    groups = [(m.start(), m.end()) for m in re.finditer(r"[0-9]+[Xx]?", run.group())]
    offset = run.start()
    for first in range(len(groups)):
        for last in range(first, len(groups)):
            start, end = groups[first][0] + offset, groups[last][1] + offset
            digits = re.sub(r"[ -]", "", run.string[start:end]).upper()
            if len(digits) > CARD_LENGTHS[-1]:
                break  # longer than any number read: a long run costs linear time, not square
            sizes = [e - s for s, e in groups[first : last + 1]]
            if last == first or _grouped(sizes):
                yield start, end, digits


def _grouped(sizes: list[int]) -> bool:
    if sizes in ([4, 6, 5], [6, 8, 4], [6, 6, 3]):
        return True
    return all(size == 4 for size in sizes[:-1]) and sizes[-1] <= 4


def _near(folded: str, start: int, end: int, words: re.Pattern) -> bool:
    before = folded[max(start - NEAR, 0) : start]
    return bool(words.search(before) or words.search(folded[end : end + NEAR]))


def is_id_number(value: str) -> bool:
    """A resident ID as issued: 18 characters with their check character, or 15 digits."""
    if len(value) == 15:
        return _id_shaped(value)
    return _id_shaped(value) and value[17] == id_check_character(value[:17])


def id_check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2, as GB 11643 uses it."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def _id_shaped(value: str) -> bool:
    """An ID's province and birth date, whatever its check character says."""
    if len(value) == 15 and value.isdigit():
        birth = "19" + value[6:12]
    elif len(value) == 18 and value[:17].isdigit():
        birth = value[6:14]
    else:
        return False
    return value[:2] in PROVINCES and _real_date(birth)


def _real_date(yyyymmdd: str) -> bool:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= date.today()


def is_card(digits: str) -> bool:
    """A card number as issued: an issuer's prefix and length, and the Luhn check."""
    return _card_shaped(digits) and luhn_valid(digits) and _issued(digits)


def _card_shaped(digits: str) -> bool:
    return digits.isdigit() and len(digits) in CARD_LENGTHS


def _issued(digits: str) -> bool:
    for low, high, lengths in ISSUERS:
        prefix = int(digits[: len(str(low))])
        if low <= prefix <= high and len(digits) in lengths:
            return True
    return False


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def mask(kind: str, normalised: str) -> str:
    """What an agent sees instead of the value: card 622202*********0123 (PCI DSS: first 6,
    last 4), ID 1101**********4514, phone 139****5678, email li***@example.com, passport
    E*****678; one star per hidden character."""
    if kind == CARD:
        return _keep(normalised, 6, 4)
    if kind == ID_NUMBER:
        return _keep(normalised, 4, 4)
    if kind == PASSPORT:
        return _keep(normalised, 1, 3)
    if kind == EMAIL:
        return mask_email(normalised)
    if kind == PHONE:
        # A Chinese number as the customer dials it at home; others with their country.
        return mask_phone(normalised.removeprefix("+86"))
    raise ValueError(f"unknown kind of personal data: {kind!r}")


def _keep(value: str, head: int, tail: int) -> str:
    hidden = len(value) - head - tail
    if hidden < 1:
        return "*" * len(value)
    return value[:head] + "*" * hidden + value[-tail:]


def mask_text(text: str) -> str:
    """``text`` with every span of personal data replaced by its masked form."""
    return replace(text, lambda span: mask(span.kind, span.normalised))


def replace(text: str, masked: Callable[[Span], str]) -> str:
    """``text`` with each span found replaced by ``masked(span)``."""
    parts, done = [], 0
    for span in find(text):
        parts += [text[done : span.start], masked(span)]
        done = span.end
    return "".join(parts) + text[done:]


def fingerprint(kind: str, normalised: str) -> str:
    """A keyed hash of one value, so a message can be found by a number without the
    number being stored: the key stays outside the database, so a table of fingerprints
    cannot be searched by hashing every possible phone number."""
    if kind == EMAIL:
        normalised = normalised.lower()  # every mailbox a customer uses ignores case
    message = f"{kind}:{normalised}".encode()
    return hmac.new(fingerprint_key(), message, hashlib.sha256).hexdigest()


def fingerprint_key() -> bytes:
    if settings.PII_HASH_KEY:
        return settings.PII_HASH_KEY.encode()
    # Derived so that the plain SECRET_KEY is never the HMAC key itself.
    return hmac.new(
        settings.SECRET_KEY.encode(), b"mywallet-support.pii-fingerprint", hashlib.sha256
    ).digest()


def fingerprints_in(text: str) -> list[str]:
    """The fingerprints of what an agent typed into a search box: every number of an ID's
    or card's shape counts, since the agent typed it on purpose."""
    found = (fingerprint(span.kind, span.normalised) for span in _find(text, typed=True))
    return list(dict.fromkeys(found))
