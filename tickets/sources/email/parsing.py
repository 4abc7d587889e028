"""Pure parsing of one raw email: bytes in, a `ParsedEmail` (or `EmailRejected`) out.

No database and no settings here: limits come in as keyword arguments. The standard
library's `email` package (policy.default) splits the MIME structure; what it gets wrong
on real-world mail is done by hand:
- headers are read from their raw bytes, so raw 8-bit GBK in a Subject or a display name
  is decoded instead of turned into U+FFFD, and one broken header spoils only itself;
- GB2312/GBK labels are decoded as GB18030 (a superset that real senders need), unknown
  or wrong labels best-effort, each recorded in ``charset_warnings``;
- file names are reduced to a safe base name; work is bounded on pathological mail.

Any input either parses or raises `EmailRejected` with a reason fit for the quarantine.
"""

import base64
import binascii
import codecs
import email
import email.errors
import email.policy
import mimetypes
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from tickets.inbound import InboundAttachment
from tickets.text import detect_language, html_to_text, quoted_split


class EmailRejected(Exception):
    """The sender's fault: the message cannot become a ticket. ``str(exc)`` says why."""


@dataclass(frozen=True)
class Bounce:
    """A delivery status notification (RFC 3464) about a message we sent."""

    original_message_id: str  # without <>, "" when the report does not return it
    permanent: bool  # status 5.x.x (or a failure with no status)
    recipient: str  # lower-cased final recipient
    diagnostic: str  # the remote server's answer, whitespace-normalised
    status: str = ""  # e.g. "5.1.1"; 4.x.x is a delay, not a failure
    action: str = ""  # "failed", "delayed", "delivered", ... (lower-cased)


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


# --- ticket references ------------------------------------------------------------------------


def _reference_re(prefix: str) -> re.Pattern:
    # Not inside a longer word or number: "MW-000123" in "[MW-000123]", "回复:MW-000123".
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(prefix)}-(\d{{6,12}})(?![0-9])", re.IGNORECASE)


REFERENCE_RE = _reference_re("MW")


@lru_cache(maxsize=8)
def _cached_reference_re(prefix: str) -> re.Pattern:
    return REFERENCE_RE if prefix == "MW" else _reference_re(prefix)


def find_reference(subject: str, prefix: str = "MW") -> str:
    """The first ticket reference in ``subject``, upper-cased, or "".

    Full-width letters and digits, as a Chinese input method types them, count too.
    """
    match = _cached_reference_re(prefix).search(unicodedata.normalize("NFKC", subject or ""))
    return f"{prefix.upper()}-{match.group(1)}" if match else ""


# --- entry point ------------------------------------------------------------------------------

_HEADER_END = re.compile(rb"\r?\n\r?\n")


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


def parse_or_rejection(raw: bytes, max_attachment_bytes: int) -> "ParsedEmail | EmailRejected":
    """`parse_email` with the rejection returned, not raised: for a pool of worker
    processes, where a result travels back more simply than an exception."""
    try:
        return parse_email(raw, max_attachment_bytes=max_attachment_bytes)
    except EmailRejected as exc:
        return exc


