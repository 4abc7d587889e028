"""Real servers for end-to-end tests: daphne on a free 127.0.0.1 port, started and stopped.

    with migrated_database(tmp_path) as env, running_daphne(env=env) as server:
        status, headers, body = http_get(server.url("/healthz"))

Everything is bounded: a server that does not answer within ``startup_timeout`` is killed
and the test fails with its log; stopping waits a few seconds, then kills.
"""

import asyncio
import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
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
    env: dict = field(default_factory=dict, repr=False)  # what it was started with

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
def migrated_database(
    directory: Path | None = None, *, seeded: bool = False, **overrides: str
) -> Iterator[dict]:
    """A fresh, migrated SQLite file (with ``seeded``, holding `seed_demo`'s data too);
    yields the environment that points at it.

    Each is a copy of a file migrated (and seeded) once per test run: migrating takes
    seconds, and two dozen modules start from it. The copy is the same file a migrate
    would make: nothing in it depends on the ``overrides`` (the demo's data is the same
    whatever the server's settings)."""
    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        database = directory / "e2e.sqlite3"
        shutil.copyfile(_template(seeded=seeded), database)
        yield server_env(DATABASE_URL=f"sqlite:///{database}", **overrides)


@contextlib.contextmanager
def demo_site(directory: Path, **overrides: str) -> Iterator["Server"]:
    """daphne serving a copy of the seeded demo (media under ``directory``), for the
    browser tests that look at the product as a user would."""
    media = str(directory / "media")
    with (
        migrated_database(directory, seeded=True, DJANGO_MEDIA_ROOT=media, **overrides) as env,
        running_daphne(env=env) as server,
    ):
        yield server


_TEMPLATES: dict[bool, Path] = {}


def _template(*, seeded: bool) -> Path:
    """The run's migrated (or migrated and seeded) database file, made on first use and
    removed when the test process ends."""
    if seeded not in _TEMPLATES:
        directory = Path(tempfile.mkdtemp(prefix="e2e-template-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        path = directory / ("seeded.sqlite3" if seeded else "migrated.sqlite3")
        env = server_env(DATABASE_URL=f"sqlite:///{path}", DJANGO_MEDIA_ROOT=str(directory))
        if seeded:
            shutil.copyfile(_template(seeded=False), path)
            manage("seed_demo", env={**env, "DJANGO_DEBUG": "true"})
        else:
            manage("migrate", "--noinput", env=env)
        _TEMPLATES[seeded] = path
    return _TEMPLATES[seeded]


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
    server = Server(host=HOST, port=port, process=process, log=log, env=env)
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


# --- PostgreSQL: a database of one's own on the shared server --------------------------------


@contextlib.contextmanager
def postgres_database(server_url: str, *, prefix: str = "mywallet_e2e") -> Iterator[str]:
    """A new, empty database on the PostgreSQL server of ``server_url``, dropped afterwards
    (others run tests on the same server at the same time: never a shared name)."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(server_url)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def migrated_postgres(server_url: str, **overrides: str) -> Iterator[dict]:
    """Like ``migrated_database``, on a fresh PostgreSQL database of its own."""
    with postgres_database(server_url) as url:
        env = server_env(DATABASE_URL=url, **overrides)
        manage("migrate", "--noinput", env=env)
        yield env


# --- Redis: a private redis-server, so the shared one is never restarted --------------------


class RedisServer:
    """redis-server on a free port of 127.0.0.1, without persistence; ``restart`` keeps
    the port, so every process pointed at it finds it again."""

    def __init__(self):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self, timeout: float = 10) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", HOST),
                *("--save", "", "--appendonly", "no", "--maxclients", "10000"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"redis-server did not answer on port {self.port}")

    def stop(self, timeout: float = 10) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def running_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- staff with a known TOTP key -------------------------------------------------------------

STAFF_PASSWORD = "e2e-correct-horse-battery"  # a throwaway test database's

_CREATE_STAFF = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice
from accounts.roles import AGENTS
for name in {names!r}:
    user = get_user_model().objects.create_user(username=name, password={password!r},
                                                is_staff=True, first_name=name.title())
    user.groups.add(Group.objects.get(name=AGENTS))
    TOTPDevice.objects.create(user=user, name="app", key={key!r}, confirmed=True)
"""
STAFF_TOTP_KEY = "3132333435363738393031323334353637383930"  # hex, RFC 6238's test key


def create_staff(env: dict[str, str], *names: str) -> None:
    """Agents (group Agents) with password STAFF_PASSWORD and TOTP key STAFF_TOTP_KEY."""
    code = _CREATE_STAFF.format(names=list(names), password=STAFF_PASSWORD, key=STAFF_TOTP_KEY)
    manage("shell", "-c", code, env=env)


def totp_now() -> str:
    from django_otp.oath import totp

    return f"{totp(bytes.fromhex(STAFF_TOTP_KEY)):06d}"


# --- an HTTP client that keeps cookies (Secure ones too: production settings over http) ----


class HttpSession:
    """Cookies kept by hand: the server runs with DEBUG off, so its cookies are Secure and
    urllib's jar would not send them back over plain http to 127.0.0.1."""

    def __init__(self, server: Server, *, timeout: float = 10):
        self.server = server
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict | None = None,
        body: bytes | None = None,
        headers=None,
    ):
        """``form`` is sent urlencoded; ``body`` as it is (say its Content-Type in headers)."""
        import http.client
        import http.cookies
        from urllib.parse import urlencode

        if form is not None:
            body = urlencode(form).encode()
        all_headers = {"Host": f"{self.server.host}:{self.server.port}", **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = self.cookie_header()
        if form is not None:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(
            self.server.host, self.server.port, timeout=self.timeout
        )
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
            for header in response.headers.get_all("Set-Cookie") or ():
                parsed = http.cookies.SimpleCookie()
                parsed.load(header)
                for name, morsel in parsed.items():
                    if morsel["max-age"] == "0" or (morsel.value == "" and morsel["expires"]):
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return response.status, response.headers, data
        finally:
            connection.close()

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, form: dict, **kwargs):
        headers = {
            "X-CSRFToken": self.cookies.get("csrftoken", ""),
            "Origin": self.server.base_url,
            "Referer": self.server.url(path),
            **kwargs.pop("headers", {}),
        }
        return self.request("POST", path, form=form, headers=headers, **kwargs)

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())


