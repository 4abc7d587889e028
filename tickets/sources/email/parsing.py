"""Pure parsing of one raw email: bytes in, a `ParsedEmail` (or `EmailRejected`) out.

No database and no settings here: limits and the ticket reference prefix come in as
arguments (ingest_email's parse workers run this without Django). The standard
library's `email` package (policy.default) splits the MIME structure; what it gets wrong
on real-world mail is done by hand:
- headers are read from their raw bytes, so raw 8-bit GBK in a Subject or a display name
  is decoded instead of turned into U+FFFD, and one broken header spoils only itself;
- GB2312/GBK labels are decoded as GB18030 (a superset that real senders need), unknown
  or wrong labels best-effort, each recorded in ``charset_warnings``;
- file names are reduced to a safe base name; work is bounded on pathological mail.

This module holds the entry point, the headers and addresses, the walk over the MIME tree,
attachments and loop detection. Charset decoding (of parts and of RFC 2047 encoded words)
is in `charsets`, delivery reports (bounces) in `reports`, and the helpers both this module
and `reports` read headers with in `mime`.

Any input either parses or raises `EmailRejected` with a reason fit for the quarantine.
"""

import email
import email.errors
import email.policy
import mimetypes
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from tickets.inbound import InboundAttachment
from tickets.text import detect_language, html_to_text, quoted_split

from . import authresults
from .authresults import AuthResult
from .charsets import META_CHARSET, decode_bytes, decode_words, guess_decode
from .mime import (
    POLICY,
    ascii_id,
    content_type_of,
    debyte,
    first_id,
    has_surrogates,
    header_value,
    message_ids,
    newlines,
    one_line,
    raw_headers,
    unfold,
)
from .reports import Bounce, read_bounce


class EmailRejected(Exception):
    """The sender's fault: the message cannot become a ticket. ``str(exc)`` says why."""


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    from_address: str
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: str
    subject: str
    date: datetime | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    ticket_reference: str
    text: str
    html: str
    attachments: tuple[InboundAttachment, ...]
    auto_submitted: bool
    bounce: Bounce | None
    charset_warnings: tuple[str, ...]
    oversized: bool
    language: str
    # Beyond the agreed interface, all defaulted:
    warnings: tuple[str, ...] = ()  # other things worth knowing (parts skipped, bad headers)
    dropped_attachments: tuple[str, ...] = ()  # names dropped for the size limit
    delivered_to: tuple[str, ...] = ()  # Delivered-To / X-Original-To: the envelope recipient
    # Every Authentication-Results header's results, top first: whose to trust is intake's.
    authentication_results: tuple[AuthResult, ...] = ()


# --- ticket references ------------------------------------------------------------------------


@lru_cache(maxsize=8)
def reference_re(prefix: str) -> re.Pattern:
    """A ticket reference with ``prefix``, its number in group 1; compiled once per prefix."""
    # Not inside a longer word or number: "MW-000123" in "[MW-000123]", "回复:MW-000123".
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(prefix)}-(\d{{6,12}})(?![0-9])", re.IGNORECASE)


def find_reference(subject: str, prefix: str) -> str:
    """The first ticket reference with ``prefix`` in ``subject``, upper-cased, or "".

    Full-width letters and digits, as a Chinese input method types them, count too.
    """
    match = reference_re(prefix).search(unicodedata.normalize("NFKC", subject or ""))
    return f"{prefix.upper()}-{match.group(1)}" if match else ""


# --- entry point ------------------------------------------------------------------------------

_HEADER_END = re.compile(rb"\r?\n\r?\n")


def parse_or_rejection(
    raw: bytes, max_attachment_bytes: int, reference_prefix: str
) -> "ParsedEmail | EmailRejected":
    """`parse_email` with the rejection returned, not raised: for a pool of worker
    processes, where a result travels back more simply than an exception."""
    try:
        return parse_email(
            raw, max_attachment_bytes=max_attachment_bytes, reference_prefix=reference_prefix
        )
    except EmailRejected as exc:
        return exc


