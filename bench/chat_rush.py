#!/usr/bin/env python
"""A morning rush: customers starting chats in waves while agent consoles watch the queue.

    .venv/bin/python bench/chat_rush.py [--chats 100,300,1000] [--agents 20] [--wave 50]
                                        [--redis URL|auto] [--quick]

Starts real daphne (tests/e2e/servers.py) on a fresh, migrated SQLite database of its own,
with auto-assign off and the start throttle and socket rate limit out of the way (printed).
Per layer (the in-memory layer; with --redis also the Redis pub/sub layer, ``auto``
starting a private redis-server) and per N in --chats, twice, one run right after the
other: with no agent online, then with --agents consoles online (each a verified agent
session on /ws/agent/, presence online). In a run, N customers start chats in waves of
--wave at once; a start is GET /chat/, POST /chat/start/, then the customer's socket on
/ws/chat/ until its first status frame (the customers stay connected until the run ends).
The consoles read in a process of their own, the customers in this one.

Printed per run: starts per second (N over the time from the first start to the last
answered), bytes each console received from its first start to the queue's last change
(max and mean), and per N the ratio of starts/s with agents to starts/s with none (goal:
about 1) and whether each console stayed under 1 MB at the largest N. Checked, failing
loudly otherwise: every start answered once with a conversation of its own, the database
holds exactly N chats of the run (none lost, none doubled), and with agents online every
console's last waiting count is N. Between runs the chats of the last are ended in the
database so each run starts from an empty queue.
"""

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleS0=")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")

from tests.e2e.servers import (  # noqa: E402
    RedisServer,
    manage,
    migrated_database,
    running_daphne,
    start_customer_chat,
)

LIMIT = 1_000_000  # the throttles must not be what is measured
SERVER_ENV = {
    "CHAT_RATE_PER_SECOND": str(LIMIT),
    "CHAT_RATE_BURST": str(LIMIT),
    "CHAT_HTTP_PER_MINUTE": str(LIMIT),
    "CHAT_AUTO_ASSIGN": "false",
    "LOG_LEVEL": "WARNING",
}
MB = 1024 * 1024
QUIET_TIMEOUT = 60  # seconds the consoles may take to see the queue's last change


# --- the database, through manage.py shell ---------------------------------------------------

AGENTS = """
import json
from bench.chat_rush import agent_sessions
print("BENCH-AGENTS " + json.dumps(agent_sessions({count})))
"""

END_ALL = """
from chat.models import Conversation
ended = Conversation.objects.exclude(state="ended").update(state="ended")
print("BENCH-COUNT", Conversation.objects.count())
"""


def agent_sessions(count: int) -> list[str]:
    """``count`` agents, each with a session verified by a confirmed device: their keys."""
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.roles import AGENTS as AGENTS_GROUP

    User = get_user_model()
    group = Group.objects.get(name=AGENTS_GROUP)
    keys = []
    for n in range(count):
        user = User.objects.create(
            username=f"rush{n}",
            first_name=f"Agent {n}",
            is_staff=True,
            password=make_password(None),
        )
        user.groups.add(group)
        device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.create()
        keys.append(session.session_key)
    return keys


def shell_line(env: dict, code: str, prefix: str) -> str:
    out = manage("shell", "-c", code, env=env, timeout=300).stdout
    return next(line for line in out.splitlines() if line.startswith(prefix)).removeprefix(prefix)


# --- the clients ----------------------------------------------------------------------------


async def open_socket(server, path: str, cookies: str):
    from websockets.asyncio.client import connect

    return await connect(
        server.ws_base_url + path,
        origin=server.base_url,
        additional_headers={"Cookie": cookies},
        open_timeout=60,
        close_timeout=2,
        max_size=None,
        proxy=None,
        compression=None,
    )


