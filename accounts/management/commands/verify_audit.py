"""Check the audit trail's hash chain: ``manage.py verify_audit``.

Exit code 0 when the chain is intact, 1 at the first broken link (an edited, deleted or
forged row) or when rows stand outside the chain. Keep the printed head somewhere else and
pass it back as ``--anchor SEQUENCE:HASH`` to also catch rows cut off the chain's end.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.audit import verify_chain


def _anchor(value: str) -> tuple[int, str]:
    sequence, sep, digest = value.partition(":")
    if not sep or not sequence.isdigit() or len(digest) != 64:
        raise CommandError("--anchor must be SEQUENCE:HASH (a 64-character hex hash).")
    return int(sequence), digest.lower()


class Command(BaseCommand):
    help = "Walk the AccountEvent hash chain and report the first broken link."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")
        parser.add_argument(
            "--anchor",
            type=_anchor,
            help="SEQUENCE:HASH of a head printed earlier, which must still be in the chain.",
        )

    def handle(self, *args, database, anchor, **options):
        report = verify_chain(using=database, anchor=anchor)
        sequence, digest = report.head
        self.stdout.write(f"Checked {report.checked} events in sequence order.")
        if report.problem:
            self.stderr.write(self.style.ERROR(f"Audit chain broken: {report.problem}."))
        if report.unchained_count:
            ids = ", ".join(str(pk) for pk in report.unchained)
            more = ", ..." if report.unchained_count > len(report.unchained) else ""
            self.stderr.write(
                self.style.ERROR(
                    f"{report.unchained_count} events stand outside the chain (ids {ids}{more}):"
                    " written around accounts.audit, or forged."
                )
            )
        if not report.intact:
            raise SystemExit(1)
        if sequence:
            self.stdout.write(self.style.SUCCESS(f"Audit chain intact. Head: {sequence}:{digest}"))
        else:
            self.stdout.write(self.style.SUCCESS("Audit chain intact (no events yet)."))
