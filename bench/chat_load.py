#!/usr/bin/env python
"""Live chat under load, against a bare relay on the same server, in the same run.

    .venv/bin/python bench/chat_load.py [--redis URL|auto] [--conversations 50,500]
                                        [--messages M] [--clients N] [--rounds R]
                                        [--quick]

Starts real daphne (tests/e2e/servers.py) on a fresh, migrated SQLite database of its own,
with CHAT_BENCH_RELAY=true, and the socket rate limit raised out of the way (printed). Per
layer (the in-memory layer; with --redis also the Redis pub/sub layer, ``auto`` starting a
private redis-server on a free port) and per C in --conversations:
  - relay: C pairs of sockets on /ws/bench-relay/ (chat/relay.py: a frame in, group_send to
    the other side, no storage, no checks);
  - chat: C conversations (created beforehand straight in the database: an agent with a
    verified two-factor session holding each, a customer session for each) with the
    customer on /ws/chat/ and the agent on /ws/agent/: every message is stored in a
    batch, acknowledged after commit, then broadcast.
Each side of each conversation sends M messages; a sender keeps at most --window messages
in flight (sent, not yet received by the other side). Printed: messages delivered per
second, p50/p95/p99 latency from send to receipt on the other side, and ours as ratios of
the relay's. Relay and chat take turns, --rounds times (default 3), and the ratios compare
their medians: on this shared machine one round alone varied by a quarter. Checked,
failing loudly otherwise: every message arrives exactly once (count and ids), every chat
message is acknowledged once with the id the other side received, and the database holds
exactly the messages sent.
"""

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
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
)

RATE = 1_000_000  # frames a second per socket: the limiter must not be what is measured
SERVER_ENV = {
    "CHAT_BENCH_RELAY": "true",
    "CHAT_RATE_PER_SECOND": str(RATE),
    "CHAT_RATE_BURST": str(RATE),
    "CHAT_SHARED_FRAMES": str(RATE),  # counted (its cost is measured), never refusing
    "CHAT_AUTO_ASSIGN": "false",
    "CHAT_MAX_CHATS": "1000",
    "LOG_LEVEL": "WARNING",
}
CONNECT_AT_ONCE = 25
RUN_TIMEOUT = int(os.environ.get("BENCH_RUN_TIMEOUT", "240"))


# --- the database, filled in a subprocess with Django set up -------------------------------

SETUP = """
import json, sys
from bench.chat_load import fill
print("BENCH-SPECS " + json.dumps(fill({count})))
"""


def fill(count: int) -> list[dict]:
    """``count`` conversations, each held by its own agent: (conversation, customer session
    key, agent session key). Bulk inserts, a few queries per conversation for the ticket."""
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts import agent_sign_in
    from accounts.models import Customer, CustomerIdentity
    from accounts.roles import AGENTS
    from chat.consumers import SESSION_KEY as CHAT_SESSION_KEY
    from chat.models import Conversation
    from tickets import actions as ticket_actions
    from tickets.models import Channel, Ticket

    User = get_user_model()
    start = User.objects.count()
    with transaction.atomic():
        users = User.objects.bulk_create(
            User(
                username=f"bench{start + i}",
                first_name=f"Agent {start + i}",
                is_staff=True,
                password=make_password(None),
            )
            for i in range(count)
        )
        users = list(User.objects.filter(username__in=[u.username for u in users]).order_by("pk"))
        group = Group.objects.get(name=AGENTS)
        User.groups.through.objects.bulk_create(
            User.groups.through(user_id=user.pk, group_id=group.pk) for user in users
        )
        TOTPDevice.objects.bulk_create(
            TOTPDevice(user=user, name="app", confirmed=True) for user in users
        )
        devices = {d.user_id: d for d in TOTPDevice.objects.filter(user__in=users)}
        customers = Customer.objects.bulk_create(
            Customer(name=f"Customer {start + i}") for i in range(count)
        )
        identities = CustomerIdentity.objects.bulk_create(
            CustomerIdentity(customer=customer, kind="web", value=f"bench-{customer.pk}")
            for customer in customers
        )
        tickets = [
            ticket_actions.open_ticket(
                customer=customer, channel=Channel.CHAT, subject="Bench chat", acting_user=None
            )
            for customer in customers
        ]
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(status=Ticket.Status.OPEN)
        for ticket, user in zip(tickets, users, strict=True):
            ticket.assignee = user
        Ticket.objects.bulk_update(tickets, ["assignee"])
        conversations = Conversation.objects.bulk_create(
            Conversation(
                ticket=ticket,
                identity=identity,
                agent=user,
                state=Conversation.State.ACTIVE,
            )
            for ticket, identity, user in zip(tickets, identities, users, strict=True)
        )
        specs = []
        for conversation, user in zip(conversations, users, strict=True):
            customer_session = SessionStore()
            customer_session[CHAT_SESSION_KEY] = conversation.pk
            customer_session.create()
            agent_session = SessionStore()
            agent_session[SESSION_KEY] = str(user.pk)
            agent_session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            agent_session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            agent_session[DEVICE_ID_SESSION_KEY] = devices[user.pk].persistent_id
            agent_sign_in.start(agent_session)
            agent_session.create()
            specs.append(
                {
                    "conversation": conversation.pk,
                    "customer": customer_session.session_key,
                    "agent": agent_session.session_key,
                }
            )
    return specs


