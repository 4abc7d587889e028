"""Receive mail for the support addresses over SMTP (settings.SMTP_INBOUND_HOST/PORT).

Recipients outside settings.SUPPORT_ADDRESSES are refused (550); a message that cannot be
stored is answered 451 so the sending server retries. Runs until SIGTERM or SIGINT.
"""

import signal
import threading

from django.core.management.base import BaseCommand

from tickets.sources.email.smtp import make_controller


class Command(BaseCommand):
    help = "Run an SMTP server that files mail to the support addresses as tickets."
    # The system checks open a database connection; with the database down the server
    # must still start and answer 451 until it is back.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--host", help="address to listen on (SMTP_INBOUND_HOST)")
        parser.add_argument("--port", type=int, help="port to listen on (SMTP_INBOUND_PORT)")

    def handle(self, *args, host=None, port=None, **options):
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        controller = make_controller(host=host, port=port)
        controller.start()
        self.stdout.write(f"SMTP intake listening on {controller.hostname}:{controller.port}")
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            controller.stop()
        self.stdout.write("SMTP intake stopped")
