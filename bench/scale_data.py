"""The ticket table at scale, shared by the benchmarks that read it (bench/admin_scale.py,
bench/api_load.py): a scratch database, bulk-filled tickets and the bench agent's client.

The fill is deterministic for a given target (its random generator is seeded with it), so
two benchmarks at the same size read the same tickets.
"""

import os
import tempfile


def configure(*, prefix: str = "bench-") -> None:
    """Django set up on DATABASE_URL, or on a new SQLite file in a temporary folder, and
    migrated (a PostgreSQL database is flushed first: point it at a scratch one)."""
    scratch = tempfile.mkdtemp(prefix=prefix)
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
