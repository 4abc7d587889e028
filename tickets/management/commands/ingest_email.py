"""Take email in: one message on stdin (an MTA pipe), a folder or Maildir, or an mbox.

Exit status for the pipe: 0 once the message is stored (processed, duplicate or
quarantined alike), 75 (EX_TEMPFAIL) when it could not be stored, so the MTA retries.
"""

import mailbox
import sys
from functools import partial
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, transaction

from tickets import live
from tickets.models import InboundMessage
from tickets.sources.email import intake

EX_TEMPFAIL = 75
BATCH = 100  # messages committed together by --dir and --mbox


class Command(BaseCommand):
    help = "Store and file email: one RFC 5322 message on stdin, or --dir / --mbox."
    # The system checks open the database; a pipe must reach handle() to answer 75 when
    # the database is down.
    requires_system_checks = []

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group()
        source.add_argument(
            "--dir", dest="folder", type=Path, help="every message file in a folder or Maildir"
        )
        source.add_argument("--mbox", type=Path, help="every message in an mbox file")
        source.add_argument(
            "--pending",
            action="store_true",
            help="retry stored messages that were not processed (after a crash or outage)",
        )

    def handle(self, *args, folder=None, mbox=None, pending=False, **options):
        if pending:
            self._summary(intake.process_pending())
        elif folder is not None:
            self._many(_folder_messages(folder))
        elif mbox is not None:
            self._many(_mbox_messages(mbox))
        else:
            self._pipe()

    def _pipe(self):
        raw = sys.stdin.buffer.read()
        try:
            stored = intake.store(raw, source="pipe")
        except DatabaseError as exc:
            self.stderr.write(f"could not store the message, try again later: {exc}")
            sys.exit(EX_TEMPFAIL)
        try:
            status = intake.process(stored)
        except DatabaseError as exc:
            # Stored, so the MTA must not send it again: `--pending` finishes it.
            self.stderr.write(f"stored as #{stored.pk}, processing deferred: {exc}")
            return
        self.stdout.write(f"#{stored.pk} {status}")

    def _many(self, messages):
        """Files and mbox entries stay on disk until committed here, so they are committed
        in batches: far fewer transactions, and a crash mid-batch rolls the batch back,
        leaving its messages to be taken on the next run (never lost, never doubled)."""
        counts: dict[str, int] = {}
        messages = list(messages)  # (source, read) pairs: the bytes are read one at a time
        total = len(messages)
        for start in range(0, total, BATCH):
            with live.collected(), transaction.atomic():
                for source, read in messages[start : start + BATCH]:
                    raw = read()
                    if intake.already_stored(raw):
                        status = InboundMessage.Status.DUPLICATE
                    else:
                        status = intake.process(intake.store(raw, source=source))
                    counts[status] = counts.get(status, 0) + 1
            done = min(start + BATCH, total)
            if self.stderr.isatty() or done == total:
                self.stderr.write(_progress(done, total), ending="\r" if done < total else "\n")
        self._summary(counts)

    def _summary(self, counts: dict[str, int]):
        order = ["processed", "duplicate", "quarantined", "failed", "pending"]
        self.stdout.write(", ".join(f"{counts.get(name, 0)} {name}" for name in order))


def _progress(done: int, total: int, width: int = 30) -> str:
    filled = width * done // total if total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


def _folder_messages(folder: Path):
    if not folder.is_dir():
        raise CommandError(f"{folder} is not a folder")
    # A Maildir keeps its messages in new/ and cur/; any other folder, in itself.
    parts = [folder / "new", folder / "cur"] if (folder / "new").is_dir() else [folder]
    for part in parts:
        for path in sorted(p for p in part.iterdir() if p.is_file() and not p.name.startswith(".")):
            yield str(path), path.read_bytes


def _mbox_messages(path: Path):
    if not path.is_file():
        raise CommandError(f"{path} is not a file")
    box = mailbox.mbox(path, create=False)
    # Keys first (the mbox is indexed once); each message's bytes are read when its turn comes.
    for key in box.keys():  # noqa: SIM118 - iterating a mailbox yields messages, not keys
        yield f"{path}#{key}", partial(box.get_bytes, key)
