"""Take email in: one message on stdin (an MTA pipe), a folder or Maildir, or an mbox.

Exit status for the pipe: 0 once the message is stored (processed, duplicate or
quarantined alike), 75 (EX_TEMPFAIL) when it could not be stored, so the MTA retries.
"""

import logging
import mailbox
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import partial
from itertools import repeat
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction

from tickets import live
from tickets.models import InboundMessage
from tickets.sources.email import intake
from tickets.sources.email.parsing import parse_or_rejection

logger = logging.getLogger(__name__)

EX_TEMPFAIL = 75
BATCH = 100  # messages committed together by --dir and --mbox
BATCH_BYTES = 64 * 1024 * 1024  # ... or fewer, so that a batch holds at most this much mail
DATABASE_WAIT = 60  # seconds a batch waits for a database that went away (--dir, --mbox)
DATABASE_RETRY_PAUSE = 0.5


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
        parser.add_argument(
            "--workers",
            type=int,
            default=min(os.cpu_count() or 1, 4),
            help="processes parsing ahead for --dir and --mbox (0: parse in this one; "
            "default: one per CPU, at most 4)",
        )
        source.add_argument(
            "--pending",
            action="store_true",
            help="retry stored messages that were not processed (after a crash or outage)",
        )

    def handle(self, *args, folder=None, mbox=None, pending=False, workers=0, **options):
        if pending:
            self._summary(intake.process_pending())
        elif folder is not None:
            self._many(_folder_messages(folder), workers=workers)
        elif mbox is not None:
            self._many(_mbox_messages(mbox), workers=workers)
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

    def _many(self, messages, *, workers: int):
        """Files and mbox entries stay on disk until committed here, so they are stored and
        filed in batches: a few queries and one transaction per batch, and a crash mid-batch
        rolls the batch back, leaving its messages to be taken on the next run (never lost,
        never doubled). Worker processes parse the next batch while this one is filed."""
        counts: dict[str, int] = {}
        messages = list(messages)  # (source, read) pairs: the bytes are read batch by batch
        total, done = len(messages), 0
        with _parsers(workers) as parse_all:
            ahead = None  # the batch read and being parsed, and its parse results to come
            for batch in [*_batches(messages), None]:
                parsing = parse_all([raw for raw, _source in batch]) if batch else None
                if ahead is not None:
                    done += self._file(*ahead, counts)
                    if self.stderr.isatty() or done == total:
                        ending = "\r" if done < total else "\n"
                        self.stderr.write(_progress(done, total), ending=ending)
                ahead = (batch, parsing) if batch else None
        self._summary(counts)

    def _file(self, batch, parsing, counts: dict[str, int]) -> int:
        """File one batch in one transaction. A database that goes away meanwhile (a
        restart, a failover) rolls the batch back; it is filed again once the database
        answers, for up to DATABASE_WAIT seconds, then the run stops with EX_TEMPFAIL and
        the batch's files stay for the next run (stored once: ``store_new`` skips what is
        already in). Found by the fault harness (tests/faults/): a restart used to end the
        run with a traceback."""
        parsed = None
        deadline = time.monotonic() + DATABASE_WAIT
        while True:
            try:
                with live.collected(), transaction.atomic():
                    stored = intake.store_new(batch)
                    if parsed is None:
                        parsed = _results(parsing, len(batch))  # now the raw bytes are stored
                    taken = [
                        (item, result) for item, result in zip(stored, parsed, strict=True) if item
                    ]
                    statuses = iter(
                        intake.process_many(
                            [item for item, _result in taken],
                            parsed=[result for _item, result in taken],
                        )
                    )
                    filed = [
                        next(statuses) if item is not None else InboundMessage.Status.DUPLICATE
                        for item in stored
                    ]
                break
            except (OperationalError, InterfaceError) as exc:
                connection.close()
                if time.monotonic() > deadline:
                    self.stderr.write(
                        f"the database did not answer for {DATABASE_WAIT} s ({exc}); "
                        "the messages not yet filed stay where they are: run again"
                    )
                    sys.exit(EX_TEMPFAIL)
                logger.warning("database unavailable, the batch is filed again: %s", exc)
                time.sleep(DATABASE_RETRY_PAUSE)
        for status in filed:
            counts[status] = counts.get(status, 0) + 1
        return len(batch)

    def _summary(self, counts: dict[str, int]):
        order = ["processed", "duplicate", "quarantined", "failed", "pending"]
        self.stdout.write(", ".join(f"{counts.get(name, 0)} {name}" for name in order))


def _results(parsing, count: int) -> list:
    """The workers' parse results; None for each (parsed here instead) if a worker died."""
    try:
        return list(parsing)
    except Exception as exc:  # BrokenProcessPool: a message killed its worker
        logger.warning("parse workers failed (%s); this batch is parsed here", exc)
        return [None] * count


@contextmanager
def _parsers(workers: int):
    """A function starting the parse of a list of raw messages in ``workers`` processes
    (in this one with 0) and returning an iterator of the results, in order."""
    limit, prefix = settings.EMAIL_MAX_MESSAGE_BYTES, settings.TICKET_REFERENCE_PREFIX
    if workers < 1:
        yield lambda raws: (parse_or_rejection(raw, limit, prefix) for raw in raws)
        return
    # spawn: the workers are this process's own children (their CPU time is counted with
    # ours), and they import the parser alone, not Django.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield lambda raws: pool.map(
            parse_or_rejection,
            raws,
            repeat(limit),
            repeat(prefix),
            chunksize=max(1, len(raws) // (4 * workers)),
        )


def _batches(messages: list):
    """Lists of (raw, source): BATCH messages, or fewer once BATCH_BYTES of mail are read."""
    batch, size = [], 0
    for source, read in messages:
        raw = read()
        batch.append((raw, source))
        size += len(raw)
        if len(batch) >= BATCH or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


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