def setup_conversations(env: dict, count: int) -> list[dict]:
    out = manage("shell", "-c", SETUP.format(count=count), env=env, timeout=300).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCH-SPECS "))
    return json.loads(line.removeprefix("BENCH-SPECS "))


def stored_messages(env: dict) -> int:
    code = (
        "from tickets.models import Message; print(Message.objects.filter(channel='chat').count())"
    )
    return int(manage("shell", "-c", code, env=env).stdout.strip().splitlines()[-1])


# --- the clients ----------------------------------------------------------------------------


class Side:
    """One socket of a pair: what it sent (times by seq), got and was acknowledged."""

    def __init__(self, name: str, messages: int, window: int):
        self.name = name
        self.sent_at: dict[int, float] = {}
        self.window = asyncio.Semaphore(window)
        self.received: list[int] = []  # seqs of the other side's messages, in arrival order
        self.received_ids: dict[int, int] = {}  # seq -> stored id (chat)
        self.acks: dict[int, int] = {}  # seq -> stored id (chat)
        self.ack_count = 0
        self.latencies: list[float] = []
        self.last_at = 0.0
        self.messages = messages
        self.done = asyncio.Event()


def _seq(text: str) -> int:
    return int(text[1:])


async def open_socket(url: str, origin: str, cookie: str | None):
    from websockets.asyncio.client import connect

    headers = {"Cookie": f"sessionid={cookie}"} if cookie else {}
    return await connect(
        url,
        origin=origin,
        additional_headers=headers,
        open_timeout=60,
        close_timeout=2,
        max_size=None,
        proxy=None,
        compression=None,
    )


async def read_until_ready(socket, mode: str, role: str) -> None:
    """Past the frames a chat socket sends on connect (status; hello, waiting, chat)."""
    if mode == "relay":
        return
    wanted = {"customer": "status", "agent": "chat"}[role]
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), 60))
        if frame["type"] == wanted:
            return


async def pair(spec: dict, *, mode: str, server: dict, messages: int, window: int, gate):
    base, origin = server["ws"], server["http"]
    conversation = spec["conversation"]
    if mode == "relay":
        urls = {
            side: (f"{base}/ws/bench-relay/{conversation}/{side}/", None)
            for side in ("customer", "agent")
        }
    else:
        urls = {
            "customer": (f"{base}/ws/chat/", spec["customer"]),
            "agent": (f"{base}/ws/agent/", spec["agent"]),
        }
    async with gate:
        sockets = {role: await open_socket(url, origin, key) for role, (url, key) in urls.items()}
        for role, socket in sockets.items():
            await read_until_ready(socket, mode, role)
    sides = {role: Side(role, messages, window) for role in sockets}
    return conversation, sockets, sides


