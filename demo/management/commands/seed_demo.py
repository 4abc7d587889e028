"""`manage.py seed_demo`: demo customers, wallets, tickets and staff logins (idempotent).

The demo staff's passwords, authenticator keys and backup codes are public (README), so the
command refuses to run with DJANGO_DEBUG off, where it would open a production workspace
to anyone who read the README, unless told ``--i-know-this-is-production``.
"""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo import data


class Command(BaseCommand):
    help = (
        "Create demo queues, staff (with two-factor devices), customers, wallets, "
        "transactions and tickets on every channel. Safe to run again: nothing is duplicated."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Restore the demo staff's passwords, authenticator keys and backup codes.",
        )
        parser.add_argument(
            "--i-know-this-is-production",
            action="store_true",
            dest="production_ok",
            help="Run with DJANGO_DEBUG off anyway (the demo logins are public).",
        )

    def handle(self, *args, reset_passwords: bool = False, production_ok: bool = False, **options):
        if not settings.DEBUG and not production_ok:
            raise CommandError(
                "seed_demo creates staff logins whose passwords are public, and DJANGO_DEBUG "
                "is off: nothing was created. Run it with DJANGO_DEBUG=true (make run does), "
                "or add --i-know-this-is-production if this really is what you want."
            )
        result = data.seed(reset_passwords=reset_passwords)
        created = {name: count for name, count in result.created.items() if count}
        if created:
            made = ", ".join(f"{count} {name}" for name, count in sorted(created.items()))
            self.stdout.write(self.style.SUCCESS(f"Demo data created: {made}."))
        else:
            self.stdout.write(self.style.SUCCESS("Demo data already present; nothing changed."))
        self._print_logins(result)
        self._print_summary(data.summary())

    def _print_logins(self, result: data.SeedResult) -> None:
        w = self.stdout.write
        w("")
        w(self.style.MIGRATE_HEADING("Demo logins (agent workspace: http://127.0.0.1:8000/admin/)"))
        w("  Sign in with the password plus the authenticator code shown (valid ~30 s; run")
        w("  seed_demo again for a fresh one), or add the key to an authenticator app,")
        w("  or use one of the single-use backup codes.")
        for spec, code, backup_codes in result.staff:
            role = "superuser" if spec.superuser else spec.group
            w("")
            w(f"  {spec.username:<11} password {spec.password:<22} ({role})")
            left = 30 - int(time.time()) % 30
            w(f"  {'':<11} code now {code} ({left:>2} s left)   authenticator key {spec.totp_key}")
            codes = " ".join(backup_codes) if backup_codes else "(all used: --reset-passwords)"
            w(f"  {'':<11} backup codes {codes}")

    def _print_summary(self, summary: dict) -> None:
        w = self.stdout.write
        w("")
        w(self.style.MIGRATE_HEADING("In the database now"))
        for name, value in summary.items():
            if isinstance(value, dict):
                value = ", ".join(f"{key} {count}" for key, count in value.items()) or "none"
            w(f"  {name:<20} {value}")
