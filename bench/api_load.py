#!/usr/bin/env python
"""The REST API under load, beside the same pages in the admin, on 50,000 tickets.

Fills a scratch database with bench/scale_data.py's tickets (as bench/admin_scale.py
does) and a phone number for each of its 5,000 customers, serves it with daphne on
127.0.0.1 (API rates raised, so a 429 never stands in for an answer), and sends each page
requests from 20 concurrent clients (threads, one keep-alive connection each), bounded by
a request count and a time:

    API   ticket list      /api/tickets/?status=open&page_size=50   (an integration's key)
    API   ticket detail    /api/tickets/<id>/                        (a rotating sample of ids)
    API   customer lookup  /api/customers/lookup/?phone=...          (phones in varied formats)
    admin inbox            /admin/tickets/ticket/?view=open          (an agent signed in with
    admin ticket page      /admin/tickets/ticket/<id>/change/         password and TOTP)
    admin customer search  /admin/accounts/customer/?q=<phone>

and prints, per page, the requests answered, requests per second, p50 and p99 in ms and
the query count of one request (counted in this process with django.test.Client on the
same database, after a warm-up: the fewer of two, as the agent's login and the key's
"last used" are written at most once a minute, on whichever request comes then); then the
API/admin ratios. A page answering anything but 200 fails the run.

    .venv/bin/python bench/api_load.py [--tickets 50000] [--clients 20]
                                       [--requests 3000] [--seconds 30] [--quick]

Uses a temporary SQLite file unless DATABASE_URL is set (a PostgreSQL URL's database is
flushed: point it at a scratch database, e.g. createdb checks_bench).
"""

import argparse
import http.client
import itertools
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale_data import agent_client, configure, fill  # noqa: E402
from tests.e2e.servers import (  # noqa: E402
    STAFF_PASSWORD,
    STAFF_TOTP_KEY,
    agent_login,
    running_daphne,
    server_env,
)

SAMPLE = 200  # ticket ids and phones each page rotates over
UNTHROTTLED = "1000000/min"


@dataclass(frozen=True)
class Page:
    name: str
    path: Callable[[int], str]  # the i-th request's path


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    latencies: list[float]
    failures: Counter

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1] * 1000


def phone_formats(number: int) -> list[str]:
    """One mobile number (China's, the identities' default region) as people type it."""
    digits = f"138{number:08d}"
    return [
        f"+86{digits}",
        f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}",
        f"0086 {digits[:3]}-{digits[3:7]}-{digits[7:]}",
        digits,
        f"{digits[:3]} {digits[3:7]} {digits[7:]}",
    ]


def add_phones() -> int:
    """A phone identity for every customer the fill made (it gives them an email only)."""
    from accounts.models import Customer, CustomerIdentity

    have = set(CustomerIdentity.objects.filter(kind="phone").values_list("customer_id", flat=True))
    CustomerIdentity.objects.bulk_create(
        CustomerIdentity(customer_id=pk, kind="phone", value=phone_formats(pk)[0])
        for pk in Customer.objects.values_list("pk", flat=True).order_by("pk")
        if pk not in have
    )
    return Customer.objects.count()


def credentials() -> str:
    """The bench agent (admin_scale's superuser) with a password and a known TOTP key, for
    the real login; and an integration's key for the API, whose text is returned."""
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from api.actions import create_key

    agent = get_user_model().objects.get(username="bench")
    agent.set_password(STAFF_PASSWORD)
    agent.save(update_fields=["password"])
    TOTPDevice.objects.filter(user=agent).update(key=STAFF_TOTP_KEY, last_t=-1)
    _key, text = create_key(
        acting_user=agent, name="bench/api_load.py", scopes=["tickets:read", "customers:read"]
    )
    return text


def pages() -> tuple[list[Page], list[Page]]:
    """(the API's pages, the admin's same pages), each over the same samples: ticket ids,
    and the customers' phones (add_phones) each in one of the formats people type."""
    from accounts.models import Customer
    from tickets.models import Ticket

    rng = random.Random(15)
    ids = list(Ticket.objects.order_by("?").values_list("pk", flat=True)[:SAMPLE])
    customers = Customer.objects.order_by("?").values_list("pk", flat=True)[:SAMPLE]
    phones = [rng.choice(phone_formats(pk)) for pk in customers]

    def rotate(template: str, values: list) -> Callable[[int], str]:
        return lambda i: template.format(values[i % len(values)])

    api = [
        Page("ticket list", lambda i: "/api/tickets/?status=open&page_size=50"),
        Page("ticket detail", rotate("/api/tickets/{}/", ids)),
        Page(
            "customer lookup", rotate("/api/customers/lookup/?phone={}", [quote(p) for p in phones])
        ),
    ]
    admin = [
        Page("inbox (all open)", lambda i: "/admin/tickets/ticket/?view=open"),
        Page("ticket page", rotate("/admin/tickets/ticket/{}/change/", ids)),
        Page(
            "customer search", rotate("/admin/accounts/customer/?q={}", [quote(p) for p in phones])
        ),
    ]
    return api, admin


