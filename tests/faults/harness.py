"""The fault scenarios, shared by the quick tests (tests/faults/) and bench/faults.py.

Each scenario drives real clients against real servers (tests/faults/servers.py), makes one
fault, and counts from the database against what the clients sent, each message carrying a
unique token: ``lost`` (a token sent but not stored, or stored but never shown to the other
side), ``doubled`` (a token stored twice, or shown twice), and ``recovered_in`` (from the
fault's end to the first successful answer after it). ``Result.line()`` is the one line each
scenario prints:

    FAULT redis-killed lost=0 doubled=0 recovered_in=0.41s

The clients behave as the chat's protocol asks (chat/protocol.py): a message is sent with a
client_id and sent again with the same one until acknowledged ("not_stored", a timeout, a
dropped socket), and a socket that comes back sends "resume" with the last id it saw.
"""

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.servers import manage

ACK_WAIT = 3.0  # seconds before a message with no ack is sent again (same client_id)
RECONNECT_PAUSE = 0.2
CLIENT_DEADLINE = 60.0  # a client that cannot get its messages in by then fails the run

# Generous limits: the socket rate limiter is not what the faults test.
FAULT_ENV = {
    "CHAT_RATE_PER_SECOND": "1000",
    "CHAT_RATE_BURST": "1000",
    "CHAT_AUTO_ASSIGN": "false",
    "CHAT_MAX_CHATS": "1000",
    "LOG_LEVEL": "WARNING",
}


@dataclass
class Result:
    scenario: str
    lost: int
    doubled: int
    recovered_in: float
    details: dict = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"FAULT {self.scenario} lost={self.lost} doubled={self.doubled} "
            f"recovered_in={self.recovered_in:.2f}s"
        )


# --- conversations made straight in the database --------------------------------------------

_FILL = """
import json
from bench.chat_load import fill
print("FAULT-SPECS " + json.dumps(fill({count})))
"""


def conversations(env: dict, count: int) -> list[dict]:
    """``count`` active conversations, each held by its own agent with a verified two-factor
    session: [{"conversation", "customer" (session key), "agent" (session key)}]."""
    out = manage("shell", "-c", _FILL.format(count=count), env=env, timeout=300).stdout
    line = next(line for line in out.splitlines() if line.startswith("FAULT-SPECS "))
    return json.loads(line.removeprefix("FAULT-SPECS "))


_STORED = """
import json
from tickets.models import Message
rows = Message.objects.filter(text__startswith={prefix!r}).values_list("text", flat=True)
print("FAULT-STORED " + json.dumps(list(rows)))
"""


def stored_texts(env: dict, prefix: str) -> Counter:
    out = manage("shell", "-c", _STORED.format(prefix=prefix), env=env).stdout
    line = next(line for line in out.splitlines() if line.startswith("FAULT-STORED "))
    return Counter(json.loads(line.removeprefix("FAULT-STORED ")))


# --- a client that keeps going through faults -----------------------------------------------


class Clock:
    """When the fault ended, and the first answer of the wanted kind after it."""

    def __init__(self, kind: str):
        self.kind = kind  # "ack" or "message"
        self.fault_end: float | None = None
        self.recovered: float | None = None

    def saw(self, kind: str) -> None:
        if kind == self.kind and self.fault_end is not None and self.recovered is None:
            self.recovered = time.monotonic()

    def recovered_in(self) -> float:
        if self.fault_end is None or self.recovered is None:
            return float("nan")
        return max(0.0, self.recovered - self.fault_end)