def parse_email(
    raw: bytes,
    *,
    reference_prefix: str = "MW",
    max_attachment_bytes: int = 10 * 1024 * 1024,
    max_parts: int = 200,
    max_header_bytes: int = 256 * 1024,
) -> ParsedEmail:
    """Parse one RFC 5322 message. Raises `EmailRejected`, and nothing else, on bad input.

    ``reference_prefix`` is the one our ticket references have: the app's callers pass
    settings.TICKET_REFERENCE_PREFIX, whose default this is.
    """
    raw = bytes(raw)
    if not raw.strip():
        raise EmailRejected("The message is empty.")
    end = _HEADER_END.search(raw, 0, max_header_bytes + 4)
    header_bytes = end.start() if end else len(raw)
    if header_bytes > max_header_bytes:
        raise EmailRejected(f"The message headers are larger than {max_header_bytes} bytes.")
    _check_mime_headers(raw)
    try:
        message = email.message_from_bytes(raw, policy=POLICY)
        return _Parser(
            max_attachment_bytes=max_attachment_bytes,
            max_parts=max_parts,
            max_header_bytes=max_header_bytes,
            reference_prefix=reference_prefix,
        ).parse(message, header_bytes)
    except (EmailRejected, MemoryError):
        raise
    except RecursionError as exc:
        raise EmailRejected("The message is nested too deeply to be read.") from exc
    except Exception as exc:
        # Every part and header is read defensively; whatever still gets here is a
        # message the standard library cannot take apart. Quarantine it, reprocessable.
        raise EmailRejected(
            f"The message could not be read ({type(exc).__name__}: {str(exc)[:200]})."
        ) from exc


_MAX_ADDRESS_HEADER = 16 * 1024


_MIME_HEADER = re.compile(
    rb"^content-(?:type|disposition)[ \t]*:[^\n]*(?:\n[ \t][^\n]*)*", re.IGNORECASE | re.MULTILINE
)
_MAX_MIME_HEADER = 8 * 1024
_MAX_MIME_PARAMETERS = 100


def _check_mime_headers(raw: bytes) -> None:
    """The standard library's parameter parsing takes seconds on a few kilobytes of
    parameters (and runs while the message is split into parts), so refuse those first.
    Real ones, even with a 255-character Chinese file name, stay well under the limits."""
    for match in _MIME_HEADER.finditer(raw):
        header = match.group(0)
        if len(header) > _MAX_MIME_HEADER or header.count(b";") > _MAX_MIME_PARAMETERS:
            name = header.split(b":", 1)[0].decode("ascii", "replace").strip()
            raise EmailRejected(f"A {name} header is too large to be read safely.")