def parse_email(
    raw: bytes,
    *,
    max_attachment_bytes: int = 10 * 1024 * 1024,
    max_parts: int = 200,
    max_header_bytes: int = 256 * 1024,
) -> ParsedEmail:
    """Parse one RFC 5322 message. Raises `EmailRejected`, and nothing else, on bad input."""
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
    def __init__(self, *, max_attachment_bytes: int, max_parts: int, max_header_bytes: int):
        self.max_attachment_bytes = max_attachment_bytes
        self.max_parts = max_parts
        self.max_header_bytes = max_header_bytes
        self.charset_warnings: list[str] = []
        self.warnings: list[str] = []

    def parse(self, message: Message, header_bytes: int) -> ParsedEmail:
        headers = _raw_headers(message)
        from_address, from_name = self._sender(headers)
        subject = _one_line(self._text_header(headers, "subject"))
        body = _Body(self, header_bytes)
        body.walk(message)
        text = "\n".join(body.plain).strip("\n")
        html = "\n".join(body.html)
        if not text.strip() and html:
            text = html_to_text(html)
        text = text.rstrip()
        bounce = body.bounce
        return ParsedEmail(
            message_id=_first_id(headers, "message-id"),
            from_address=from_address,
            from_name=from_name,
            to=self._addresses(headers, "to"),
            cc=self._addresses(headers, "cc"),
            reply_to=next(iter(self._addresses(headers, "reply-to")), ""),
            subject=subject,
            date=_date(headers),
            in_reply_to=_ids(_header(headers, "in-reply-to")),
            references=_ids(_header(headers, "references")),
            ticket_reference=find_reference(subject),
            text=text,
            html=html,
            attachments=tuple(body.attachments),
            auto_submitted=_is_automatic(headers, from_address, body.is_report),
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
        )

    # --- headers ---

    def _text_header(self, headers: dict[str, list[str]], name: str) -> str:
        value = _header(headers, name)
        where = f"the {name.title()} header"
        return decode_words(self._unbyte(value, where), where, self.charset_warnings)

    def _unbyte(self, value: str, where: str) -> str:
        """A raw header value with its 8-bit bytes (surrogate-escaped) decoded."""
        if not _has_surrogates(value):
            return value
        data = value.encode("utf-8", "surrogateescape")
        text, used = _guess(data)
        if used != "utf-8":
            self.charset_warnings.append(f"raw 8-bit bytes in {where}, decoded as {used}")
        return text

    def _sender(self, headers: dict[str, list[str]]) -> tuple[str, str]:
        values = headers.get("from", [])
        if not values or not values[0].strip():
            raise EmailRejected("The message has no From address.")
        if len({_unfold(value).strip() for value in values}) > 1:
            raise EmailRejected("The message has more than one From header.")
        if len(values[0]) > _MAX_ADDRESS_HEADER:
            raise EmailRejected("The From header is too long to be read safely.")
        value = self._unbyte(_unfold(values[0]), "the From header")
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
        return address.lower(), _one_line(name).strip("\"' ")

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
            value = self._unbyte(_unfold(value), f"the {name.title()} header")
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
        content_type = _content_type(part)
        maintype = content_type.split("/")[0]
        if content_type == "multipart/report":
            self.is_report = True
            if str(part.get_param("report-type", "")).lower() == "delivery-status":
                self.bounce = _bounce(part)
        if content_type in ("message/rfc822", "message/global"):
            self._attach_message(part)
            return []
        if content_type.startswith("message/") and content_type.endswith(
            ("delivery-status", "disposition-notification")
        ):
            return []  # read by _bounce; not something for an agent
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
            found = _META_CHARSET.search(data[:4096])
            charset = found.group(1).decode("ascii") if found else ""
        text = decode_bytes(data, charset, f"part {number}", self.parser.charset_warnings)
        text = _newlines(text)
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
            subject = _one_line(decode_words(_header(_raw_headers(inner), "subject")))
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


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "application/octet-stream"


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return "attachment"


def _content_id(part: Message) -> str:
    value = _unfold(str(_raw_headers(part).get("content-id", [""])[0]))
    return _ascii_id(value).strip().strip("<>").strip()


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
            _header(_raw_headers(part), key) for key in ("content-disposition", "content-type")
        )
        found = _RAW_FILENAME.search(raw)
        name = found.group(1) if found else name
    name = _debyte(name)
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


# --- delivery reports -------------------------------------------------------------------------


def _bounce(report: Message) -> Bounce:
    recipients: list[dict[str, str]] = []
    original_id = ""
    for part in report.get_payload() if report.is_multipart() else []:
        if not isinstance(part, Message):
            continue
        content_type = _content_type(part)
        if content_type.endswith("delivery-status"):
            recipients = [block for block in _status_blocks(part) if "final-recipient" in block]
        elif content_type in ("message/rfc822", "message/global") and part.is_multipart():
            inner = part.get_payload(0)
            original_id = _first_id(_raw_headers(inner), "message-id") or original_id
        elif content_type in ("text/rfc822-headers", "message/global-headers"):
            returned = BytesHeaderParser(policy=POLICY).parsebytes(
                part.get_payload(decode=True) or b""
            )
            original_id = _first_id(_raw_headers(returned), "message-id") or original_id
    failed = [block for block in recipients if block.get("action", "").lower() == "failed"]
    block = (failed or recipients or [{}])[0]
    status = (block.get("status", "").split() or [""])[0]
    action = block.get("action", "").strip().lower()
    return Bounce(
        original_message_id=original_id,
        permanent=status.startswith("5") or (not status and action == "failed"),
        recipient=_after_type(block.get("final-recipient", "")).strip("<>").lower(),
        diagnostic=_one_line(_after_type(block.get("diagnostic-code", "")))[:1000],
        status=status,
        action=action,
    )


