"""`manage.py housekeeping`: one pass of tickets.actions.housekeeping.run_housekeeping
(SLA escalation, reminders, automatic solve and close), for cron where no task worker
runs; prints what it did."""

from django.core.management.base import BaseCommand

from tickets.actions.housekeeping import run_housekeeping


class Command(BaseCommand):
    help = "Escalate SLA breaches, remind customers, solve and close tickets: one pass."

    def handle(self, *args, **options):
        counts = run_housekeeping()
        for name, count in sorted(counts.items()):
            self.stdout.write(f"{name}: {count}")