async def drive(conversation, sockets, sides, *, mode: str, messages: int, run: str) -> None:
    other = {"customer": "agent", "agent": "customer"}

    async def send(role: str):
        socket, side = sockets[role], sides[role]
        for seq in range(messages):
            await side.window.acquire()
            # A client_id of this run only: the same id again is, rightly, stored once and
            # not broadcast (a later C reuses the first conversations).
            frame = {
                "type": "message",
                "text": f"{role[0]}{seq}",
                "client_id": f"{role[0]}{seq}-{run}",
            }
            if role == "agent":
                frame["conversation"] = conversation
            side.sent_at[seq] = time.monotonic()
            await socket.send(json.dumps(frame))

    async def receive(role: str):
        socket, side = sockets[role], sides[role]
        sender = sides[other[role]]
        expect_acks = mode == "chat"
        while len(side.received) < messages or (expect_acks and side.ack_count < messages):
            frame = json.loads(await socket.recv())
            now = time.monotonic()
            kind = frame.get("type")
            if kind == "message":
                seq = _seq(frame["text"])
                side.received.append(seq)
                if "id" in frame:
                    side.received_ids[seq] = frame["id"]
                side.latencies.append(now - sender.sent_at[seq])
                side.last_at = now
                sender.window.release()
            elif kind == "ack":
                side.ack_count += 1
                side.acks[_seq(frame["client_id"].split("-")[0])] = frame["id"]
            elif kind == "error":
                raise AssertionError(f"conversation {conversation} {role}: {frame}")

    await asyncio.gather(*(send(r) for r in sockets), *(receive(r) for r in sockets))


def verify(conversation: int, sides: dict, *, mode: str, messages: int) -> list[str]:
    problems = []
    expected = list(range(messages))
    for role, side in sides.items():
        if sorted(side.received) != expected:
            problems.append(
                f"conversation {conversation}: {role} received {len(side.received)} "
                f"({len(set(side.received))} distinct) of {messages}"
            )
        if mode == "chat":
            other = sides["agent" if role == "customer" else "customer"]
            if side.ack_count != messages or sorted(side.acks) != expected:
                problems.append(f"conversation {conversation}: {role} got {side.ack_count} acks")
            if len(set(side.acks.values())) != len(side.acks):
                problems.append(f"conversation {conversation}: {role}'s acks repeat an id")
            if side.acks != other.received_ids:
                problems.append(f"conversation {conversation}: ids acked to {role} != received")
    return problems


async def client_main(specs, *, mode, server, messages, window, barrier, results):
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    run = f"{os.getpid()}{time.monotonic_ns()}"
    pairs = await asyncio.gather(
        *(
            pair(spec, mode=mode, server=server, messages=messages, window=window, gate=gate)
            for spec in specs
        )
    )
    await asyncio.to_thread(barrier.wait, 120)
    started = time.monotonic()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        await asyncio.wait_for(
            asyncio.gather(*(drive(*p, mode=mode, messages=messages, run=run) for p in pairs)),
            RUN_TIMEOUT,
        )
    except TimeoutError:
        short = [
            f"{conversation} {role}: {len(side.received)} received, {side.ack_count} acks"
            for conversation, _sockets, sides in pairs
            for role, side in sides.items()
            if len(side.received) < messages or (mode == "chat" and side.ack_count < messages)
        ]
        total = sum(len(side.received) for _c, _s, sides in pairs for side in sides.values())
        raise AssertionError(
            f"not done within {RUN_TIMEOUT} s: {total} of {2 * len(pairs) * messages} "
            f"delivered; {len(short)} sides short, e.g. {short[:6]}"
        ) from None
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    problems, latencies, last = [], [], started
    for conversation, _sockets, sides in pairs:
        problems += verify(conversation, sides, mode=mode, messages=messages)
        for side in sides.values():
            latencies += side.latencies
            last = max(last, side.last_at)
    # Anything arriving after the counts were met would be a duplicate.
    await asyncio.sleep(0.3)
    for conversation, sockets, _sides in pairs:
        for role, socket in sockets.items():
            with contextlib.suppress(TimeoutError):
                while True:
                    frame = json.loads(await asyncio.wait_for(socket.recv(), 0.001))
                    if frame.get("type") in ("message", "ack"):
                        problems.append(f"conversation {conversation}: {role} got extra {frame}")
    for _conversation, sockets, _sides in pairs:
        for socket in sockets.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(socket.close(), 2)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    results.put(
        {
            "started": started,
            "last": last,
            "latencies": latencies,
            "problems": problems,
            "cpu": cpu,
        }
    )


