"""Private servers for the fault harness, each on a free port of 127.0.0.1 in a directory of
its own, that a scenario may kill and start again on the same port.

    with private_postgres() as pg, private_redis() as redis:
        env = MigratedPostgres(pg).fresh_env(REDIS_URL=redis.url)
        with daphne_process(env) as web:
            redis.kill(); redis.start()     # SIGKILL, then the same port again
            pg.restart()                    # pg_ctl restart -m immediate
            web.kill(); web.start()         # SIGKILL, then the same port again

PostgreSQL runs from ``PG_BIN`` (default: the newest /usr/lib/postgresql/<version>/bin,
else initdb and pg_ctl on PATH); as root, initdb and pg_ctl run as the postgres user
(initdb refuses root) in a directory that user owns. Every wait is bounded; every server
is stopped when its block ends, even when the scenario failed. ``missing_binaries`` names
what is not installed, for the tests to skip locally and fail under CI=true.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.servers import (
    ASGI_APP,
    HOST,
    ROOT,
    RedisServer,
    Server,
    free_port,
    http_get,
    manage,
    server_env,
)


def _pg_bin() -> Path:
    """PG_BIN, else Debian's newest /usr/lib/postgresql/<version>/bin."""
    if configured := os.environ.get("PG_BIN"):
        return Path(configured)
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    return versions[-1] if versions else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()


def pg_tool(name: str) -> str | None:
    candidate = PG_BIN / name
    if candidate.is_file():
        return str(candidate)
    return shutil.which(name)


def missing_binaries() -> list[str]:
    """The server binaries the harness needs that this machine lacks."""
    missing = [name for name in ("redis-server",) if not shutil.which(name)]
    missing += [name for name in ("initdb", "pg_ctl") if pg_tool(name) is None]
    return missing


# --- PostgreSQL ------------------------------------------------------------------------------


class PostgresServer:
    """A throwaway PostgreSQL cluster: trust authentication, listening on 127.0.0.1 only,
    its unix socket in its own directory. fsync is off (the scenarios kill processes, they
    do not cut the power); synchronous_commit stays on: with it off, an immediate restart
    lost messages that had been acknowledged, which is no fault of the product's."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgres://postgres@{HOST}:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{name}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise AssertionError(
                f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n"
                f"{result.stderr}\n{log}"
            )

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            pg_tool("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--no-sync", "--locale=C",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses={HOST} -k {self.directory} "
            "-c fsync=off -c full_page_writes=off "
            "-c max_connections=300"
        )
        self._run(
            pg_tool("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", options, "start",
        )  # fmt: skip

    def restart(self, mode: str = "immediate") -> None:
        """Every connection is cut (``immediate``: the postmaster and its backends are
        killed, then crash recovery), then the server answers again on the same port."""
        self._run(
            pg_tool("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-m", mode, "restart",
        )  # fmt: skip

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                self._run(pg_tool("pg_ctl"), "-D", str(self.data), "-w", "-m", "immediate", "stop")

    def create_database(self, template: str | None = None) -> str:
        import psycopg

        name = f"faults_{uuid.uuid4().hex[:10]}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as connection:
            connection.execute(f'CREATE DATABASE "{name}"{clause}')
        return name


@contextlib.contextmanager
def private_postgres() -> Iterator[PostgresServer]:
    directory = Path(tempfile.mkdtemp(prefix="faults-pg-"))
    server = PostgresServer(directory)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


class MigratedPostgres:
    """One migrated database kept as a template, copied for each scenario (a copy takes a
    fraction of a second, migrating takes many)."""

    def __init__(self, server: PostgresServer, **overrides: str):
        self.server = server
        self.overrides = overrides
        self.template = server.create_database()
        manage("migrate", "--noinput", env=self.env_for(self.template))

    def env_for(self, name: str, **overrides: str) -> dict[str, str]:
        return server_env(
            DATABASE_URL=self.server.database_url(name), **{**self.overrides, **overrides}
        )

    def fresh_env(self, **overrides: str) -> dict[str, str]:
        return self.env_for(self.server.create_database(template=self.template), **overrides)


# --- Redis -----------------------------------------------------------------------------------


class KillableRedis(RedisServer):
    """tests.e2e.servers' private redis-server, which can also die at once (SIGKILL)."""

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@contextlib.contextmanager
def private_redis() -> Iterator[KillableRedis]:
    server = KillableRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()


# --- daphne ----------------------------------------------------------------------------------


# daphne as bin/run-dev.sh starts it (kept in step with it by hand): a listen backlog that
# holds a storm of reconnects (Twisted's default is 50), 30 s for a websocket handshake
# instead of 5 (past which daphne drops the connection without an answer), and one kept
# database connection for the process's sync thread instead of a new one per call.
RUN_DEV_BACKLOG = 1024
RUN_DEV_ARGS = ("--websocket_connect_timeout", "30")
RUN_DEV_ENV = {"DATABASE_CONN_MAX_AGE": "60"}


class DaphneProcess:
    """The project's ASGI app served by daphne on a fixed free port: ``kill`` (SIGKILL, no
    goodbye to anyone) and ``start`` again on the same port."""

    def __init__(
        self, env: dict[str, str], *, extra_args: tuple[str, ...] = (), backlog: int | None = None
    ):
        self.env = env
        self.port = free_port()
        self.extra_args = extra_args
        self.backlog = backlog  # None: daphne's -b/-p (Twisted's listen backlog of 50)
        descriptor, log = tempfile.mkstemp(prefix="faults-daphne-", suffix=".log")
        os.close(descriptor)
        self.log = Path(log)
        self.process: subprocess.Popen | None = None

    @property
    def server(self) -> Server:
        return Server(host=HOST, port=self.port, process=self.process, log=self.log, env=self.env)

    def start(self, timeout: float = 30) -> None:
        if self.backlog is None:
            listen = ["-b", HOST, "-p", str(self.port)]
        else:
            listen = ["-e", f"tcp:port={self.port}:interface={HOST}:backlog={self.backlog}"]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "daphne", *listen, *self.extra_args, ASGI_APP],
                cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"daphne exited early:\n{self.output()}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 1):
                return
            time.sleep(0.05)
        raise AssertionError(f"daphne did not listen within {timeout} s:\n{self.output()}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 10) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def healthy(self) -> bool:
        with contextlib.suppress(OSError):
            status, _headers, _body = http_get(self.server.url("/healthz"), timeout=2)
            return status == 200
        return False


@contextlib.contextmanager
def daphne_process(
    env: dict[str, str], *, as_run_dev: bool = True, **kwargs
) -> Iterator[DaphneProcess]:
    """daphne on ``env``: as bin/run-dev.sh starts it, or (``as_run_dev=False``) with
    daphne's own defaults and whatever ``kwargs`` say."""
    if as_run_dev:
        env = {**env, **RUN_DEV_ENV}
        kwargs = {"extra_args": RUN_DEV_ARGS, "backlog": RUN_DEV_BACKLOG, **kwargs}
    daphne = DaphneProcess(env, **kwargs)
    daphne.start()
    try:
        yield daphne
    finally:
        daphne.stop()
        daphne.log.unlink(missing_ok=True)
