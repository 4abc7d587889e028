"""Mask the personal data stored before it was protected (issue 16), in place:
``manage.py remask_personal_data [--batch-size N] [--dry-run]``. Idempotent and batched
(tickets.actions.remask); the progress goes to stderr as plain lines ("messages
1200/50000 (2%)"), readable in a log as on a terminal, what was changed to stdout."""

from django.core.management.base import BaseCommand, CommandError

from tickets.actions.remask import remask_personal_data


class Command(BaseCommand):
    help = "Mask card, ID and passport numbers, phones and emails stored in clear before."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction")
        parser.add_argument("--dry-run", action="store_true", help="count only; write nothing")

    def handle(self, *args, batch_size, dry_run, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        counts = remask_personal_data(
            batch_size=batch_size, dry_run=dry_run, progress=self._progress
        )
        verb = "would change" if dry_run else "changed"
        self.stdout.write(
            f"{verb}: {counts.messages} messages ({counts.values} values kept encrypted), "
            f"{counts.attachments} attachment names, {counts.tickets} tickets, "
            f"{counts.raw_payloads} raw payloads"
            + (" (dry run: nothing written)" if dry_run else "")
        )

    def _progress(self, what: str, done: int, total: int) -> None:
        share = done * 100 // total if total else 100
        self.stderr.write(f"{what} {done}/{total} ({share}%)")