class Console:
    """An agent console: counts the bytes it receives and the queue's count it was told."""

    def __init__(self, socket):
        self.socket = socket
        self.bytes = 0
        self.frames = 0
        self.count = 0
        self.counting = False
        self.changed = asyncio.Event()
        self.task = asyncio.create_task(self.read())

    async def read(self):
        with contextlib.suppress(Exception):
            async for text in self.socket:
                frame = json.loads(text)
                if self.counting:
                    self.bytes += len(text.encode()) if isinstance(text, str) else len(text)
                    self.frames += 1
                if frame.get("type") == "waiting":
                    self.count = frame.get("count", len(frame.get("chats", [])))
                elif frame.get("type") == "waiting_change":
                    self.count = frame["count"]
                self.changed.set()

    async def close(self):
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.socket.close(), 2)
        self.task.cancel()


async def open_console(server, session_key: str) -> Console:
    socket = await open_socket(server, "/ws/agent/", f"sessionid={session_key}")
    console = Console(socket)
    await socket.send(json.dumps({"type": "presence", "status": "online"}))
    return console


async def start_one(server, n: int) -> tuple[int, object]:
    """One customer: the page, the start, the socket up to its first status frame."""
    session, started = await asyncio.to_thread(
        start_customer_chat, server, name=f"Rush {n}", contact=""
    )
    socket = await open_socket(server, "/ws/chat/", session.cookie_header())
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), 60))
        if frame.get("type") == "status":
            return started["conversation"], socket


async def watch_queue(server, keys: list[str], pipe) -> None:
    """The consoles' side, in a process of its own (reading thousands of frames must not
    slow the customers' event loop): connect, say "ready", and once told the number of
    chats, wait until every console was told that count, then send back what each got."""
    consoles = [await open_console(server, key) for key in keys]
    await asyncio.sleep(1.0)  # presence online, hello and waiting read
    for console in consoles:
        console.counting = True
    pipe.send("ready")
    chats = await asyncio.to_thread(pipe.recv)
    deadline = time.monotonic() + QUIET_TIMEOUT
    while any(c.count != chats for c in consoles) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # anything still on its way
    pipe.send(
        {
            "counts": [c.count for c in consoles],
            "bytes": [c.bytes for c in consoles],
            "frames": [c.frames for c in consoles],
        }
    )
    for console in consoles:
        await console.close()


def consoles_process(server, keys: list[str], pipe) -> None:
    try:
        asyncio.run(watch_queue(server, keys, pipe))
    except BaseException as exc:
        pipe.send(f"FAILED: consoles: {type(exc).__name__}: {exc}")
        raise


async def rush(server, *, chats: int, wave: int, agent_keys: list[str]) -> dict:
    # A thread per start of a wave for the blocking HTTP client (the default pool has
    # only a few on a small machine, which would cap the waves).
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(wave))
    watched = {"counts": [], "bytes": [], "frames": []}
    pipe = process = None
    if agent_keys:
        context = multiprocessing.get_context("fork")
        pipe, child = context.Pipe()
        process = context.Process(target=consoles_process, args=(server, agent_keys, child))
        process.start()
        ready = await asyncio.to_thread(pipe.recv)
        if ready != "ready":
            raise SystemExit(ready)
    customers, conversations = [], []
    started = time.monotonic()
    for first in range(0, chats, wave):
        done = await asyncio.gather(
            *(start_one(server, n) for n in range(first, min(first + wave, chats)))
        )
        conversations += [conversation for conversation, _socket in done]
        customers += [socket for _conversation, socket in done]
    elapsed = time.monotonic() - started
    if process is not None:
        pipe.send(chats)
        watched = await asyncio.to_thread(pipe.recv)
        if isinstance(watched, str):
            raise SystemExit(watched)
        process.join(10)
    for socket in customers:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(socket.close(), 2)
    # Each closed socket is a database write on daphne's one database thread: let them
    # finish, or the next run's handshakes wait behind them (daphne closes a handshake
    # the application has not answered in 5 s: the reconnect storm of issue 12).
    await asyncio.sleep(2 + chats / 100)
    return {
        "rate": chats / elapsed,
        "seconds": elapsed,
        "conversations": conversations,
        **watched,
    }


# --- the run --------------------------------------------------------------------------------


