#!/usr/bin/env python
"""How fast email becomes tickets, against the standard library's own parsing rate.

    .venv/bin/python bench/email_ingest.py [N] [--workers W] [--postgres URL]

Generates N varied messages (plain, HTML with inline images, attachments, GBK and
RFC 2047 Chinese, threaded replies, automatic mail, a few malformed ones) as files in a
temporary folder, then, on the same files and in the same run:
  - baseline: the standard library parses each message with policy.default and decodes
    every part (the least any parser must do);
  - ours: `manage.py ingest_email --dir` into a fresh SQLite database (and PostgreSQL
    with --postgres), in a subprocess, timed without its start-up (measured separately
    on an empty folder), with its CPU time (parse workers included) and peak memory,
    once parsing in its own process (--workers 0) and once with its default workers;
and prints messages per second, the ratio to the baseline (measured again after each of
our runs, the faster kept), CPU per message against the baseline's, and checks that every message
ended processed, duplicate or quarantined (nothing lost, nothing pending).
"""

import argparse
import email
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_KEY = "YmVuY2gtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleS0="

SUBJECTS_ZH = [
    "支付失败了",
    "忘记支付密码",
    "账户被锁定怎么办",
    "如何更换绑定手机号",
    "建议增加夜间模式",
]
SUBJECTS_EN = ["Payment failed", "Forgot my payment password", "Account locked", "Change my phone"]
BODY_ZH = "您好，我今天在美团外卖付款时提示支付失败，余额是够的，请帮忙查一下原因。谢谢！\n"
BODY_EN = "Hello, my payment at Starbucks failed this morning although my balance is fine.\n"


