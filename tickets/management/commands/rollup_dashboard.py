"""Compute and store the dashboard's figures of the ended days (``tickets.rollups``) ahead
of the first read, or compute them again after a correction: ``manage.py rollup_dashboard
[--days 30] [--time-zone Asia/Shanghai ...] [--recompute]``. Idempotent."""

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tickets import rollups


class Command(BaseCommand):
    help = (
        "Store the dashboard's figures of the ended days (computing them again with --recompute)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="ended days, back from yesterday")
        parser.add_argument(
            "--time-zone",
            action="append",
            dest="time_zones",
            help=f"repeatable; default {settings.TIME_ZONE}",
        )
        parser.add_argument("--recompute", action="store_true", help="drop the stored days first")

    def handle(self, *args, days, time_zones, recompute, **options):
        if days < 1:
            raise CommandError("--days must be at least 1")
        for name in time_zones or [settings.TIME_ZONE]:
            tz = _zone(name)
            yesterday = timezone.now().astimezone(tz).date() - timedelta(days=1)
            first = yesterday - timedelta(days=days - 1)
            if recompute:
                rollups.forget(since=first, until=yesterday)
            stored = rollups.ensure(tz, [first + timedelta(days=n) for n in range(days)])
            self.stdout.write(f"{name}: {len(stored)} days from {first} to {yesterday}")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise CommandError(f"unknown time zone: {name}") from error
