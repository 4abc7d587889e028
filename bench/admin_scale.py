#!/usr/bin/env python
"""How the agent workspace scales with the number of tickets.

Fills a fresh database with 1,000 and then 50,000 tickets (three messages each, spread
over 5,000 customers, with SLA due times, a tenth of them the bench agent's), and prints
for each size the query count and the median time of every inbox view (mine, unassigned,
breaching SLA, waiting on the customer, all open), a filtered list, searches by a subject
word, by a body word in English and in Chinese, by email, one ticket page and the
dashboard (the admin home: no cache in front of it, so each request computes today's
figures and reads the stored ended days, which the warm-up request computes); then the
50k/1k ratios (the goal: every one within 2x). The query counts must not grow with the
data; times are compared only within this run (the machine is noisy).

    .venv/bin/python bench/admin_scale.py [--sizes 1000,50000] [--repeat 15]

Uses a temporary SQLite file unless DATABASE_URL is set (a PostgreSQL URL's database is
dropped and recreated: point it at a scratch database).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale_data import agent_client, configure, fill  # noqa: E402


def measure(client, url: str, repeat: int) -> tuple[int, float]:
    """(queries of a warm request, median seconds over ``repeat`` requests).

    The page's own queries: the fewest of two requests, as the agent's login writes its
    session's idle time at most once a minute (accounts.agent_sign_in.touch), on whichever
    request comes then."""
    from django.db import connection

    counted = []

    def count(execute, sql, params, many, context):
        counted[-1] += 1
        return execute(sql, params, many, context)

    response = client.get(url)  # warm-up: caches, compiled templates
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    for _ in range(2):
        counted.append(0)
        with connection.execute_wrapper(count):
            client.get(url)
    queries = min(counted)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - started)
    return queries, statistics.median(times)


VIEWS = ["mine", "unassigned", "breaching", "pending", "open", "all"]


def label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,50000")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    configure(prefix="admin-scale-")
    from urllib.parse import quote

    from django.db import connection
    from django.urls import reverse

    from tickets.models import Ticket

    client = agent_client()
    changelist = reverse("admin:tickets_ticket_changelist")
    print(f"database: {connection.vendor}; median of {args.repeat} requests after a warm-up")
    rows: dict[int, dict[str, tuple[int, float]]] = {}
    for size in sizes:
        started = time.perf_counter()
        fill(size)
        filled = time.perf_counter() - started
        # The same kind of ticket at every size: an open email ticket's page (a chat's or a
        # solved one's page reads other things).
        ticket = Ticket.objects.filter(channel="email", status="open").order_by("-pk").first()
        pages = {
            **{f"view: {slug}": f"{changelist}?view={slug}" for slug in VIEWS},
            "list, channel=email": f"{changelist}?channel__exact=email",
            "search: subject word": f"{changelist}?q=locked",
            "search: body, English": f"{changelist}?q=chargeback",
            "search: body, Chinese": f"{changelist}?q={quote('被冻结了')}",
            "search: by email": f"{changelist}?q=customer42%40example.com",
            "one ticket page": reverse("admin:tickets_ticket_change", args=[ticket.pk]),
            "dashboard": reverse("admin:index"),
        }
        rows[size] = {name: measure(client, url, args.repeat) for name, url in pages.items()}
        total = Ticket.objects.count()
        print(f"\n{size:,} tickets ({total:,} in the database, filled in {filled:.1f}s)")
        for name, (queries, seconds) in rows[size].items():
            print(f"  {name:<24} {queries:>3} queries  {seconds * 1000:8.1f} ms")

    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        print(f"\nratios {label(large)}/{label(small)}")
        grew = []
        for name in rows[small]:
            q_small, t_small = rows[small][name]
            q_large, t_large = rows[large][name]
            print(f"  {name:<24} queries {q_large}/{q_small}  time x{t_large / t_small:.2f}")
            if q_large != q_small:
                grew.append(name)
        if grew:
            print(f"\nQUERY COUNT GREW WITH THE DATA: {', '.join(grew)}")
            raise SystemExit(1)
        print("\nquery counts do not grow with the data")


if __name__ == "__main__":
    main()