class ChatClient:
    """One side of a conversation (the customer on /ws/chat/, its agent on /ws/agent/)."""

    def __init__(self, web, role: str, session_key: str, conversation: int, clock: Clock):
        self.web = web  # a DaphneProcess (its port survives a restart)
        self.role = role
        self.session_key = session_key
        self.conversation = conversation
        self.clock = clock
        self.socket = None
        self.reader: asyncio.Task | None = None
        self.acks: dict[str, int] = {}
        self.waiting: dict[str, asyncio.Event] = {}
        self.seen: list[tuple[int, str]] = []  # (id, text) of messages shown to this side
        self.last_id = 0
        self.reconnects = 0
        self.resent = 0  # messages sent more than once (no ack in time, not_stored, a drop)
        self.refused: list[str] = []  # handshakes that failed (then tried again)
        self.problems: list[str] = []

    @property
    def path(self) -> str:
        return "/ws/chat/" if self.role == "customer" else "/ws/agent/"

    async def connect(self, *, deadline: float) -> None:
        from websockets.asyncio.client import connect

        while True:
            try:
                socket = await connect(
                    self.web.server.ws_base_url + self.path,
                    origin=self.web.server.base_url,
                    additional_headers={"Cookie": f"sessionid={self.session_key}"},
                    open_timeout=max(1.0, min(30.0, deadline - time.monotonic())),
                    close_timeout=1,
                    max_size=None,
                    proxy=None,
                )
                break
            except Exception as exc:  # refused, reset, closed unanswered, 5xx, timeout
                self.refused.append(f"{type(exc).__name__}: {exc}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.role} {self.conversation}: {exc!r}") from exc
                await asyncio.sleep(RECONNECT_PAUSE)
        self.socket = socket
        self.reader = asyncio.create_task(self._read(socket))
        resume = {"type": "resume", "after": self.last_id}
        if self.role == "agent":
            resume["conversation"] = self.conversation
        await socket.send(json.dumps(resume))

    async def _read(self, socket) -> None:
        with contextlib.suppress(Exception):
            async for raw in socket:
                frame = json.loads(raw)
                kind = frame.get("type")
                if frame.get("conversation", self.conversation) != self.conversation:
                    continue
                if kind == "ack":
                    self.acks[frame["client_id"]] = frame["id"]
                    self.clock.saw("ack")
                    if event := self.waiting.get(frame["client_id"]):
                        event.set()
                elif kind == "message":
                    self.seen.append((frame["id"], frame["text"]))
                    self.last_id = max(self.last_id, frame["id"])
                    self.clock.saw("message")
                elif kind == "error" and frame.get("client_id"):
                    if event := self.waiting.get(frame["client_id"]):
                        event.set()  # not stored: sent again, same client_id
                elif kind == "error":
                    self.problems.append(json.dumps(frame))
        if self.socket is socket:
            self.socket = None

    async def send(self, text: str, *, deadline: float) -> None:
        """Send ``text`` until acknowledged (its text is its client_id: one token, one id)."""
        client_id = text
        frame = {"type": "message", "text": text, "client_id": client_id}
        if self.role == "agent":
            frame["conversation"] = self.conversation
        attempts = 0
        while client_id not in self.acks:
            attempts += 1
            if attempts == 2:
                self.resent += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.role} {self.conversation}: no ack for {text}")
            if self.socket is None:
                self.reconnects += 1
                await self.connect(deadline=deadline)
            event = self.waiting[client_id] = asyncio.Event()
            try:
                await self.socket.send(json.dumps(frame))
                await asyncio.wait_for(event.wait(), ACK_WAIT)
            except (TimeoutError, AttributeError):
                pass
            except Exception:  # the socket went away: reconnect, resume, send again
                self.socket = None
                await asyncio.sleep(RECONNECT_PAUSE)
        self.waiting.pop(client_id, None)

    async def settle(self, expected: set[str], *, deadline: float) -> None:
        """Read (reconnecting if need be) until every text of ``expected`` was shown."""
        while not expected <= {text for _id, text in self.seen}:
            if time.monotonic() > deadline:
                return
            if self.socket is None:
                self.reconnects += 1
                await self.connect(deadline=deadline)
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.socket.close(), 2)
        if self.reader is not None:
            self.reader.cancel()


async def drop(clients: list[ChatClient]) -> None:
    """Every client's socket closed by the client at once (a network blip)."""
    await asyncio.gather(*(client.close() for client in clients))
    for client in clients:
        client.socket = None


# --- the chat under a fault ------------------------------------------------------------------


