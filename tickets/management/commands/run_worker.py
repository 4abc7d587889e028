"""The task worker: django_tasks_db's `db_worker`, plus the recovery of deliveries a killed
worker left unfinished (tickets.actions.delivery.recover_abandoned), run at start and then
every few seconds in a thread of its own. Same options as `db_worker`.

Without the recovery a reply whose worker was killed mid-send would stay "queued" for
ever: the task row a killed worker took stays RUNNING, and no worker takes it again.
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connections
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand

from tickets.actions.delivery import recover_abandoned

logger = logging.getLogger(__name__)

MAX_RECOVERY_INTERVAL = 60.0  # seconds between two looks, at most


class Command(DBWorkerCommand):
    help = "Run the task worker, recovering deliveries a killed worker left unfinished."

    def handle(self, *args, **options):
        stop = threading.Event()
        interval = min(MAX_RECOVERY_INTERVAL, max(settings.DELIVERY_LEASE_SECONDS / 2, 0.5))
        recovery = threading.Thread(
            target=_recover_until, args=(stop, interval), name="delivery-recovery", daemon=True
        )
        recovery.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
            recovery.join(timeout=10)


def _recover_until(stop: threading.Event, interval: float) -> None:
    """recover_abandoned now and every ``interval`` seconds until ``stop``; a failure (the
    database away) is logged and tried again next time, never the end of the worker."""
    try:
        while True:
            close_old_connections()
            try:
                counts = recover_abandoned()
            except Exception:
                logger.exception("recovering abandoned deliveries failed; trying again later")
            else:
                if any(counts.values()):
                    logger.warning("abandoned deliveries recovered: %s", counts)
            if stop.wait(interval):
                return
    finally:
        connections.close_all()
