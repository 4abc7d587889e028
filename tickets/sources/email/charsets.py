"""Charsets of real-world mail: bytes in a declared, missing or wrong charset turned into
text, RFC 2047 encoded words in headers, and the charset an HTML part names in a <meta>
tag. Pure functions.

GB2312/GBK labels are decoded as GB18030 (a superset that real senders need); unknown or
wrong labels, and undeclared 8-bit bytes, are decoded best effort, and each guess is
recorded in the caller's list of warnings.
"""

import base64
import binascii
import codecs
import re

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
META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.I)


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
                text, used = guess_decode(data)
                warnings.append(f"charset {label} in {where} does not fit, decoded as {used}")
                return text
        text, used = guess_decode(data)
        warnings.append(f"unknown charset {label[:40]} in {where}, decoded as {used}")
        return text
    if data.isascii():
        return data.decode("ascii")
    text, used = guess_decode(data)
    warnings.append(f"no charset declared in {where}, decoded as {used}")
    return text


_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_HIGH_PAIR = re.compile(rb"[\x81-\xfe][\x80-\xfe]")


def guess_decode(data: bytes) -> tuple[str, str]:
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