async def chat_through(
    web,
    specs: list[dict],
    *,
    messages: int,
    fault,
    clock: Clock,
    pace: float = 0.05,
    prefix: str,
) -> tuple[dict[str, ChatClient], dict[str, ChatClient], dict]:
    """Both sides of every conversation send ``messages`` lines each, paced; ``fault`` (a
    coroutine function) runs once a third of them are acknowledged, and sets clock.fault_end.
    Returns the clients and the tokens each side sent."""
    deadline = time.monotonic() + CLIENT_DEADLINE
    customers = {
        s["customer"]: ChatClient(web, "customer", s["customer"], s["conversation"], clock)
        for s in specs
    }
    agents = {
        s["customer"]: ChatClient(web, "agent", s["agent"], s["conversation"], clock) for s in specs
    }
    everyone = [*customers.values(), *agents.values()]
    gate = asyncio.Semaphore(50)

    async def connect(client):
        async with gate:
            await client.connect(deadline=deadline)

    await asyncio.gather(*(connect(client) for client in everyone))
    sent = {id(client): [] for client in everyone}
    acked = asyncio.Event()
    total = messages * len(everyone)
    done = 0

    async def talk(client: ChatClient) -> None:
        nonlocal done
        for n in range(messages):
            text = f"{prefix}{client.role[0]}{client.conversation}-{n}-{uuid.uuid4().hex[:6]}"
            sent[id(client)].append(text)
            await client.send(text, deadline=deadline)
            done += 1
            if done >= total // 3:
                acked.set()
            await asyncio.sleep(pace)

    async def make_fault():
        await acked.wait()
        await fault()

    await asyncio.gather(*(talk(client) for client in everyone), make_fault())
    for key, customer in customers.items():
        agent = agents[key]
        await asyncio.gather(
            customer.settle(set(sent[id(agent)]), deadline=deadline),
            agent.settle(set(sent[id(customer)]), deadline=deadline),
        )
    return customers, agents, sent


def count(env, prefix, customers, agents, sent, clock: Clock, scenario: str) -> Result:
    """Lost and doubled, from the database and from what each side was shown."""
    stored = stored_texts(env, prefix)
    lost = doubled = 0
    unseen = shown_twice = 0
    repeated = Counter()
    for key, customer in customers.items():
        agent = agents[key]
        for sender, receiver in ((customer, agent), (agent, customer)):
            # What a page shows: chat.js and console.js key messages by id, so a frame
            # repeated with the same id (the agent's resume re-sends what follows "after",
            # by design) shows once; the same text under two ids would show twice.
            shown = Counter(text for _id, text in set(receiver.seen))
            repeated[receiver.role] += len(receiver.seen) - len(set(receiver.seen))
            for text in sent[id(sender)]:
                if stored[text] == 0:
                    lost += 1
                doubled += max(0, stored[text] - 1)
                if shown[text] == 0:
                    unseen += 1
                shown_twice += max(0, shown[text] - 1)
    everyone = [*customers.values(), *agents.values()]
    return Result(
        scenario,
        lost=lost + unseen,
        doubled=doubled + shown_twice,
        recovered_in=clock.recovered_in(),
        details={
            "sent": sum(len(v) for v in sent.values()),
            "stored": sum(stored.values()),
            "not_stored": lost,
            "stored_twice": doubled,
            "not_shown": unseen,
            "shown_twice": shown_twice,
            "frames_repeated": dict(repeated),
            "reconnects": sum(c.reconnects for c in everyone),
            "resent": sum(c.resent for c in everyone),
            "problems": [p for c in everyone for p in c.problems][:5],
        },
    )


async def _in_thread(function, *args):
    return await asyncio.to_thread(function, *args)


def redis_killed(web, redis, env, specs, *, messages: int, outage: float = 1.0) -> Result:
    """Redis dies (SIGKILL) mid-chat and comes back empty on the same port."""
    clock = Clock("message")
    prefix = f"fr{uuid.uuid4().hex[:4]}-"

    async def fault():
        await _in_thread(redis.kill)
        await asyncio.sleep(outage)
        await _in_thread(redis.start)
        clock.fault_end = time.monotonic()

    customers, agents, sent = asyncio.run(
        chat_through(web, specs, messages=messages, fault=fault, clock=clock, prefix=prefix)
    )
    return count(env, prefix, customers, agents, sent, clock, "redis-killed")


