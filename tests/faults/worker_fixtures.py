"""What the worker and disk fault scenarios need: a migrated database of their own (SQLite,
or PostgreSQL in the PostgreSQL pass), the real task worker as a subprocess that can be
killed with SIGKILL and started again, and a real SMTP server (aiosmtpd) that counts what
it takes by Message-ID and can hold a session at a chosen SMTP step until the test has
killed the client.

Every wait is bounded; every process and server started here is stopped at the end.
"""

import asyncio
import collections
import contextlib
import email
import email.policy
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.e2e.servers import HOST, ROOT, free_port, migrated_database, migrated_postgres

DATABASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = DATABASE_URL.startswith(("postgres://", "postgresql://"))
HOLD_LIMIT = 30.0  # seconds a held SMTP step waits for the test at most


def report(scenario: str, *, lost: int, doubled: int, recovered_in: float) -> str:
    """The one line each scenario prints (and returns), read by people and bench/faults.py."""
    line = f"FAULT {scenario} lost={lost} doubled={doubled} recovered_in={recovered_in:.1f}s"
    print(line)
    return line


@contextlib.contextmanager
def fault_database(directory: Path, **overrides: str) -> Iterator[dict]:
    """A fresh migrated database (PostgreSQL in the PostgreSQL pass, else a SQLite file);
    yields the environment of the processes that use it."""
    if ON_POSTGRES:
        with migrated_postgres(DATABASE_URL, **overrides) as env:
            yield env
    else:
        with migrated_database(directory, **overrides) as env:
            yield env


def query(env: dict, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows read straight from the scenario's database (no Django in between)."""
    url = env["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)) as db:
            return db.execute(sql.replace("%s", "?"), params).fetchall()
    import psycopg

    with psycopg.connect(url, connect_timeout=10, autocommit=True) as db:
        return db.execute(sql, params).fetchall()


def shell(env: dict, code: str, *, timeout: float = 120) -> object:
    """Run ``code`` in `manage.py shell`; the JSON it prints last is returned."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- the task worker --------------------------------------------------------------------


class Worker:
    """`manage.py run_worker` (as bin/run-dev.sh starts it) in a subprocess."""

    def __init__(self, env: dict):
        self.env = env
        self.process: subprocess.Popen | None = None
        self.kills = 0
        descriptor, name = tempfile.mkstemp(prefix="worker-", suffix=".log")
        os.close(descriptor)
        self.log = Path(name)

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "manage.py", "run_worker", "--queue-name", "*"),
                    *("--no-reload", "--no-startup-delay", "--interval", "0.1"),
                ],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL: no handler, no clean-up, as the OOM killer or a lost machine does it."""
        assert self.process is not None and self.process.poll() is None, self.output()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextlib.contextmanager
def task_worker(env: dict) -> Iterator[Worker]:
    worker = Worker(env)
    try:
        yield worker
    finally:
        worker.stop()
        worker.log.unlink(missing_ok=True)


# --- an SMTP server that counts by Message-ID and holds a step on demand -----------------


class HoldingHandler:
    """aiosmtpd handler. Every mail it takes is counted by its Message-ID as soon as DATA is
    complete (the worst case: a server that delivers what it got even if its 250 was never
    read). ``hold("RCPT")`` or ``hold("DATA")`` makes the next session stop at that step
    (after counting, for DATA) until `release`; ``arrived`` tells the test it is there."""

    def __init__(self):
        self.received: collections.Counter[str] = collections.Counter()
        self.total = 0
        self._lock = threading.Lock()
        self._hold_at: str | None = None
        self.arrived = threading.Event()
        self._released = threading.Event()

    def hold(self, step: str) -> None:
        self.arrived.clear()
        self._released.clear()
        self._hold_at = step

    def release(self) -> None:
        self._hold_at = None
        self._released.set()

    async def _maybe_hold(self, step: str) -> None:
        if self._hold_at != step:
            return
        self._hold_at = None  # one session only
        self.arrived.set()
        deadline = time.monotonic() + HOLD_LIMIT
        while not self._released.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await self._maybe_hold("RCPT")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        message_id = str(parsed["Message-ID"] or "").strip().strip("<>")
        with self._lock:
            self.received[message_id] += 1
            self.total += 1
        await self._maybe_hold("DATA")
        return "250 2.0.0 Message accepted for delivery"


@contextlib.contextmanager
def holding_smtp_server() -> Iterator[tuple[Controller, HoldingHandler]]:
    handler = HoldingHandler()
    controller = Controller(
        handler,
        hostname=HOST,
        port=free_port(),
        ready_timeout=10,
        enable_SMTPUTF8=True,
        decode_data=False,
    )
    controller.start()
    try:
        yield controller, handler
    finally:
        handler.release()
        controller.stop()


def wait_for(predicate, *, timeout: float, what: str, poll: float = 0.05):
    """Poll ``predicate`` until it returns something true; that value. Bounded."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(poll)


# --- a disk that fills up -------------------------------------------------------------------


@contextlib.contextmanager
def tiny_disk(directory: Path, size: str = "1m") -> Iterator[Path]:
    """A real tmpfs of ``size`` mounted on ``directory`` (we run as root in CI); unmounted
    at the end. Skipped locally when mounting is not permitted; under CI=true, a failure."""
    from tests.conftest import need_server

    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if mounted.returncode != 0:
        need_server(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], capture_output=True, timeout=30)


def resize(directory: Path, size: str) -> None:
    """Give the tmpfs on ``directory`` room again (or take it away): the disk freed."""
    subprocess.run(
        ["mount", "-o", f"remount,size={size}", str(directory)],
        capture_output=True,
        timeout=30,
        check=True,
    )


def used_bytes(directory: Path) -> int:
    stats = os.statvfs(directory)
    return (stats.f_blocks - stats.f_bfree) * stats.f_frsize