def run_layer(name: str, env: dict, sizes, *, agents: int, wave: int) -> list[tuple]:
    print(f"\n== {name} ==", flush=True)
    rows = []
    with running_daphne(env=env, startup_timeout=60) as server:
        keys = json.loads(shell_line(env, AGENTS.format(count=agents), "BENCH-AGENTS "))
        total = int(shell_line(env, END_ALL, "BENCH-COUNT "))
        for size in sizes:
            results = {}
            for online in (0, agents):
                result = asyncio.run(rush(server, chats=size, wave=wave, agent_keys=keys[:online]))
                after = int(shell_line(env, END_ALL, "BENCH-COUNT "))
                problems = []
                if len(set(result["conversations"])) != size:
                    problems.append(f"{len(set(result['conversations']))} distinct chats answered")
                if after - total != size:
                    problems.append(f"{after - total} chats stored, {size} started")
                if any(count != size for count in result["counts"]):
                    problems.append(f"consoles' last counts {sorted(set(result['counts']))}")
                if problems:
                    raise SystemExit(f"FAILED: N={size}, {online} agents: {problems}")
                total = after
                results[online] = result
                per_console = result["bytes"]
                consoles = (
                    f"per console: max {max(per_console) / MB:.3f} MB, mean "
                    f"{statistics.mean(per_console) / MB:.3f} MB in "
                    f"{max(result['frames'])} frames (all {sum(per_console) / MB:.1f} MB)"
                    if per_console
                    else "no console online"
                )
                print(
                    f"  N={size:<5} agents {online:>2}: {result['rate']:6.1f} starts/s "
                    f"({size} in {result['seconds']:.1f} s); {consoles}",
                    flush=True,
                )
            ratio = results[agents]["rate"] / results[0]["rate"]
            print(
                f"  N={size:<5} starts/s with {agents} agents / with none: {ratio:.2f}x", flush=True
            )
            rows.append((name, size, results[0], results[agents], ratio))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", default="100,300,1000", help="N values, comma-separated")
    parser.add_argument("--agents", type=int, default=20, help="consoles online in a run")
    parser.add_argument("--wave", type=int, default=50, help="starts at once")
    parser.add_argument("--redis", help="also on the Redis pub/sub layer: a URL, or 'auto'")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    args = parser.parse_args()
    sizes = [int(n) for n in args.chats.split(",")]
    if args.quick:
        sizes, args.agents, args.wave = [20], 3, 10
    print(
        f"chat rush: daphne (1 process) and clients on this machine, {os.cpu_count()} cores, "
        f"shared by both; SQLite database; CHAT_AUTO_ASSIGN=false, CHAT_HTTP_PER_MINUTE and "
        f"the socket rate limit set to {LIMIT}; waves of {args.wave}",
        flush=True,
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="chat-rush-") as directory:
        base = Path(directory)
        (base / "memory").mkdir()
        with migrated_database(base / "memory", **SERVER_ENV) as env:
            rows += run_layer("in-memory layer", env, sizes, agents=args.agents, wave=args.wave)
        if args.redis:
            with contextlib.ExitStack() as stack:
                url = args.redis
                if url == "auto":
                    if not shutil.which("redis-server"):
                        raise SystemExit("FAILED: --redis auto needs redis-server")
                    redis = RedisServer()
                    redis.start()
                    stack.callback(redis.stop)
                    url = redis.url
                (base / "redis").mkdir()
                env = stack.enter_context(
                    migrated_database(base / "redis", REDIS_URL=url, **SERVER_ENV)
                )
                rows += run_layer(
                    f"Redis pub/sub layer ({url})", env, sizes, agents=args.agents, wave=args.wave
                )
    print(f"\nsummary (goal: each console under 1 MB at N={max(sizes)}, starts/s ratio ~1):")
    for name, size, alone, watched, ratio in rows:
        heaviest = max(watched["bytes"]) / MB if watched["bytes"] else 0.0
        verdict = ""
        if size == max(sizes):
            verdict = "  under 1 MB: " + ("yes" if heaviest < 1 else "NO")
        print(
            f"  {name:<40} N={size:<5} starts/s {alone['rate']:6.1f} (0 agents) "
            f"{watched['rate']:6.1f} ({args.agents} agents) = {ratio:.2f}x; "
            f"max per console {heaviest:.3f} MB{verdict}"
        )


if __name__ == "__main__":
    main()