def _status_blocks(part: Message) -> list[dict[str, str]]:
    """The field blocks of a message/delivery-status part, names lower-cased."""
    payload = part.get_payload()
    if isinstance(payload, list):
        texts = [
            "\n".join(f"{k}: {_debyte(v)}" for k, v in block.raw_items())
            for block in payload
            if isinstance(block, Message)
        ]
    else:
        data = part.get_payload(decode=True) or b""
        texts = re.split(r"\n\s*\n", _newlines(data.decode("utf-8", "replace")))
    blocks = []
    for text in texts:
        fields: dict[str, str] = {}
        for line in re.sub(r"\n[ \t]+", " ", _newlines(text)).split("\n"):
            name, colon, value = line.partition(":")
            if colon:
                fields.setdefault(name.strip().lower(), value.strip())
        blocks.append(fields)
    return blocks


def _after_type(value: str) -> str:
    """'rfc822; a@b.example' -> 'a@b.example'; 'smtp; 550 ...' -> '550 ...'."""
    return value.split(";", 1)[1].strip() if ";" in value else value.strip()


# --- loops ------------------------------------------------------------------------------------


def _is_automatic(headers: dict[str, list[str]], from_address: str, is_report: bool) -> bool:
    """RFC 3834 and the headers real auto-responders and list servers send."""
    if is_report:
        return True
    auto_submitted = _header(headers, "auto-submitted").split("(")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if _header(headers, "precedence").strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return True
    for name in ("x-auto-response-suppress", "list-id", "x-autoreply", "x-autorespond"):
        if _header(headers, name).strip():
            return True
    if _header(headers, "return-path").strip() == "<>":
        return True
    return from_address.split("@")[0] in ("mailer-daemon", "postmaster")


# --- header helpers ---------------------------------------------------------------------------


def _raw_headers(message: Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(str(name).strip().lower(), []).append(str(value))
    return headers


def _header(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return _unfold(values[0]) if values else ""


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).replace("\r", "").replace("\n", "")


def _one_line(value: str) -> str:
    return " ".join(value.replace("\x00", "").split())


def _shorten(value: str, limit: int = 120) -> str:
    value = _one_line(value)
    return value if len(value) <= limit else value[:limit] + "…"


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _debyte(value: str) -> str:
    """A header value with its raw 8-bit bytes (surrogate-escaped) decoded as best we can."""
    if not _has_surrogates(value):
        return value
    return _guess(value.encode("utf-8", "surrogateescape"))[0]


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


_MSG_ID = re.compile(r"<([^<>\s]{1,995})>")


def _ids(value: str) -> tuple[str, ...]:
    """Message ids without <>, in order, once each; bare ids from sloppy clients too."""
    value = _ascii_id(value)
    found = _MSG_ID.findall(value)
    if not found and "<" not in value:
        found = [word for word in value.split() if "@" in word and len(word) <= 995]
    return tuple(dict.fromkeys(found))


def _first_id(headers: dict[str, list[str]], name: str) -> str:
    value = _header(headers, name)
    ids = _ids(value)
    if ids:
        return ids[0]
    return "".join(_ascii_id(value).split()).strip("<>")[:995]


def _ascii_id(value: str) -> str:
    """Ids are ASCII by definition: raw 8-bit bytes in one (surrogate-escaped by the parser)
    are written as %XX, so the id stays distinct, stable and storable."""
    if not _has_surrogates(value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    return "".join(chr(byte) if byte < 0x80 else f"%{byte:02X}" for byte in data)


def _date(headers: dict[str, list[str]]) -> datetime | None:
    value = _header(headers, "date").strip()
    if not value or _has_surrogates(value):
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- charsets ---------------------------------------------------------------------------------

# Labels real senders use for Chinese (and a few others) that Python's codec names miss or
# read too narrowly: GB2312 and GBK mail routinely holds characters only GB18030 covers.
_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "gb2312-80": "gb18030",
    "x-gbk": "gb18030",
    "x-gb2312": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "csgb2312": "gb18030",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "ks_c_5601-1987": "cp949",
    "iso-8859-8-i": "iso8859-8",
    "x-sjis": "shift_jis",
    "big5": "big5hkscs",
    # Outlook labels Windows-1252 text (curly quotes, the euro sign) as Latin-1.
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
}
_CHINESE = {"gb2312", "gbk", "gb18030"}
_NOT_MAIL_CHARSETS = {
    "undefined",
    "unicode_escape",
    "raw_unicode_escape",
    "idna",
    "punycode",
    "charmap",
    "mbcs",
    "oem",
}
_LABEL = re.compile(r"[a-z0-9][a-z0-9._:+-]{0,39}")
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.I
)


