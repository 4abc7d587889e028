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
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def configure() -> None:
    scratch = tempfile.mkdtemp(prefix="admin-scale-")
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
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        call_command("flush", "--noinput", verbosity=0)
    call_command("migrate", verbosity=0)


def fill(target: int) -> None:
    """Bring the ticket count up to ``target`` with bulk inserts."""
    import random
    from datetime import timedelta

    from django.db import connection, transaction
    from django.db.models import F
    from django.utils import timezone

    from accounts.models import Customer, CustomerIdentity
    from tickets.models import DailyStats, Message, Queue, Ticket

    rng = random.Random(target)
    have = Ticket.objects.count()
    if have >= target:
        return
    DailyStats.objects.all().delete()  # bulk inserts bypass the actions: the days change
    customers = list(Customer.objects.all())
    if not customers:
        customers = Customer.objects.bulk_create(
            Customer(name=f"Customer {i}") for i in range(5000)
        )
        CustomerIdentity.objects.bulk_create(
            CustomerIdentity(customer=c, kind="email", value=f"customer{i}@example.com")
            for i, c in enumerate(customers)
        )
    queues = list(Queue.objects.all()) or [
        Queue.objects.create(name=name, slug=name) for name in ("hotline", "security", "feedback")
    ]
    from django.contrib.auth import get_user_model

    agent = get_user_model().objects.get(username="bench")
    channels = [c for c, _label in Ticket._meta.get_field("channel").choices]
    statuses = list(Ticket.Status.values)
    categories = list(Ticket.Category.values)
    now = timezone.now()
    batch = 2000
    for start in range(have, target, batch):
        stop = min(start + batch, target)
        with transaction.atomic():
            tickets = Ticket.objects.bulk_create(
                Ticket(
                    reference=f"MW-{i + 1:06d}",
                    subject=f"{TOPICS[i % len(TOPICS)]} #{i}",
                    customer=customers[i % len(customers)],
                    channel=rng.choice(channels),
                    category=rng.choice(categories),
                    status=rng.choice(statuses),
                    priority=rng.choice(Ticket.Priority.values),
                    queue=rng.choice(queues),
                    assignee=agent if i % 10 == 0 else None,
                    # Due times follow the ticket's opening (a minute apart, newest
                    # first), as a desk's do: not all within a few days of now.
                    first_response_due=now - timedelta(minutes=i - rng.randint(30, 600)),
                    resolution_due=now - timedelta(minutes=i - rng.randint(600, 6000)),
                    last_message_at=now - timedelta(minutes=i),
                    last_message_preview=body(i)[:160],
                )
                for i in range(start, stop)
            )
            # Opened when last active, so the tickets spread over the past days as a desk's do.
            Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(
                created_at=F("last_message_at")
            )
            Message.objects.bulk_create(
                Message(
                    ticket=ticket,
                    direction=direction,
                    channel=ticket.channel,
                    text=body(i)
                    if direction == "inbound"
                    else f"{direction} on {ticket.reference}",
                )
                for i, ticket in enumerate(tickets, start)
                for direction in ("inbound", "outbound", "note")
            )
    # Planner statistics (and on PostgreSQL the visibility map), as autovacuum or a periodic
    # ANALYZE would have them in production: else the plans measured are an empty table's.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


TOPICS = ["Payment failed", "Card update", "Password reset", "Account locked", "Refund"]


def body(i: int) -> str:
    """The customer's message of ticket ``i``: one in ten mentions a chargeback, one in
    seven is in Chinese about a frozen account. (One in ten, not rarer: at 1,000 tickets
    the English search must fill its page of 50 as at 50,000, or the ratio measures
    rendering 9 rows against 50, not the search.)"""
    if i % 7 == 3:
        return f"你好，我的账户昨天被冻结了，订单 {i} 支付不了，请帮忙看看。"
    extra = " I am asking for a chargeback." if i % 10 == 2 else ""
    return f"Hello, my order {i} did not go through this morning.{extra} Thanks."


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


def agent_client():
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user, _created = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    device, _created = TOTPDevice.objects.get_or_create(user=user, name="bench", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


VIEWS = ["mine", "unassigned", "breaching", "pending", "open", "all"]


def label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,50000")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    configure()
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
