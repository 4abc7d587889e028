#!/usr/bin/env python
"""WeChat's webhook under load: signed messages from concurrent senders to real daphne.

    .venv/bin/python bench/webhook_load.py [--senders 50] [--messages 20] [--quick]

Starts real daphne (tests/e2e/servers.py) on a fresh, migrated SQLite database of its own
(or, with --postgres URL, a fresh PostgreSQL database on that server),
with a WeChat token and EncodingAESKey set. First the baseline, in the same run: the same
senders GET /healthz (no body, no database write) as many times. Then each of --senders
threads sends --messages WeChat text messages, one at a time, each signed afresh by the
test's own signer (tests/tickets/sources/wechat/signing.py, the published algorithm),
alternating plaintext and safe mode (AES), each from its own OpenID with its own MsgId.

Printed: requests per second, p50/p99 time from sending to the "success" answer, the p99 as
a fraction of WeChat's 5-second limit (the goal: under 2%), and both figures as ratios of
the baseline's. The answer comes once the body is stored; the task worker (db_worker
--batch, started after the load) then files them, and its time is printed. Checked,
failing loudly otherwise: every answer is "success", and the database then holds exactly
one stored, processed payload and one message per request.
"""

import argparse
import json
import os
import statistics
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleS0=")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")

from tests.e2e.servers import (  # noqa: E402
    manage,
    migrated_database,
    migrated_postgres,
    running_daphne,
)
from tests.tickets.sources.wechat.signing import (  # noqa: E402
    APP_ID,
    ENCODING_AES_KEY,
    TOKEN,
    plain_request,
    safe_request,
    text_xml,
)

WECHAT_LIMIT_SECONDS = 5.0
GOAL = 0.02
SERVER_ENV = {
    "WECHAT_TOKEN": TOKEN,
    "WECHAT_ENCODING_AES_KEY": ENCODING_AES_KEY,
    "WECHAT_APP_ID": APP_ID,
    "LOG_LEVEL": "WARNING",
}
COUNT = """
import json
from tickets.models import InboundMessage, Message
print("BENCH-COUNTS " + json.dumps({
    "stored": InboundMessage.objects.filter(channel="wechat").count(),
    "processed": InboundMessage.objects.filter(channel="wechat", status="processed").count(),
    "messages": Message.objects.filter(channel="wechat").count(),
}))
"""


def timed(request: urllib.request.Request) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
        status = response.status
    return time.perf_counter() - started, status, body


def baseline(base: str, sender: int, count: int) -> list[float]:
    times = []
    for _ in range(count):
        seconds, status, _body = timed(urllib.request.Request(base + "/healthz"))
        if status != 200:
            raise SystemExit(f"healthz answered {status}")
        times.append(seconds)
    return times


def wechat(base: str, sender: int, count: int) -> list[float]:
    times = []
    open_id = f"oBench_{sender:04d}"
    for index in range(count):
        xml = text_xml(open_id, f"压测消息 load {sender}/{index}", sender * 1_000_000 + index + 1)
        qs, body = (plain_request if index % 2 else safe_request)(xml)
        request = urllib.request.Request(
            f"{base}/webhooks/wechat/?{qs}",
            data=body,
            headers={"Content-Type": "text/xml"},
            method="POST",
        )
        seconds, status, answer = timed(request)
        if status != 200 or answer != b"success":
            raise SystemExit(f"sender {sender} message {index}: {status} {answer[:200]!r}")
        times.append(seconds)
    return times


def run(work, base: str, senders: int, count: int) -> tuple[float, list[float]]:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=senders) as pool:
        results = list(pool.map(lambda sender: work(base, sender, count), range(senders)))
    elapsed = time.perf_counter() - started
    return elapsed, sorted(t for times in results for t in times)


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report(name: str, elapsed: float, times: list[float]) -> dict:
    figures = {
        "rps": len(times) / elapsed,
        "p50": statistics.median(times),
        "p99": percentile(times, 0.99),
    }
    print(
        f"{name:9} {len(times):6} requests  {figures['rps']:8.1f} req/s  "
        f"p50 {figures['p50'] * 1000:7.1f} ms  p99 {figures['p99'] * 1000:7.1f} ms"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20, help="per sender")
    parser.add_argument("--quick", action="store_true", help="4 messages per sender")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="a PostgreSQL server (postgres://postgres@127.0.0.1:5432/postgres): a fresh "
        "database on it instead of SQLite",
    )
    args = parser.parse_args()
    count = 4 if args.quick else args.messages
    database = (
        migrated_postgres(args.postgres, **SERVER_ENV)
        if args.postgres
        else migrated_database(**SERVER_ENV)
    )
    with database as env, running_daphne(env=env) as server:
        engine = "PostgreSQL" if args.postgres else "SQLite"
        print(f"daphne at {server.base_url} on {engine}; {args.senders} senders x {count} requests")
        base_figures = report("healthz", *run(baseline, server.base_url, args.senders, count))
        ours = report("wechat", *run(wechat, server.base_url, args.senders, count))
        # The answers came once the bodies were stored; the task worker files them now.
        started = time.perf_counter()
        manage("db_worker", "--batch", "--no-startup-delay", "--no-reload", env=env, timeout=600)
        drained = time.perf_counter() - started
        output = manage("shell", "-c", COUNT, env=env).stdout
        counts = json.loads(output.split("BENCH-COUNTS ", 1)[1])
    sent = args.senders * count
    print(
        f"ratios to healthz: req/s {ours['rps'] / base_figures['rps']:.2f}x, "
        f"p99 {ours['p99'] / base_figures['p99']:.2f}x"
    )
    fraction = ours["p99"] / WECHAT_LIMIT_SECONDS
    verdict = "met" if fraction < GOAL else "NOT met"
    print(f"p99 to 'success' is {fraction:.2%} of WeChat's 5 s limit (goal {GOAL:.0%}: {verdict})")
    print(f"the worker then filed them in {drained:.1f} s (one process, with its start-up)")
    print(f"database: {counts}")
    if counts != {"stored": sent, "processed": sent, "messages": sent}:
        raise SystemExit(f"expected {sent} stored, processed and filed; got {counts}")


if __name__ == "__main__":
    main()
