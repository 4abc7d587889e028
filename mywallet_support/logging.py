"""A logging filter that masks personal data in every log line (defence in depth).

The code masks what it logs itself (mywallet_support.masking); this filter, installed on every
handler in settings.LOGGING, catches what slips through: a number inside an exception
message, an address in a third-party library's line. It masks email addresses, Chinese
national ID numbers (18 characters), Chinese mobile numbers (with or without +86, spaces or
dashes) and other E.164 numbers (+ and 8 to 15 digits), the same way the admin shows them
(138****1234). It cannot recognise a bare 6-digit code or a password: those must never be
passed to a logger at all.
"""

import logging
import re

from .masking import mask_email, mask_id_number, mask_phone

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# 6 digits of region, 8 of birth date, 3 of sequence, a check digit (0-9 or X).
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}[01]\d[0-3]\d\d{3}[\dXx](?!\w)")
CN_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)?86[\s\-]?)?1[3-9]\d[\s\-]?\d{4}[\s\-]?\d{4}(?!\d)")
E164 = re.compile(r"(?<![\w+])\+\d[\d\s\-]{6,18}\d(?!\d)")


def _phone(match: re.Match) -> str:
    digits = re.sub(r"[^\d+]", "", match.group(0))
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if len(re.sub(r"\D", "", digits)) > 15:
        return match.group(0)  # not a phone number (a long reference or amount)
    return mask_phone(digits)


def mask_personal_data(text: str) -> str:
    """``text`` with email addresses, ID numbers and phone numbers masked."""
    if not text:
        return text
    text = EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    text = ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)
    text = CN_MOBILE.sub(_phone, text)
    return E164.sub(_phone, text)


class MaskPersonalData(logging.Filter):
    """Rewrites each record's message (and traceback) with personal data masked.

    The record is changed in place, so every handler after this one sees the masked text.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as usual
            return True
        masked = mask_personal_data(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_data(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_personal_data(record.stack_info)
        return True
