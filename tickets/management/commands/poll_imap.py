"""Fetch new mail from IMAP (settings.IMAP_*), file it, and mark it on the server.

A message is moved to IMAP_PROCESSED_FOLDER (or flagged \\Seen) only after it is committed
here. ``--once`` polls every mailbox once and exits (for cron); without it the command keeps
polling, waiting with IDLE where the server offers it, until SIGTERM or SIGINT.
"""

import imaplib
import signal
import ssl
import threading

from django.core.management.base import BaseCommand, CommandError

from tickets.sources.email.imap import TRANSIENT, ImapAccount, ImapPoller


class Command(BaseCommand):
    help = "Fetch new mail from the IMAP mailboxes in settings and file it as tickets."
    # The system checks open a database connection; with the database down the poller
    # must still start, and wait and retry like after any other outage.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="poll each mailbox once, then exit")

    def handle(self, *args, once=False, verbosity=1, **options):
        self.verbosity = int(verbosity)
        account = ImapAccount.from_settings()
        if not account.host:
            raise CommandError("IMAP_HOST is not set")
        stop = threading.Event()
        previous = _stop_on_signals(stop)
        # Under cron, a few quick retries; the next run takes whatever is left.
        retries = 2 if once else 5
        poller = ImapPoller(account, stop=stop, on_message=self._report, retries=retries)
        try:
            if once:
                counts = poller.poll()
                order = ["processed", "duplicate", "quarantined", "failed", "pending"]
                self.stdout.write(", ".join(f"{counts.get(name, 0)} {name}" for name in order))
            else:
                poller.run()
        except ssl.SSLCertVerificationError as exc:
            raise CommandError(
                f"IMAP server certificate not trusted (see IMAP_SSL_CA_FILE): {exc}"
            ) from exc
        except TRANSIENT as exc:
            raise CommandError(f"IMAP poll failed, try again later: {exc}") from exc
        except imaplib.IMAP4.error as exc:  # refused login, for one
            raise CommandError(f"IMAP server refused: {exc}") from exc
        finally:
            poller.close()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _report(self, mailbox: str, uid: int, status: str) -> None:
        if self.verbosity > 1:
            self.stdout.write(f"{mailbox} UID {uid}: {status}")


def _stop_on_signals(stop: threading.Event) -> dict:
    """SIGTERM and SIGINT end the poll cleanly; returns the handlers to put back."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGTERM, signal.SIGINT)
    }