def count_queries(client, page: Page) -> int:
    """The queries of one request of ``page``, warm (see the module's docstring)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(page.path(0))
    if response.status_code != 200:
        raise SystemExit(f"GET {page.path(0)} answered {response.status_code} in-process")
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            client.get(page.path(0))
        counts.append(len(queries))
    return min(counts)


def load(server, page: Page, headers: dict, *, clients: int, requests: int, seconds: float) -> Load:
    """``requests`` GETs of ``page`` from ``clients`` threads, each on one keep-alive
    connection, stopping early at ``seconds``."""
    numbers = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    failures: Counter = Counter()
    deadline = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
        mine, failed = [], Counter()
        while time.monotonic() < deadline and (i := next(numbers)) < requests:
            started = time.perf_counter()
            try:
                connection.request("GET", page.path(i), headers=headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as error:
                failed[type(error).__name__] += 1
                connection.close()
                continue
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                failed[response.status] += 1
            if response.will_close:
                connection.close()
        connection.close()
        with lock:
            latencies.extend(mine)
            failures.update(failed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(len(latencies), time.perf_counter() - started, latencies, failures)


def row(kind: str, page: Page, queries: int, result: Load) -> str:
    failed = f"  FAILED {dict(result.failures)}" if result.failures else ""
    return (
        f"  {kind:<5} {page.name:<18} {result.requests:>6} req  {result.per_second:7.1f} req/s"
        f"  p50 {result.percentile(50):7.1f} ms  p99 {result.percentile(99):7.1f} ms"
        f"  {queries:>3} queries{failed}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=3000, help="per page")
    parser.add_argument("--seconds", type=float, default=30, help="at most, per page")
    parser.add_argument(
        "--quick", action="store_true", help="1,000 tickets, 200 requests a page: a smoke run"
    )
    args = parser.parse_args()
    if args.quick:
        args.tickets, args.requests, args.seconds = 1000, 200, 10
    for who in ("PER_KEY", "PER_AGENT", "PER_CUSTOMER", "ANONYMOUS"):
        os.environ[f"API_RATE_{who}"] = UNTHROTTLED
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1")

    configure(prefix="api-load-")
    from django.db import connection
    from django.test import Client

    agent_client()  # makes the bench agent, to whom the fill assigns a tenth
    started = time.perf_counter()
    fill(args.tickets)
    customers = add_phones()
    key = credentials()
    admin_client = agent_client()  # after the password is set: a login before it ends
    api_pages, admin_pages = pages()
    api_client = Client(headers={"Authorization": f"Bearer {key}"})
    queries = {
        **{("API", p.name): count_queries(api_client, p) for p in api_pages},
        **{("admin", p.name): count_queries(admin_client, p) for p in admin_pages},
    }
    filled = time.perf_counter() - started
    connection.close()  # daphne's process writes its sessions and the key's last use

    print(
        f"database: {connection.vendor}; {args.tickets:,} tickets, {customers:,} customers "
        f"(filled in {filled:.1f}s); {args.clients} clients, at most {args.requests} requests "
        f"or {args.seconds:.0f}s a page"
    )
    bound = {"clients": args.clients, "requests": args.requests, "seconds": args.seconds}
    results: dict[tuple[str, str], Load] = {}
    with running_daphne(env=server_env(), startup_timeout=60) as server:
        session = agent_login(server, "bench")
        api_headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        admin_headers = {"Cookie": session.cookie_header()}
        for kind, group, headers in (
            ("API", api_pages, api_headers),
            ("admin", admin_pages, admin_headers),
        ):
            for page in group:
                results[kind, page.name] = result = load(server, page, headers, **bound)
                print(row(kind, page, queries[kind, page.name], result), flush=True)

    print("\nAPI/admin")
    for api, admin in zip(api_pages, admin_pages, strict=True):
        a, b = results["API", api.name], results["admin", admin.name]
        print(
            f"  {api.name:<16} / {admin.name:<17} req/s x{a.per_second / b.per_second:.2f}"
            f"  p99 x{a.percentile(99) / b.percentile(99):.2f}"
            f"  queries {queries['API', api.name]}/{queries['admin', admin.name]}"
        )
    if any(result.failures for result in results.values()):
        raise SystemExit("some requests failed (see FAILED above)")


if __name__ == "__main__":
    main()
