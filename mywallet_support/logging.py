"""A logging filter that masks personal data in every log line (defence in depth).

The code masks what it logs itself (mywallet_support.masking); this filter, installed on every
handler in settings.LOGGING, catches what slips through: a number inside an exception
message, an address in a third-party library's line. It masks what mywallet_support.pii
finds (email addresses, Chinese resident ID numbers, bank card numbers, valid phone numbers
and passports, full-width digits included) the way the admin shows them: an ID number as
the wallet's (mask_id_number), a phone written with its country code with it
(+86 138****1234). It cannot recognise a bare 6-digit code or a password: those must never
be passed to a logger at all.
"""

import logging

from .masking import mask_id_number, mask_phone
from .pii import ID_NUMBER, PHONE, Span, mask, replace

# How a number written with its country code begins (full-width forms too).
_COUNTRY_CODE = ("+", "00", "\uff0b", "\uff10\uff10")


def mask_personal_data(text: str) -> str:
    """``text`` with email addresses, ID and card numbers, phone numbers masked."""
    if not text:
        return text
    return replace(text, _masked)


def _masked(span: Span) -> str:
    if span.kind == ID_NUMBER:
        return mask_id_number(span.normalised)
    if span.kind == PHONE and span.value.startswith(_COUNTRY_CODE):
        return mask_phone(span.normalised)  # written with its country code: +86 138****1234
    return mask(span.kind, span.normalised)


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
