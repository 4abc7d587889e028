"""What the parser and the delivery reports both read from a message the standard
library split: raw header values (unfolded, on one line, raw 8-bit bytes decoded), message
ids, a part's content type and line endings; and the email policy that parses each
header value only once."""

import email.policy
import re
from email.message import Message
from functools import lru_cache

from .charsets import guess_decode


class _Policy(email.policy.EmailPolicy):
    """policy.default, with each parsed header value kept and reused.

    The standard library parses a header again on every access, and its header registry
    builds a new class each time: a part's Content-Type was parsed some fifteen times
    (get_content_type, get_param, get_filename, get_content_charset...), a third of the
    parse time. Header objects are immutable, so the same (name, value) can be shared.
    """

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name") or len(value) > 1000:  # long ones: not kept in memory
            return super().header_fetch_parse(name, value)
        return _parsed_header(self, name, value)


@lru_cache(maxsize=4096)
def _parsed_header(policy: _Policy, name: str, value: str):
    return email.policy.EmailPolicy.header_fetch_parse(policy, name, value)


POLICY = _Policy()


def raw_headers(message: Message) -> dict[str, list[str]]:
    """Each header's values as received, under its lower-cased name: read raw, so one broken
    header spoils only itself and 8-bit bytes survive (surrogate-escaped) to be decoded."""
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(str(name).strip().lower(), []).append(str(value))
    return headers


def header_value(headers: dict[str, list[str]], name: str) -> str:
    """The first value of header ``name`` (lower-case), unfolded; "" when there is none."""
    values = headers.get(name)
    return unfold(values[0]) if values else ""


def unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).replace("\r", "").replace("\n", "")


def one_line(value: str) -> str:
    return " ".join(value.replace("\x00", "").split())


def has_surrogates(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def debyte(value: str) -> str:
    """A header value with its raw 8-bit bytes (surrogate-escaped) decoded as best we can."""
    if not has_surrogates(value):
        return value
    return guess_decode(value.encode("utf-8", "surrogateescape"))[0]


_MSG_ID = re.compile(r"<([^<>\s]{1,995})>")


def message_ids(value: str) -> tuple[str, ...]:
    """Message ids without <>, in order, once each; bare ids from sloppy clients too."""
    value = ascii_id(value)
    found = _MSG_ID.findall(value)
    if not found and "<" not in value:
        found = [word for word in value.split() if "@" in word and len(word) <= 995]
    return tuple(dict.fromkeys(found))


def first_id(headers: dict[str, list[str]], name: str) -> str:
    value = header_value(headers, name)
    ids = message_ids(value)
    if ids:
        return ids[0]
    return "".join(ascii_id(value).split()).strip("<>")[:995]


def ascii_id(value: str) -> str:
    """Ids are ASCII by definition: raw 8-bit bytes in one (surrogate-escaped by the parser)
    are written as %XX, so the id stays distinct, stable and storable."""
    if not has_surrogates(value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    return "".join(chr(byte) if byte < 0x80 else f"%{byte:02X}" for byte in data)


def content_type_of(part: Message) -> str:
    """The part's content type, lower-cased; an unreadable one is taken as binary."""
    try:
        return part.get_content_type().lower()
    except Exception:
        return "application/octet-stream"


def newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