def _codec(label: str) -> str | None:
    label = _ALIASES.get(label, label)
    if not _LABEL.fullmatch(label):
        return None
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_MAIL_CHARSETS:
        return None
    return "gb18030" if info.name in _CHINESE else info.name


def decode_bytes(data: bytes, charset: str, where: str, warnings: list[str]) -> str:
    """Text from ``data`` in its declared ``charset``, or best effort with a warning."""
    label = charset.strip().strip("\"'").lower()
    if label:
        codec = _codec(label)
        if codec:
            try:
                return data.decode(codec)
            except (UnicodeError, LookupError, ValueError, TypeError):
                text, used = _guess(data)
                warnings.append(f"charset {label} in {where} does not fit, decoded as {used}")
                return text
        text, used = _guess(data)
        warnings.append(f"unknown charset {label[:40]} in {where}, decoded as {used}")
        return text
    if data.isascii():
        return data.decode("ascii")
    text, used = _guess(data)
    warnings.append(f"no charset declared in {where}, decoded as {used}")
    return text


_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_HIGH_PAIR = re.compile(rb"[\x81-\xfe][\x80-\xfe]")


def _guess(data: bytes) -> tuple[str, str]:
    """(text, how): UTF-8 if it is; GB18030 if the bytes come in pairs as Chinese does;
    Windows-1252 if the high bytes stand alone as in Western text; else UTF-8, replaced."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    high = len(_HIGH_BYTE.findall(data))
    pairs = len(_HIGH_PAIR.findall(data))
    if pairs * 2 >= high * 0.8:
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            pass
    elif pairs * 2 <= high * 0.5 and b"\x00" not in data:
        try:
            return data.decode("cp1252"), "windows-1252"
        except UnicodeDecodeError:
            pass
    return data.decode("utf-8", "replace"), "utf-8 with replacement"


_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=")


def decode_words(value: str, where: str = "a header", warnings: list[str] | None = None) -> str:
    """RFC 2047: decode encoded words, joining adjacent ones in the same charset first,
    so a character split across two words (and two folded lines) comes out whole."""
    if "=?" not in value:
        return value
    warnings = [] if warnings is None else warnings
    pieces: list[tuple[str | None, bytes | str]] = []
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        position = match.end()
        if between and not (between.isspace() and pieces and pieces[-1][0] is not None):
            pieces.append((None, between))
        charset, encoding, payload = match.groups()
        try:
            if encoding in "Bb":
                data = base64.b64decode(payload + "=" * (-len(payload) % 4))
            else:
                data = binascii.a2b_qp(payload.encode("latin-1", "replace"), header=True)
        except (binascii.Error, ValueError):
            pieces.append((None, match.group(0)))
            continue
        charset = charset.lower()
        previous = pieces[-1] if pieces else None
        if previous and previous[0] == charset:
            pieces[-1] = (charset, previous[1] + data)
        else:
            pieces.append((charset, data))
    pieces.append((None, value[position:]))
    return "".join(
        piece if charset is None else decode_bytes(piece, charset, where, warnings)
        for charset, piece in pieces
    )


# --- bodies -----------------------------------------------------------------------------------


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


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
