"""Persona fixtures shared by every test: customers, an agent and a supervisor."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection, connections
from django.test import Client
from django.utils import translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Customer, CustomerIdentity, WalletAccount
from accounts.roles import AGENTS, SUPERVISORS

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True)
def _english_by_default(settings):
    """The product defaults to Simplified Chinese; tests read English unless they ask."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    """Users made in the test process get MD5 password hashes, as Django's testing docs
    advise: PBKDF2's rounds cost most of a second per user on these cores. Servers the tests
    start in subprocesses keep the production hashers, and make their own users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def tasks_at_once(settings):
    """Background tasks run as soon as they are queued (Django's ImmediateBackend): for
    tests of what a task sends (notices, codes), not of the queue itself."""
    settings.TASKS = {
        "default": {
            "BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
            "QUEUES": settings.TASKS["default"].get("QUEUES", ["default"]),
        }
    }


def pytest_collection_modifyitems(config, items):
    """The PostgreSQL pass leaves out the browser tests (marked ``sqlite_pass``): they
    serve their own seeded SQLite demo whatever DATABASE_URL says, so a second run would
    drive the same pages again. What differs there, the sockets over the Redis layer, has
    its own tests in tests/e2e (scale-out, revocation, the workspace socket) and
    tests/faults, which do run in that pass."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return
    skip = pytest.mark.skip(reason="runs in the SQLite pass (its own SQLite demo)")
    for item in items:
        if item.get_closest_marker("sqlite_pass"):
            item.add_marker(skip)


def need_server(reason: str):
    """Skip locally when a server is missing; under CI a missing server is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: servers must be running)")
    pytest.skip(reason)


@pytest.fixture
def postgres_only():
    """Races need writers that really overlap: they run in the PostgreSQL pass only."""
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass (DATABASE_URL=postgres://...)")


def race(count: int, work, *, returning: tuple[type[Exception], ...] = ()):
    """Run ``work(i)`` in ``count`` threads, each with its own connection, released at the
    same instant; their results in order. An exception of a type in ``returning`` is
    returned as a result (the expected loser of a race), any other is raised."""
    barrier = threading.Barrier(count)

    def run(i):
        try:
            barrier.wait(timeout=10)
            return work(i)
        except returning as exc:
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def make_staff(django_user_model, username: str, group: str):
    user = django_user_model.objects.create_user(
        username=username, password="correct horse battery staple", is_staff=True
    )
    user.groups.add(Group.objects.get(name=group))
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    return user


@pytest.fixture
def agent(db, django_user_model):
    return make_staff(django_user_model, "agent", AGENTS)


@pytest.fixture
def other_agent(db, django_user_model):
    return make_staff(django_user_model, "other_agent", AGENTS)


@pytest.fixture
def supervisor(db, django_user_model):
    return make_staff(django_user_model, "supervisor", SUPERVISORS)


def make_customer(name: str, email: str, phone: str, number: str) -> Customer:
    customer = Customer.objects.create(name=name)
    CustomerIdentity.objects.create(customer=customer, kind="email", value=email)
    CustomerIdentity.objects.create(customer=customer, kind="phone", value=phone)
    wallet = WalletAccount(
        customer=customer,
        number=number,
        registered_phone=phone,
        registered_email=email,
        national_id="110101199003071234",
        balance=Decimal("1024.50"),
    )
    wallet.set_payment_password("482915")
    wallet.save()
    return customer


@pytest.fixture
def customer(db):
    return make_customer("Li Wei", "li.wei@example.com", "+8613800138000", "MW6200000001")


@pytest.fixture
def other_customer(db):
    return make_customer("Anna Berg", "anna@example.org", "+8613900139000", "MW6200000002")


def verified_client(user) -> Client:
    """A client signed in as ``user`` and verified by their TOTP device, as after login."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = user.totpdevice_set.get().persistent_id
    session.save()
    return client


@pytest.fixture
def agent_client(agent):
    return verified_client(agent)


@pytest.fixture
def supervisor_client(supervisor):
    return verified_client(supervisor)
