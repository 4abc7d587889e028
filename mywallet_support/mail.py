"""Mail out, for every sender: the email channel's replies and notices, and the codes and
wallet notices of accounts. One transport, so that SMTP's answers mean the same everywhere.

`transmit` sends through Django's mail settings (the ``default`` entry of MAILERS) and turns
what the server answers into a `DeliveryError`: 5xx answers are permanent (the server's
words are kept for the agent), 4xx answers and connection trouble temporary, so a caller
that retries (tickets.actions.deliver) tries again later.

The commit point: once an SMTP server has the final "." of DATA, the mail may be delivered
even if we never read its answer. Within `commit_point(at_commit)`, `transmit` calls
``at_commit`` just before that dot leaves (through `SMTPBackend`, the project's SMTP backend), so a
caller can record "the server may have it now" first, and tell a retry that is safe (the
server never had the whole mail) from one that might send it twice. ``at_commit`` may
raise `CommitRefused` (the caller no longer owns the send): the connection is dropped
before the dot, and the server discards the unfinished mail. With any other backend the
hook is called before the mail is handed over at all, the wide but safe window.
"""

import re
import smtplib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.mail import EmailMessage, mailers
from django.core.mail.backends.smtp import EmailBackend
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


class CommitRefused(Exception):
    """Raised by an ``at_commit`` hook: do not let the mail go (the send is no longer ours)."""


_at_commit: ContextVar[Callable[[], None] | None] = ContextVar("at_commit", default=None)
_LEADING_DOT = re.compile(rb"(?m)^\.")


class _CommitPointMixin:
    """smtplib's DATA, with the caller's ``at_commit`` hook run before the final dot."""

    def data(self, msg):
        hook = _at_commit.get()
        if hook is None:
            return super().data(msg)
        self.putcmd("data")
        code, answer = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, answer)
        body = _LEADING_DOT.sub(b"..", msg if isinstance(msg, bytes) else msg.encode("ascii"))
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.send(body)
        try:
            hook()
        except BaseException:
            # Refused, or the hook could not record (the database away): no dot, and no
            # QUIT either (it would be read as mail text); the server drops the mail.
            self.close()
            raise
        self.send(b".\r\n")
        return self.getreply()


class _SMTP(_CommitPointMixin, smtplib.SMTP):
    pass


class _SMTP_SSL(_CommitPointMixin, smtplib.SMTP_SSL):
    pass


class SMTPBackend(EmailBackend):
    """Django's SMTP backend with the commit point (see the module): the project's default
    outside DEBUG; the options are Django's own."""

    @property
    def connection_class(self):
        return _SMTP_SSL if self.use_ssl else _SMTP


@contextmanager
def commit_point(at_commit: Callable[[], None]) -> Iterator[None]:
    """Within the block, `transmit` runs ``at_commit`` just before the server can have the
    whole mail (see the module); a `CommitRefused` it raises stops the send."""
    token = _at_commit.set(at_commit)
    try:
        yield
    finally:
        _at_commit.reset(token)


def transmit(email: EmailMessage) -> None:
    """Send ``email``; raises DeliveryError with the server's answer when it is refused."""
    hook = _at_commit.get()
    if hook is not None and not isinstance(mailers[MAILER], SMTPBackend):
        hook()  # no commit point in this backend: before anything leaves
    try:
        email.send(using=MAILER)
    except CommitRefused:
        raise
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