def start_customer_chat(server: Server, **form: str) -> tuple[HttpSession, dict]:
    """A customer's browser: GET /chat/ (session and CSRF cookies), POST /chat/start/."""
    import json

    session = HttpSession(server)
    status, _headers, body = session.get("/chat/")
    assert status == 200, body[:500]
    assert "csrftoken" in session.cookies, session.cookies
    status, _headers, body = session.post("/chat/start/", form)
    assert status == 200, body[:500]
    return session, json.loads(body)


def agent_login(server: Server, username: str) -> HttpSession:
    """Sign in to the two-factor admin with password and the TOTP code of now."""
    session = HttpSession(server)
    status, _headers, body = session.get("/admin/login/")
    assert status == 200, body[:500]
    form = {
        "csrfmiddlewaretoken": session.cookies["csrftoken"],
        "username": username,
        "password": STAFF_PASSWORD,
        "otp_token": totp_now(),
        "next": "/admin/",
    }
    status, _headers, body = session.post("/admin/login/", form)
    assert status == 302, body.decode(errors="replace")[-2000:]
    assert "sessionid" in session.cookies
    return session


# --- websocket clients (the `websockets` package), every wait bounded -----------------------

WS_TIMEOUT = 10


class Peer:
    """One chat socket: frames received are kept in ``frames``; waits are bounded."""

    def __init__(self, connection):
        self.connection = connection
        self.frames: list[dict] = []
        self._seen = 0  # frames before this index were consumed by ``expect``

    @classmethod
    async def open(
        cls,
        server: Server,
        path: str,
        session: HttpSession | None = None,
        *,
        origin: str | None = None,
        timeout: float = WS_TIMEOUT,
    ) -> "Peer":
        from websockets.asyncio.client import connect

        headers = {"Cookie": session.cookie_header()} if session is not None else {}
        connection = await connect(
            server.ws_base_url + path,
            origin=origin or server.base_url,
            additional_headers=headers,
            open_timeout=timeout,
            close_timeout=2,
            max_size=None,
            proxy=None,
        )
        return cls(connection)

    async def send(self, frame: dict | str) -> None:
        import json

        text = frame if isinstance(frame, str) else json.dumps(frame)
        await asyncio.wait_for(self.connection.send(text), WS_TIMEOUT)

    async def receive(self, timeout: float = WS_TIMEOUT) -> dict:
        import json

        frame = json.loads(await asyncio.wait_for(self.connection.recv(), timeout))
        self.frames.append(frame)
        return frame

    async def expect(self, predicate, *, timeout: float = WS_TIMEOUT) -> dict:
        """The first frame not yet consumed that matches ``predicate`` (reading on)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for index in range(self._seen, len(self.frames)):
                if predicate(self.frames[index]):
                    self._seen = index + 1
                    return self.frames[index]
            self._seen = len(self.frames)
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                await self.receive(remaining)
            except TimeoutError:
                raise AssertionError(
                    f"no matching frame within {timeout} s: {self.frames[-10:]}"
                ) from None

    async def quiet(self, seconds: float = 0.5) -> list[dict]:
        """Every frame arriving within ``seconds`` (read until then)."""
        import websockets

        got = []
        deadline = asyncio.get_running_loop().time() + seconds
        while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                got.append(await self.receive(remaining))
            except (TimeoutError, websockets.ConnectionClosed):
                break
        return got

    async def closed_code(self, timeout: float = WS_TIMEOUT) -> int | None:
        """Read until the server closes; its close code."""
        import websockets

        deadline = asyncio.get_running_loop().time() + timeout
        try:
            while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
                await self.receive(remaining)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        raise AssertionError(f"still open after {timeout} s")

    def messages(self) -> list[dict]:
        return [frame for frame in self.frames if frame.get("type") == "message"]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.connection.close(), 5)