def client_process(specs, mode, server, messages, window, barrier, results):
    try:
        asyncio.run(
            client_main(
                specs,
                mode=mode,
                server=server,
                messages=messages,
                window=window,
                barrier=barrier,
                results=results,
            )
        )
    except BaseException as exc:
        with contextlib.suppress(Exception):
            barrier.abort()
        results.put({"error": f"{type(exc).__name__}: {exc}"})
        raise


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(server, specs, *, mode: str, messages: int, window: int, clients: int) -> dict:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(clients + 1)
    results = context.Queue()
    chunks = [specs[i::clients] for i in range(clients)]
    address = {"ws": server.ws_base_url, "http": server.base_url}
    processes = [
        context.Process(
            target=client_process,
            args=(chunk, mode, address, messages, window, barrier, results),
            daemon=True,
        )
        for chunk in chunks
    ]
    for process in processes:
        process.start()
    try:
        barrier.wait(180)
    except Exception as exc:
        raise SystemExit(
            f"FAILED: {mode} clients did not connect: {results.get(timeout=5)}"
        ) from exc
    server_cpu = process_cpu(server.process.pid)
    outcomes = [results.get(timeout=RUN_TIMEOUT + 60) for _ in processes]
    server_cpu = process_cpu(server.process.pid) - server_cpu
    for process in processes:
        process.join(10)
    errors = [o["error"] for o in outcomes if "error" in o]
    if errors:
        raise SystemExit(f"FAILED: {mode}: {errors}\n{server.output()[-3000:]}")
    problems = [p for o in outcomes for p in o["problems"]]
    if problems:
        raise SystemExit(f"FAILED: {mode}: {len(problems)} problems, e.g. {problems[:5]}")
    latencies = sorted(x for o in outcomes for x in o["latencies"])
    expected = 2 * len(specs) * messages
    if len(latencies) != expected:
        raise SystemExit(f"FAILED: {mode}: {len(latencies)} deliveries, expected {expected}")
    elapsed = max(o["last"] for o in outcomes) - min(o["started"] for o in outcomes)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "rate": len(latencies) / elapsed,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "delivered": len(latencies),
        "seconds": elapsed,
        "server_cpu": server_cpu,
        "client_cpu": sum(o["cpu"] for o in outcomes),
    }


# --- the run --------------------------------------------------------------------------------


def line(label: str, r: dict) -> str:
    return (
        f"  {label:<6} {r['rate']:>8.0f} msg/s   p50 {r['p50']:>7.1f} ms   "
        f"p95 {r['p95']:>7.1f} ms   p99 {r['p99']:>7.1f} ms   ({r['delivered']} in "
        f"{r['seconds']:.1f} s; CPU s: daphne {r['server_cpu']:.1f}, clients "
        f"{r['client_cpu']:.1f})"
    )


