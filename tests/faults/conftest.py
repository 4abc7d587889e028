"""Fixtures for the fault harness: private PostgreSQL, Redis and daphne that a test may
kill and restart (tests/faults/servers.py), each stopped when its scope ends.

They are generic: ``fault_postgres`` and ``fault_redis`` are one server each per session;
``fault_database`` is a fresh migrated database on ``fault_postgres`` (a copy of a migrated
template) with REDIS_URL pointing at ``fault_redis``, as an environment for subprocesses;
``fault_daphne`` serves the project on it. Without the binaries the tests skip locally and
fail under CI=true (tests.conftest.need_server).
"""

import os

import pytest

from tests.conftest import need_server

from .harness import FAULT_ENV
from .servers import MigratedPostgres, daphne_process, missing_binaries, private_postgres
from .servers import private_redis as _private_redis

pytestmark = pytest.mark.faults


@pytest.fixture(scope="session")
def fault_binaries():
    """The harness runs once in CI, in the PostgreSQL + Redis pass (it brings its own
    servers, so the SQLite pass would only repeat it)."""
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        pytest.skip("runs in the PostgreSQL pass (DATABASE_URL=postgres://...)")
    if missing := missing_binaries():
        need_server(f"the fault harness needs {', '.join(missing)}")


@pytest.fixture(scope="session")
def fault_postgres(fault_binaries):
    with private_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def fault_redis(fault_binaries):
    with _private_redis() as server:
        yield server


@pytest.fixture(scope="session")
def fault_template(fault_postgres):
    return MigratedPostgres(fault_postgres, **FAULT_ENV)


@pytest.fixture
def fault_database(fault_template, fault_redis):
    """A fresh database, and the environment a subprocess (manage.py, daphne) needs."""
    if fault_redis.process is None or fault_redis.process.poll() is not None:
        fault_redis.start()  # a test before this one killed it
    return fault_template.fresh_env(REDIS_URL=fault_redis.url)


@pytest.fixture
def fault_daphne(fault_database):
    with daphne_process(fault_database) as web:
        yield web
