"""Real servers for end-to-end tests: daphne on a free 127.0.0.1 port, started and stopped.

    with migrated_database(tmp_path) as env, running_daphne(env=env) as server:
        status, headers, body = http_get(server.url("/healthz"))

Everything is bounded: a server that does not answer within ``startup_timeout`` is killed
and the test fails with its log; stopping waits a few seconds, then kills.
"""

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
ASGI_APP = "mywallet_support.asgi:application"


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_base_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def free_port(host: str = HOST) -> int:
    """A port the kernel says is free now (a small race with other processes remains)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def server_env(**overrides: str) -> dict[str, str]:
    """The test process's environment (with tests.pytest_env's values) plus ``overrides``."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **overrides}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # manage.py and asgi.py set the project's own
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``manage.py`` in a subprocess; raises with its output if it fails."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"manage.py {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


@contextlib.contextmanager
def migrated_database(directory: Path | None = None, **overrides: str) -> Iterator[dict]:
    """A fresh, migrated SQLite file; yields the environment that points at it."""
    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        env = server_env(DATABASE_URL=f"sqlite:///{directory / 'e2e.sqlite3'}", **overrides)
        manage("migrate", "--noinput", env=env)
        yield env


@contextlib.contextmanager
def running_daphne(
    *, env: dict[str, str], startup_timeout: float = 30, stop_timeout: float = 10
) -> Iterator[Server]:
    """Serve the project with daphne on a free port of 127.0.0.1 until the block ends."""
    port = free_port()
    with tempfile.NamedTemporaryFile(prefix="daphne-", suffix=".log", delete=False) as log_file:
        log = Path(log_file.name)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(port), ASGI_APP],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(host=HOST, port=port, process=process, log=log)
    try:
        _wait_until_listening(server, startup_timeout)
        yield server
    finally:
        _stop(process, stop_timeout)
        log.unlink(missing_ok=True)


def _wait_until_listening(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(
                f"daphne exited with {server.process.returncode} before serving:\n{server.output()}"
            )
        with (
            contextlib.suppress(OSError),
            socket.create_connection((server.host, server.port), timeout=1),
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"daphne did not listen within {timeout} s:\n{server.output()}")


def _stop(process: subprocess.Popen, timeout: float) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


# No proxies: an http_proxy in the environment must never see requests meant for 127.0.0.1.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str, *, timeout: float = 10, headers: dict | None = None):
    """GET ``url``; returns (status, headers, body bytes) for any status, without redirects
    being followed silently into other hosts (only 127.0.0.1 is ever asked)."""
    assert url.startswith(f"http://{HOST}:"), url
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()