def generate(folder: Path, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    senders = [f"customer{i}@example.com" for i in range(max(1, count // 5))]
    sent: list[tuple[str, str]] = []  # (message id, subject) to reply to
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(count):
        kind = rng.choices(
            ["plain", "html", "attachment", "gbk", "reply", "auto", "bad"],
            weights=[30, 20, 10, 15, 20, 3, 2],
        )[0]
        message = EmailMessage()
        sender = rng.choice(senders)
        message["From"] = f"Customer {sender.split('@')[0]} <{sender}>" if kind != "bad" else ""
        message["To"] = rng.choice(["support@mywallet.example", "security@mywallet.example"])
        message["Date"] = format_datetime(start + timedelta(minutes=i))
        message_id = make_msgid(domain="mail.example.com")
        message["Message-ID"] = message_id
        chinese = kind == "gbk" or rng.random() < 0.5
        subject = rng.choice(SUBJECTS_ZH if chinese else SUBJECTS_EN)
        body = (BODY_ZH if chinese else BODY_EN) * rng.randint(1, 6)
        if kind == "reply" and sent:
            parent_id, parent_subject = rng.choice(sent)
            message["In-Reply-To"] = parent_id
            message["References"] = parent_id
            subject = f"Re: {parent_subject}"
        if kind == "auto":
            message["Auto-Submitted"] = "auto-replied"
            subject = "Out of office / 自动回复"
        message["Subject"] = subject
        if kind == "gbk":
            message.set_content(body, charset="gb18030")
            raw = message.as_bytes().replace(b'charset="gb18030"', b'charset="gbk"')
        else:
            message.set_content(body)
            if kind == "html":
                message.add_alternative(
                    f"<html><body><p>{body}</p><img src='cid:logo'></body></html>", subtype="html"
                )
                message.get_payload()[1].add_related(
                    b"\x89PNG" + bytes(rng.randbytes(2000)), "image", "png", cid="<logo>"
                )
            if kind == "attachment":
                message.add_attachment(
                    rng.randbytes(rng.randint(5_000, 60_000)),
                    "application",
                    "pdf",
                    filename="账单.pdf",
                )
                message.add_attachment(
                    b"date,amount\n2026-11-01,128.00\n",
                    "text",
                    "csv",
                    filename="records.csv",
                )
            raw = message.as_bytes()
        sent.append((message_id, subject))
        (folder / f"{i:06d}.eml").write_bytes(raw)


def stdlib_rate(folder: Path) -> tuple[float, float, int]:
    """(messages per second, CPU seconds per message, parts) of the standard library."""
    files = sorted(folder.iterdir())
    started, cpu = time.perf_counter(), time.process_time()
    parts = 0
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for part in message.walk():
            if not part.is_multipart():
                part.get_content()
                parts += 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return len(files) / elapsed, cpu / len(files), parts


@dataclass
class Run:
    elapsed: float  # seconds, start-up included
    cpu: float  # CPU seconds of the command and its parse workers
    peak_kib: int  # the largest resident set among them
    summary: str


def run_ingest(folder: Path, database_url: str, workers: int | None) -> Run:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "FIELD_ENCRYPTION_KEYS": TEST_KEY,
        "LOG_LEVEL": "WARNING",
        "DJANGO_MEDIA_ROOT": str(folder.parent / "media"),
    }
    env.pop("REDIS_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    command = [*manage, "ingest_email", "--dir", str(folder)]
    if workers is not None:
        command += ["--workers", str(workers)]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    stdout = process.stdout.read()
    # wait4 gives this child's usage, its reaped worker processes included (Linux).
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"ingest_email failed with exit code {process.returncode}")
    return Run(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, stdout.strip())


def fresh_postgres(url: str) -> str:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=2000)
    parser.add_argument(
        "--workers",
        type=int,
        help="parse workers for ingest_email (default: both 0 and the command's default)",
    )
    parser.add_argument(
        "--postgres", metavar="URL", help="also on PostgreSQL (scratch database, recreated)"
    )
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="email-ingest-"))
    folder, empty = scratch / "mail", scratch / "empty"
    folder.mkdir()
    empty.mkdir()
    generate(folder, args.count)
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"{args.count} messages, {size / 1e6:.1f} MB, in {folder}")

    # The baseline before and after each run of ours, the faster one kept: the machine is
    # shared, and a slow baseline would flatter us.
    baselines = [stdlib_rate(folder)]
    rate_0, cpu_0, parts = baselines[0]
    print(
        f"standard library, parse + decode {parts} parts: {rate_0:8.0f} messages/s, "
        f"{cpu_0 * 1000:.2f} ms CPU per message"
    )

    targets = [("SQLite", lambda: f"sqlite:///{scratch}/bench-{time.monotonic_ns()}.sqlite3")]
    if args.postgres:
        targets.append(("PostgreSQL", lambda: fresh_postgres(args.postgres)))
    workers = [args.workers] if args.workers is not None else [0, None]
    for name, database in targets:
        for worker_count in workers:
            startup = run_ingest(empty, database(), worker_count)
            run = run_ingest(folder, database(), worker_count)
            baselines.append(stdlib_rate(folder))
            baseline = max(rate for rate, _cpu, _parts in baselines[-2:])
            rate = args.count / max(run.elapsed - startup.elapsed, 1e-9)
            cpu = (run.cpu - startup.cpu) / args.count
            label = "default workers" if worker_count is None else f"--workers {worker_count}"
            print(
                f"ingest_email --dir on {name:<10} ({label}): {rate:6.0f} messages/s "
                f"(x{rate / baseline:.2f} of the standard library's {baseline:.0f}), "
                f"{cpu * 1000:.2f} ms CPU per message (x{cpu / cpu_0:.1f}), "
                f"peak {run.peak_kib / 1024:.0f} MiB, {run.elapsed:.1f} s "
                f"incl. {startup.elapsed:.1f} s start-up\n    {run.summary}"
            )
            counts = dict(
                (status, int(n)) for n, status in (item.split() for item in run.summary.split(", "))
            )
            if (
                counts.get("pending", 0)
                or counts.get("failed", 0)
                or sum(counts.values()) != args.count
            ):
                raise SystemExit(f"LOST OR FAILED MESSAGES on {name}: {counts}")
    print("nothing lost: every message processed, duplicate or quarantined")


if __name__ == "__main__":
    main()
