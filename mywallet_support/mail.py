"""Mail out, for every sender: the email channel's replies and notices, and the codes and
wallet notices of accounts. One transport, so that SMTP's answers mean the same everywhere.

`transmit` sends through Django's mail settings (the ``default`` entry of MAILERS) and turns
what the server answers into a `DeliveryError`: 5xx answers are permanent (the server's
words are kept for the agent), 4xx answers and connection trouble temporary, so a caller
that retries (tickets.actions.deliver) tries again later.
"""

import smtplib

from django.core.mail import EmailMessage
from django.utils.translation import gettext as _

MAILER = "default"  # the MAILERS alias outbound mail goes through
MAX_ERROR_CHARS = 1000


class DeliveryError(Exception):
    """A message could not be delivered (by any transport); ``permanent`` failures are
    not retried."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def customer_language(value: str | None) -> str:
    """A customer's language as our messages know it: "en" or "zh-hans" (the default)."""
    return "en" if (value or "").lower().startswith("en") else "zh-hans"


def transmit(email: EmailMessage) -> None:
    """Send ``email``; raises DeliveryError with the server's answer when it is refused."""
    try:
        email.send(using=MAILER)
    except smtplib.SMTPRecipientsRefused as exc:
        answers = [(code, _text(text)) for code, text in exc.recipients.values()]
        raise DeliveryError(
            _limit("; ".join(f"{code} {text}" for code, text in answers)),
            permanent=all(_permanent(code) for code, _answer in answers),
        ) from exc
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(
            _limit(f"{exc.smtp_code} {_text(exc.smtp_error)}"), permanent=_permanent(exc.smtp_code)
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(
            _("The mail server cannot take this message: %(error)s") % {"error": exc},
            permanent=True,
        ) from exc
    except ValueError as exc:  # an address Django cannot put on the wire
        raise DeliveryError(_limit(str(exc)), permanent=True) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(
            _("The mail server could not be reached: %(error)s")
            % {"error": str(exc) or type(exc).__name__},
            permanent=False,
        ) from exc


def _permanent(code) -> bool:
    return isinstance(code, int) and 500 <= code < 600


def _text(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return " ".join(str(value).split())


def _limit(text: str) -> str:
    return text[:MAX_ERROR_CHARS]