def postgres_restarted_during_chat(web, postgres, env, specs, *, messages: int) -> Result:
    """PostgreSQL restarts (immediate: every backend killed) mid-chat."""
    clock = Clock("ack")
    prefix = f"fp{uuid.uuid4().hex[:4]}-"

    async def fault():
        await _in_thread(postgres.restart)
        clock.fault_end = time.monotonic()

    customers, agents, sent = asyncio.run(
        chat_through(web, specs, messages=messages, fault=fault, clock=clock, prefix=prefix)
    )
    return count(env, prefix, customers, agents, sent, clock, "postgres-restarted-chat")


def daphne_killed(web, env, specs, *, messages: int) -> Result:
    """daphne dies (SIGKILL) mid-conversation and starts again on the same port; the
    clients reconnect, resume after the last id they saw, and send again what was not
    acknowledged."""
    clock = Clock("ack")
    prefix = f"fd{uuid.uuid4().hex[:4]}-"

    async def fault():
        await _in_thread(web.kill)
        await _in_thread(web.start)
        clock.fault_end = time.monotonic()

    customers, agents, sent = asyncio.run(
        chat_through(web, specs, messages=messages, fault=fault, clock=clock, prefix=prefix)
    )
    return count(env, prefix, customers, agents, sent, clock, "daphne-killed")


def reconnect_storm(web, env, specs, *, within: float = 10.0) -> Result:
    """Every customer's socket drops at once and every one comes straight back: all must be
    in again (their status frame read) within ``within`` seconds; each then sends one line,
    stored once."""
    clock = Clock("ack")
    prefix = f"fs{uuid.uuid4().hex[:4]}-"

    async def storm():
        deadline = time.monotonic() + CLIENT_DEADLINE
        clients = [
            ChatClient(web, "customer", s["customer"], s["conversation"], clock) for s in specs
        ]
        gate = asyncio.Semaphore(50)

        async def first(client):
            async with gate:
                await client.connect(deadline=deadline)

        await asyncio.gather(*(first(client) for client in clients))
        await drop(clients)
        clock.fault_end = time.monotonic()
        back_at: list[float] = []

        async def back(client):
            await client.connect(deadline=clock.fault_end + within)
            back_at.append(time.monotonic())

        outcomes = await asyncio.gather(*(back(c) for c in clients), return_exceptions=True)
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        sent = {}
        for client in clients:
            if client.socket is not None:
                text = f"{prefix}{client.conversation}-{uuid.uuid4().hex[:6]}"
                sent[text] = client
        deadline = time.monotonic() + CLIENT_DEADLINE
        await asyncio.gather(*(c.send(t, deadline=deadline) for t, c in sent.items()))
        await drop(clients)
        return clients, failed, back_at, list(sent)

    clients, failed, back_at, texts = asyncio.run(storm())
    stored = stored_texts(env, prefix)
    all_back = max(back_at) - clock.fault_end if back_at else float("nan")
    return Result(
        "reconnect-storm",
        lost=len(failed) + sum(1 for text in texts if stored[text] == 0),
        doubled=sum(max(0, stored[text] - 1) for text in texts),
        recovered_in=all_back,
        details={
            "clients": len(clients),
            "not_back": len(failed),
            "handshakes_failed": sum(len(c.refused) for c in clients),
            "first_failures": sorted({r for c in clients for r in c.refused})[:3],
            "errors": failed[:3],
        },
    )


# --- email import under a PostgreSQL restart -------------------------------------------------