def median_run(runs: list[dict]) -> dict:
    """The run with the median rate; its latencies are the median of the runs' (the machine
    is shared and noisy: one slow round must not decide a ratio)."""
    chosen = dict(sorted(runs, key=lambda r: r["rate"])[len(runs) // 2])
    for key in ("p50", "p95", "p99"):
        chosen[key] = sorted(r[key] for r in runs)[len(runs) // 2]
    return chosen


def run_layer(name: str, env: dict, sizes, *, messages, window, clients, rounds) -> list[tuple]:
    print(f"\n== {name} ==", flush=True)
    rows = []
    with running_daphne(env=env, startup_timeout=60) as server:
        t0 = time.monotonic()
        specs = setup_conversations(env, max(sizes))
        print(f"  {max(sizes)} conversations created in {time.monotonic() - t0:.1f} s", flush=True)
        before = stored_messages(env)
        sent = 0
        for size in sizes:
            m = messages(size)
            n = clients(size)
            print(
                f"C={size}: M={m} each way, window {window}, {n} client process(es), "
                f"{rounds} round(s) of relay then chat",
                flush=True,
            )
            runs = {"relay": [], "chat": []}
            for _round in range(rounds):
                for mode in runs:
                    result = measure(
                        server, specs[:size], mode=mode, messages=m, window=window, clients=n
                    )
                    runs[mode].append(result)
                    print(line(mode, result), flush=True)
            sent += 2 * size * m * rounds
            stored = stored_messages(env) - before
            if stored != sent:
                raise SystemExit(f"FAILED: {stored} chat messages stored, {sent} sent")
            relay, ours = median_run(runs["relay"]), median_run(runs["chat"])
            rate_ratio = ours["rate"] / relay["rate"]
            p99_ratio = ours["p99"] / relay["p99"]
            verdict = "met" if rate_ratio >= 0.5 and p99_ratio <= 3 else "NOT met"
            print(
                f"  medians: relay {relay['rate']:.0f} msg/s p99 {relay['p99']:.1f} ms, chat "
                f"{ours['rate']:.0f} msg/s p99 {ours['p99']:.1f} ms\n"
                f"  ratios: rate {rate_ratio:.2f}x of relay (goal >= 0.5), p50 "
                f"{ours['p50'] / relay['p50']:.2f}x, p99 {p99_ratio:.2f}x (goal <= 3): "
                f"goals {verdict}; stored exactly {stored} so far, nothing lost or doubled",
                flush=True,
            )
            rows.append((name, size, relay, ours))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis", help="also on the Redis pub/sub layer: a URL, or 'auto'")
    parser.add_argument("--conversations", default="50,500", help="C values, comma-separated")
    parser.add_argument("--messages", type=int, help="M each way (default: by C)")
    parser.add_argument("--window", type=int, default=4, help="messages in flight per sender")
    parser.add_argument("--clients", type=int, help="client processes (default: by C)")
    parser.add_argument("--rounds", type=int, default=3, help="relay/chat runs per C (median)")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    args = parser.parse_args()
    sizes = [int(c) for c in args.conversations.split(",")]
    if args.quick:
        sizes, args.messages, args.rounds = [10], args.messages or 5, 1

    def messages(size: int) -> int:
        return args.messages or (100 if size <= 100 else 10)

    def clients(size: int) -> int:
        return args.clients or (1 if size <= 100 else 2)

    print(
        f"chat load: daphne (1 process) and clients on this machine, {os.cpu_count()} cores, "
        f"shared by both;\nsocket rate limit set out of the way: CHAT_RATE_PER_SECOND="
        f"{RATE}, CHAT_RATE_BURST={RATE}, CHAT_SHARED_FRAMES={RATE}; CHAT_BATCH_WINDOW_MS="
        f"{os.environ.get('CHAT_BATCH_WINDOW_MS', 'default (2)')}; SQLite database",
        flush=True,
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="chat-load-") as directory:
        base = Path(directory)
        (base / "memory").mkdir()
        with migrated_database(base / "memory", **SERVER_ENV) as env:
            rows += run_layer(
                "in-memory layer",
                env,
                sizes,
                messages=messages,
                window=args.window,
                clients=clients,
                rounds=args.rounds,
            )
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
                    f"Redis pub/sub layer ({url})",
                    env,
                    sizes,
                    messages=messages,
                    window=args.window,
                    clients=clients,
                    rounds=args.rounds,
                )
    print("\nsummary (chat / relay):")
    for name, size, relay, ours in rows:
        print(
            f"  {name:<40} C={size:<4} rate {ours['rate']:>6.0f} / {relay['rate']:>6.0f} "
            f"= {ours['rate'] / relay['rate']:.2f}x   p99 {ours['p99']:>7.1f} / "
            f"{relay['p99']:>7.1f} ms = {ours['p99'] / relay['p99']:.2f}x"
        )


if __name__ == "__main__":
    main()
