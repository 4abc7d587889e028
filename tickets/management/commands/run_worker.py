"""The task worker: django_tasks_db's `db_worker`, plus the periodic jobs, run at start and
then on their own clocks in one thread beside it. Same options as `db_worker`.

- The recovery of deliveries a killed worker left unfinished
  (tickets.actions.delivery.recover_abandoned), every DELIVERY_LEASE_SECONDS / 2 (at most
  a minute). Without it a reply whose worker was killed mid-send would stay "queued" for
  ever: the task row a killed worker took stays RUNNING, and no worker takes it again.
- Housekeeping (tickets.actions.housekeeping.run_housekeeping: SLA escalation, reminders,
  automatic solve and close), every HOUSEKEEPING_INTERVAL seconds.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connections
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand

from tickets.actions.delivery import recover_abandoned
from tickets.actions.housekeeping import run_housekeeping

logger = logging.getLogger(__name__)

MAX_RECOVERY_INTERVAL = 60.0  # seconds between two looks, at most


@dataclass
class PeriodicJob:
    """A function run every ``interval`` seconds; it returns counts, logged when any."""

    name: str
    run: Callable[[], dict]
    interval: float
    next_at: float = 0.0  # monotonic time of its next run; 0: at once


def periodic_jobs() -> list[PeriodicJob]:
    recovery = min(MAX_RECOVERY_INTERVAL, max(settings.DELIVERY_LEASE_SECONDS / 2, 0.5))
    return [
        PeriodicJob("recovering abandoned deliveries", recover_abandoned, recovery),
        PeriodicJob("housekeeping", run_housekeeping, max(settings.HOUSEKEEPING_INTERVAL, 1)),
    ]


class Command(DBWorkerCommand):
    help = "Run the task worker, with delivery recovery and housekeeping beside it."

    def handle(self, *args, **options):
        stop = threading.Event()
        jobs = threading.Thread(
            target=run_periodic, args=(stop, periodic_jobs()), name="periodic-jobs", daemon=True
        )
        jobs.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
            jobs.join(timeout=10)


def run_periodic(stop: threading.Event, jobs: list[PeriodicJob]) -> None:
    """Each job when its time comes, until ``stop``; a failure (the database away, a bug)
    is logged and tried again next time, never the end of the worker."""
    try:
        while True:
            close_old_connections()
            for job in jobs:
                if time.monotonic() >= job.next_at:
                    _run_once(job)
                    job.next_at = time.monotonic() + job.interval
            wait = min(job.next_at for job in jobs) - time.monotonic()
            if stop.wait(max(wait, 0)):
                return
    finally:
        connections.close_all()


def _run_once(job: PeriodicJob) -> None:
    try:
        counts = job.run()
    except Exception:
        logger.exception("%s failed; trying again later", job.name)
    else:
        if any(counts.values()):
            logger.warning("%s: %s", job.name, counts)
