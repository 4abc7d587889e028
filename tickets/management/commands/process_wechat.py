"""File WeChat payloads stored but never filed (their task was not queued: the database
went away between the two writes), or reprocess after a fix: ``manage.py process_wechat``."""

from django.core.management.base import BaseCommand

from tickets.sources.wechat.intake import process_pending


class Command(BaseCommand):
    help = "File stored WeChat payloads that are still pending."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=1000)

    def handle(self, *args, **options):
        counts = process_pending(limit=options["limit"])
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "none")
