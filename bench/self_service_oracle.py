#!/usr/bin/env python
"""Whether the payment-password reset's first step tells, by its time, whether a phone
number has a wallet.

Makes one wallet, then times the page's "send" request for its phone number and for two
numbers no wallet has, taking turns, each from a fresh client (its own address, so no
hourly limit is reached), and prints the median time of each path and the ratio of the
wallet's to the first unknown number's (it should be about 1.0: both paths spend the same
quotas and queue the same task; the wallet is looked up and the code sent by the worker,
which this does not run). The two unknown numbers' ratio is the baseline: how far two
paths that are the same apart differ on this machine in this run.

    .venv/bin/python bench/self_service_oracle.py [--repeat 200]

Uses a temporary SQLite file unless DATABASE_URL is set (a PostgreSQL URL's database is
flushed: point it at a scratch database).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KNOWN = "+8613800138000"
UNKNOWN = "+8613811118000"
UNKNOWN_TOO = "+8613822228000"  # the baseline: a second path that is the same as UNKNOWN
URL = "/account/reset-payment-password/"


def configure() -> None:
    scratch = tempfile.mkdtemp(prefix="oracle-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleS0=")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "mywallet_support.settings"
    os.environ["DJANGO_MEDIA_ROOT"] = scratch

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        call_command("flush", "--noinput", verbosity=0)
    call_command("migrate", verbosity=0)
    # Every request is answered as a send; the counters are not what is measured.
    settings.CODE_LIMIT_PER_CONTACT_HOUR = 10**9


def make_wallet() -> None:
    from accounts.models import Customer, WalletAccount

    customer = Customer.objects.create(name="Bench Customer")
    wallet = WalletAccount(
        customer=customer,
        number="MW6299999999",
        registered_phone=KNOWN,
        registered_email="bench@example.com",
        national_id="110101199003071234",
    )
    wallet.set_payment_password("482915")
    wallet.save()


def one_request(contact: str, n: int) -> float:
    from django.test import Client

    client = Client(REMOTE_ADDR=f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}")
    client.get(URL)  # the session and CSRF cookie, as a browser has them
    started = time.perf_counter()
    response = client.post(URL, {"action": "send", "contact": contact})
    elapsed = time.perf_counter() - started
    assert response.status_code == 302, response.status_code
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    configure()
    make_wallet()
    paths = [KNOWN, UNKNOWN, UNKNOWN_TOO]
    times = {contact: [] for contact in paths}
    for n in range(12):  # warm-up: templates, connections, caches
        one_request(paths[n % 3], 60000 + n)
    for n in range(args.repeat):
        turn = paths[n % 3 :] + paths[: n % 3]  # each path goes first, second and last
        for position, contact in enumerate(turn):
            times[contact].append(one_request(contact, 3 * n + position))
    known, unknown, unknown_too = (statistics.median(times[c]) * 1000 for c in paths)
    print(f"reset 'send' request, median of {args.repeat} each")
    print(f"{'contact with a wallet':>32}: {known:7.2f} ms")
    print(f"{'contact without one':>32}: {unknown:7.2f} ms")
    print(f"{'another contact without one':>32}: {unknown_too:7.2f} ms")
    print(f"{'ratio with / without':>32}: {known / unknown:7.3f}")
    print(f"{'baseline: without / without':>32}: {unknown_too / unknown:7.3f}")


if __name__ == "__main__":
    main()