def write_emails(folder: Path, count: int, prefix: str) -> list[str]:
    """``count`` messages, each from its own sender (each its own ticket), with a token."""
    folder.mkdir(parents=True, exist_ok=True)
    tokens = []
    for n in range(count):
        token = f"{prefix}{n}-{uuid.uuid4().hex[:6]}"
        tokens.append(token)
        (folder / f"{n:06d}.eml").write_bytes(
            (
                f"From: Sender {n} <sender{n}.{prefix}@example.com>\r\n"
                "To: support@mywallet.example\r\n"
                f"Subject: Payment question {token}\r\n"
                f"Message-ID: <{token}@example.com>\r\n"
                "Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                f"{token}\r\n" + "My payment did not go through.\r\n" * 20
            ).encode()
        )
    return tokens


_EMAIL_COUNTS = """
import json, re
from tickets.models import InboundMessage, Message, Ticket
p = {prefix!r}
ids = re.compile(rb"Message-ID: <([^@>]+)@")
raw = [m.group(1).decode() for r in InboundMessage.objects.values_list("raw", flat=True)
       if (m := ids.search(bytes(r))) and m.group(1).decode().startswith(p)]
bodies = list(Message.objects.filter(text__startswith=p).values_list("text", flat=True))
tickets = Ticket.objects.filter(subject__contains=p).count()
print("FAULT-EMAIL " + json.dumps([raw, [b.split()[0] for b in bodies], tickets]))
"""


def postgres_restarted_during_import(
    postgres, env, folder: Path, *, count: int, python: str
) -> Result:
    """`manage.py ingest_email --dir` runs while PostgreSQL restarts; the run that the
    restart broke is run again (as cron or the operator would), and every message must be
    in exactly once: one raw InboundMessage, one Message, one ticket each."""
    import subprocess
    import sys

    from tests.e2e.servers import ROOT

    prefix = f"fe{uuid.uuid4().hex[:4]}-"
    tokens = write_emails(folder, count, prefix)
    command = [python or sys.executable, str(ROOT / "manage.py"), "ingest_email"]
    command += ["--dir", str(folder), "--workers", "0"]
    first = subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    import psycopg

    url = env["DATABASE_URL"]
    deadline = time.monotonic() + 120

    def stored_now() -> int:
        with psycopg.connect(url, connect_timeout=5) as connection:
            return connection.execute("SELECT count(*) FROM tickets_inboundmessage").fetchone()[0]

    restarted_at = None
    while first.poll() is None and time.monotonic() < deadline:
        if (before := stored_now()) > 0:
            postgres.restart()
            restarted_at = time.monotonic()
            break
        time.sleep(0.02)
    recovered = None
    while restarted_at and first.poll() is None and time.monotonic() < deadline:
        if stored_now() > before:  # the import committed a batch after the restart
            recovered = time.monotonic()
            break
        time.sleep(0.05)
    first_output, _ = first.communicate(timeout=120)
    runs = [first.returncode]
    while runs[-1] != 0:  # as cron or the operator would: the files still there, again
        if time.monotonic() > deadline:
            raise AssertionError(f"ingest_email never succeeded again:\n{first_output[-3000:]}")
        time.sleep(0.5)
        again = subprocess.run(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        runs.append(again.returncode)
        recovered = recovered or time.monotonic()
    out = manage("shell", "-c", _EMAIL_COUNTS.format(prefix=prefix), env=env).stdout
    line = next(line for line in out.splitlines() if line.startswith("FAULT-EMAIL "))
    raw, bodies, tickets = json.loads(line.removeprefix("FAULT-EMAIL "))
    raw_counts = Counter(raw)
    body_counts = Counter(bodies)
    lost = sum(1 for t in tokens if raw_counts[t] == 0 or body_counts[t] == 0)
    doubled = sum(max(0, raw_counts[t] - 1) + max(0, body_counts[t] - 1) for t in tokens)
    doubled += max(0, tickets - count)
    lost += max(0, count - tickets)
    return Result(
        "postgres-restarted-import",
        lost=lost,
        doubled=doubled,
        recovered_in=(recovered - restarted_at) if recovered and restarted_at else float("nan"),
        details={
            "restarted_mid_run": restarted_at is not None,
            "exit_codes": runs,
            "first_run": first_output[-1500:],
            "tickets": tickets,
        },
    )