class _Parser:
    def __init__(
        self,
        *,
        max_attachment_bytes: int,
        max_parts: int,
        max_header_bytes: int,
        reference_prefix: str,
    ):
        self.max_attachment_bytes = max_attachment_bytes
        self.max_parts = max_parts
        self.max_header_bytes = max_header_bytes
        self.reference_prefix = reference_prefix
        self.charset_warnings: list[str] = []
        self.warnings: list[str] = []

    def parse(self, message: Message, header_bytes: int) -> ParsedEmail:
        headers = raw_headers(message)
        from_address, from_name = self._sender(headers)
        subject = one_line(self._text_header(headers, "subject"))
        body = _Body(self, header_bytes)
        body.walk(message)
        text = "\n".join(body.plain).strip("\n")
        html = "\n".join(body.html)
        if not text.strip() and html:
            text = html_to_text(html)
        text = text.rstrip()
        bounce = body.bounce
        return ParsedEmail(
            message_id=first_id(headers, "message-id"),
            from_address=from_address,
            from_name=from_name,
            to=self._addresses(headers, "to"),
            cc=self._addresses(headers, "cc"),
            reply_to=next(iter(self._addresses(headers, "reply-to")), ""),
            subject=subject,
            date=_date(headers),
            in_reply_to=message_ids(header_value(headers, "in-reply-to")),
            references=message_ids(header_value(headers, "references")),
            ticket_reference=find_reference(subject, self.reference_prefix),
            text=text,
            html=html,
            attachments=tuple(body.attachments),
            auto_submitted=_is_automatic(headers, from_address, subject, body.is_report),
            bounce=bounce,
            charset_warnings=tuple(dict.fromkeys(self.charset_warnings)),
            oversized=bool(body.dropped),
            language=detect_language(subject + "\n" + quoted_split(text[:20_000])[0]),
            warnings=tuple(dict.fromkeys(self.warnings)),
            dropped_attachments=tuple(body.dropped),
            delivered_to=tuple(
                dict.fromkeys(
                    self._addresses(headers, "delivered-to")
                    + self._addresses(headers, "x-original-to")
                    + self._addresses(headers, "envelope-to")
                )
            ),
            authentication_results=authresults.parse(
                [unfold(value) for value in headers.get("authentication-results", [])]
            ),
        )

    # --- headers ---

    def _text_header(self, headers: dict[str, list[str]], name: str) -> str:
        value = header_value(headers, name)
        where = f"the {name.title()} header"
        return decode_words(self._unbyte(value, where), where, self.charset_warnings)

    def _unbyte(self, value: str, where: str) -> str:
        """A raw header value with its 8-bit bytes (surrogate-escaped) decoded."""
        if not has_surrogates(value):
            return value
        data = value.encode("utf-8", "surrogateescape")
        text, used = guess_decode(data)
        if used != "utf-8":
            self.charset_warnings.append(f"raw 8-bit bytes in {where}, decoded as {used}")
        return text

    def _sender(self, headers: dict[str, list[str]]) -> tuple[str, str]:
        values = headers.get("from", [])
        if not values or not values[0].strip():
            raise EmailRejected("The message has no From address.")
        if len({unfold(value).strip() for value in values}) > 1:
            raise EmailRejected("The message has more than one From header.")
        if len(values[0]) > _MAX_ADDRESS_HEADER:
            raise EmailRejected("The From header is too long to be read safely.")
        value = self._unbyte(unfold(values[0]), "the From header")
        mailboxes, defective = _mailboxes(value)
        if defective or not mailboxes:
            raise EmailRejected(f"The From address could not be read: {_shorten(value)!r}.")
        if len(mailboxes) > 1:
            raise EmailRejected(f"The From header names more than one sender: {_shorten(value)!r}.")
        name, address = mailboxes[0]
        if not _valid_address(address):
            raise EmailRejected(f"The From address is not a valid address: {_shorten(address)!r}.")
        if "<" in value:
            # Our own decoding of the phrase copes with split and mislabelled encoded words.
            phrase = value.rsplit("<", 1)[0].strip()
            if phrase.startswith('"') and phrase.endswith('"') and len(phrase) > 1:
                phrase = phrase[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            name = decode_words(phrase, "the From header", self.charset_warnings) or name
        elif "=?" in name:
            name = decode_words(name, "the From header", self.charset_warnings)
        return address.lower(), one_line(name).strip("\"' ")

    def _addresses(self, headers: dict[str, list[str]], name: str) -> tuple[str, ...]:
        found: list[str] = []
        for value in headers.get(name, []):
            if len(value) > _MAX_ADDRESS_HEADER:
                # The standard library takes seconds over thousands of addresses; a
                # message to that many is not a customer writing to us.
                value = value[:_MAX_ADDRESS_HEADER].rpartition(",")[0]
                self.warnings.append(
                    f"the {name.title()} header is too long; only its start was read"
                )
            value = self._unbyte(unfold(value), f"the {name.title()} header")
            mailboxes, defective = _mailboxes(value)
            if defective:
                self.warnings.append(f"the {name.title()} header is malformed")
            found.extend(address.lower() for _, address in mailboxes if _valid_address(address))
        return tuple(dict.fromkeys(found))


# --- the MIME tree ----------------------------------------------------------------------------


class _Body:
    """Walks the parts once, depth first, within the part and header limits."""

    def __init__(self, parser: _Parser, header_bytes: int):
        self.parser = parser
        self.header_bytes = header_bytes
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[InboundAttachment] = []
        self.attachment_bytes = 0
        self.dropped: list[str] = []
        self.bounce: Bounce | None = None
        self.is_report = False

    def walk(self, root: Message) -> None:
        stack = [root]
        number = 0
        while stack:
            part = stack.pop()
            number += 1
            if number > self.parser.max_parts:
                self.parser.warnings.append(
                    f"the message has more than {self.parser.max_parts} parts; "
                    "the rest were not read"
                )
                return
            if part is not root:
                self.header_bytes += sum(len(k) + len(v) + 2 for k, v in part.raw_items())
                if self.header_bytes > self.parser.max_header_bytes:
                    raise EmailRejected(
                        f"The message headers are larger than {self.parser.max_header_bytes} bytes."
                    )
            try:
                stack.extend(reversed(self._read(part, number)))
            except (EmailRejected, MemoryError, RecursionError):
                raise
            except Exception as exc:
                self.parser.warnings.append(
                    f"part {number} could not be read ({type(exc).__name__}) and was skipped"
                )

    def _read(self, part: Message, number: int) -> list[Message]:
        """Take what a part holds; return its children to walk."""
        content_type = content_type_of(part)
        maintype = content_type.split("/")[0]
        if content_type == "multipart/report":
            self.is_report = True
            if str(part.get_param("report-type", "")).lower() == "delivery-status":
                self.bounce = read_bounce(part)
        if content_type in ("message/rfc822", "message/global"):
            self._attach_message(part)
            return []
        if content_type.startswith("message/") and content_type.endswith(
            ("delivery-status", "disposition-notification")
        ):
            return []  # read by read_bounce; not something for an agent
        if part.is_multipart():
            return [child for child in part.get_payload() if isinstance(child, Message)]
        filename = _filename(part)
        disposition = _disposition(part)
        if maintype == "multipart":
            # A multipart without (or with a missing) boundary: show what it holds as text.
            self.parser.warnings.append(f"part {number} is a multipart without parts")
            content_type = "text/plain"
        if (
            content_type in ("text/plain", "text/html")
            and not filename
            and disposition != ("attachment")
        ):
            text = self._text(part, number, content_type)
            (self.plain if content_type == "text/plain" else self.html).append(text)
            return []
        content = part.get_payload(decode=True) or b""
        self._attach(filename, content_type, content, _content_id(part))
        return []

    def _text(self, part: Message, number: int, content_type: str) -> str:
        data = part.get_payload(decode=True) or b""
        try:
            charset = part.get_content_charset() or ""
        except Exception:
            charset = "unreadable"
        if not charset and content_type == "text/html":
            found = META_CHARSET.search(data[:4096])
            charset = found.group(1).decode("ascii") if found else ""
        text = decode_bytes(data, charset, f"part {number}", self.parser.charset_warnings)
        text = newlines(text)
        if content_type == "text/plain" and str(part.get_param("format", "")).lower() == "flowed":
            text = _unflow(text, delsp=str(part.get_param("delsp", "")).lower() == "yes")
        return text

    def _attach_message(self, part: Message) -> None:
        inner = part.get_payload(0) if part.is_multipart() else None
        if isinstance(inner, Message):
            try:
                content = inner.as_bytes(policy=email.policy.compat32)
            except Exception:
                content = inner.as_bytes(policy=email.policy.default)
            subject = one_line(decode_words(header_value(raw_headers(inner), "subject")))
        else:
            content, subject = part.get_payload(decode=True) or b"", ""
        name = _filename(part) or subject
        if name and not name.lower().endswith(".eml"):
            name = f"{name[:200]}.eml"
        self._attach(name, "message/rfc822", content, _content_id(part))

    def _attach(self, name: str, content_type: str, content: bytes, content_id: str) -> None:
        name = safe_filename(name, content_type=content_type, index=len(self.attachments) + 1)
        if self.attachment_bytes + len(content) > self.parser.max_attachment_bytes:
            self.dropped.append(name)
            return
        self.attachment_bytes += len(content)
        self.attachments.append(
            InboundAttachment(
                name=name, content_type=content_type, content=content, content_id=content_id
            )
        )


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return "attachment"


def _content_id(part: Message) -> str:
    value = unfold(str(raw_headers(part).get("content-id", [""])[0]))
    return ascii_id(value).strip().strip("<>").strip()


_RAW_FILENAME = re.compile(r'(?:file)?name\*?=\s*"?([^";]+)', re.IGNORECASE)


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if not name or "\ufffd" in name:
        # Unreadable, or raw 8-bit bytes (old Foxmail, Outlook Express send GBK names
        # unencoded) that the standard library turned into U+FFFD: read the raw header.
        raw = " ".join(
            header_value(raw_headers(part), key) for key in ("content-disposition", "content-type")
        )
        found = _RAW_FILENAME.search(raw)
        name = found.group(1) if found else name
    name = debyte(name)
    if "=?" in name:  # RFC 2047 inside a parameter: wrong, and what Outlook and QQ Mail send
        name = decode_words(name)
    return name


def safe_filename(name: str, *, content_type: str, index: int) -> str:
    """A base name safe to show and to save: no directories, no control characters.

    Falls back to ``attachment-<index>`` with an extension guessed from the content type.
    """
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    # Cc: control characters; Cf: format characters such as U+202E (right-to-left override,
    # which makes "exe.pdf" read as "fdp.exe"); Cs: lone surrogates.
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    name = re.sub(r'[<>:"|?*]', "_", " ".join(name.split())).strip(" .")
    if not name:
        name = f"attachment-{index}{_extension(content_type)}"
    if len(name) > 255:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = f"{stem[: 254 - len(extension)]}.{extension}"
        else:
            name = name[:255]
    return name


def _extension(content_type: str) -> str:
    guessed = mimetypes.guess_extension(content_type, strict=False)
    if guessed:
        return guessed
    return ".txt" if content_type.startswith("text/") else ""


# --- loops ------------------------------------------------------------------------------------


# The subjects out-of-office and auto-responders write, when they send none of the headers
# (QQ Mail, Foxmail and many Exchange rules do not): at the start, before a colon or a
# closing bracket, or alone.
_AUTOMATIC_SUBJECT = re.compile(
    r"^\s*[\[【(（]?\s*(?:"
    r"out of (?:the )?office(?: auto ?reply| reply)?"
    r"|auto(?:matic)?[ -]?repl(?:y|ied)|auto[ -]?response|auto(?=\s*[:：])"
    r"|自动回复|自動回覆|自动答复|休假(?:中|通知|自动回复)?|不在办公室"
    r")\s*(?:[\]】)）:：]|$)",
    re.IGNORECASE,
)


def _is_automatic(
    headers: dict[str, list[str]], from_address: str, subject: str, is_report: bool
) -> bool:
    """RFC 3834, the headers real auto-responders and list servers send, and their subjects."""
    if is_report:
        return True
    auto_submitted = header_value(headers, "auto-submitted").split("(")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if header_value(headers, "precedence").strip().lower() in (
        "bulk",
        "junk",
        "list",
        "auto_reply",
    ):
        return True
    for name in ("x-auto-response-suppress", "list-id", "x-autoreply", "x-autorespond"):
        if header_value(headers, name).strip():
            return True
    if header_value(headers, "return-path").strip() == "<>":
        return True
    if _AUTOMATIC_SUBJECT.match(subject):
        return True
    return from_address.split("@")[0] in ("mailer-daemon", "postmaster")


# --- header helpers ---------------------------------------------------------------------------


def _shorten(value: str, limit: int = 120) -> str:
    value = one_line(value)
    return value if len(value) <= limit else value[:limit] + "…"


def _mailboxes(value: str) -> tuple[list[tuple[str, str]], bool]:
    """(display name, addr-spec) pairs, and whether the header was malformed."""
    if not value.strip():
        return [], False
    try:
        # Parsed as To whatever the name: Delivered-To and friends are address lists too.
        header = email.policy.default.header_factory("to", value)
        addresses = header.addresses
        # Encoded words inside quotes are wrong but harmless, and what QQ Mail and Foxmail
        # send; any other defect means the addresses may not be what they seem.
        defective = any(
            isinstance(defect, email.errors.InvalidHeaderDefect) and "encoded" not in str(defect)
            for defect in header.defects
        )
    except Exception:
        return [], True
    return [(address.display_name, address.addr_spec) for address in addresses], defective


def _valid_address(address: str) -> bool:
    if not address or len(address) > 254 or address.startswith("<"):
        return False
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def _date(headers: dict[str, list[str]]) -> datetime | None:
    value = header_value(headers, "date").strip()
    if not value or has_surrogates(value):
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- bodies -----------------------------------------------------------------------------------


def _unflow(text: str, *, delsp: bool) -> str:
    """RFC 3676 format=flowed: a line ending in a space continues on the next."""
    lines: list[str] = []
    joining = False
    for line in text.split("\n"):
        if line.startswith(" "):
            line = line[1:]  # space-stuffing
        if joining:
            lines[-1] += line
        else:
            lines.append(line)
        joining = line.endswith(" ") and line != "-- "
        if joining and delsp:
            lines[-1] = lines[-1][:-1]
    return "\n".join(lines)
