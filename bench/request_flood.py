#!/usr/bin/env python
"""Large anonymous POSTs against real daphne: its memory, and /healthz meanwhile.

    .venv/bin/python bench/request_flood.py [--sizes 100,200] [--limit BYTES]

Starts real daphne (tests/e2e/servers.py) on a fresh, migrated SQLite database of its own
(REQUEST_MAX_BODY_BYTES=--limit when given, else the default), then, one after the other:
  - baseline: /healthz asked 30 times with no upload;
  - for each size S MB in --sizes: a multipart POST declaring S MB, and one chunked (no
    Content-Length) of S MB, each to a 404 URL and sent as an attacker sends it (as fast as
    the socket takes it, not stopping at the answer), while /healthz is asked over and
    over (at least 10 times) until the upload ends or the server cuts it off.
Printed per run: the answer's status, the megabytes the client got to send, daphne's peak
memory growth (VmHWM during the run less VmRSS before it, from /proc) and the median and
p95 of /healthz's answer time, with the median's ratio to the baseline's. Fails if a
/healthz request goes unanswered. Bodies come from a generator: this script never holds
one in memory either.
"""

import argparse
import os
import select
import socket
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleS0=")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")

from tests.e2e.servers import migrated_database, running_daphne  # noqa: E402

MB = 1024 * 1024
PIECE = b"x" * (64 * 1024)
BOUNDARY = "request-flood-boundary"
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def memory_kb(pid: int) -> dict[str, int]:
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
    return fields


def healthz_ms(server) -> float:
    started = time.perf_counter()
    with _opener.open(server.url("/healthz"), timeout=30) as response:
        response.read()
        if response.status != 200:
            raise SystemExit(f"FAILED: /healthz answered {response.status}")
    return (time.perf_counter() - started) * 1000


class HostileUpload(threading.Thread):
    """A POST of ``size`` bytes sent as fast as the socket takes it, answer or not."""

    def __init__(self, server, size: int, *, chunked: bool):
        super().__init__(daemon=True)
        self.server, self.size, self.chunked = server, size, chunked
        self.sent = 0
        self.answer = b""

    def run(self):
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        length = (
            "Transfer-Encoding: chunked"
            if self.chunked
            else f"Content-Length: {len(head) + self.size + len(tail)}"
        )
        request = (
            f"POST /no-such-page/ HTTP/1.1\r\nHost: {self.server.host}:{self.server.port}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n{length}\r\n\r\n"
        ).encode()
        sock = socket.create_connection((self.server.host, self.server.port), timeout=60)
        try:
            sock.sendall(request)
            pieces = [head, *(PIECE for _ in range(self.size // len(PIECE))), tail]
            for piece in pieces:
                data = b"%x\r\n%s\r\n" % (len(piece), piece) if self.chunked else piece
                sock.sendall(data)
                self.sent += len(piece)
            if self.chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # cut off by the server
        try:
            while select.select([sock], [], [], 30)[0]:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                self.answer += chunk
        except OSError:
            pass
        finally:
            sock.close()

    @property
    def status(self) -> str:
        first = self.answer.split(b"\r\n", 1)[0].split(b" ")
        return first[1].decode() if len(first) > 1 else "none (reset)"


def measure(server, upload: HostileUpload | None) -> dict:
    before = memory_kb(server.process.pid)
    times = []
    if upload is None:
        times = [healthz_ms(server) for _ in range(30)]
    else:
        upload.start()
        while upload.is_alive() or len(times) < 10:
            times.append(healthz_ms(server))
        upload.join(timeout=120)
    after = memory_kb(server.process.pid)
    return {
        "growth_mb": (after["VmHWM"] - before["VmRSS"]) / 1024,
        "median": statistics.median(times),
        "p95": statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0],
        "answers": len(times),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,200", help="upload sizes in MB")
    parser.add_argument("--limit", type=int, help="REQUEST_MAX_BODY_BYTES for the server")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    overrides = {"REQUEST_MAX_BODY_BYTES": str(args.limit)} if args.limit else {}

    with migrated_database(**overrides) as env, running_daphne(env=env) as server:
        healthz_ms(server)  # warm
        print(f"daphne pid {server.process.pid}, limit {args.limit or 'default (10 MiB)'}")
        base = measure(server, None)
        header = f"{'run':<24} {'status':>12} {'sent MB':>8} {'growth MB':>10} "
        header += f"{'healthz p50 ms':>15} {'p95 ms':>8} {'answers':>8} {'p50 ratio':>10}"
        print(header)
        print(
            f"{'baseline (no upload)':<24} {'-':>12} {0:>8.1f} {base['growth_mb']:>10.1f} "
            f"{base['median']:>15.1f} {base['p95']:>8.1f} {base['answers']:>8} {1:>10.2f}"
        )
        for size in sizes:
            for chunked in (False, True):
                upload = HostileUpload(server, size * MB, chunked=chunked)
                row = measure(server, upload)
                name = f"{size} MB {'chunked' if chunked else 'declared'}"
                print(
                    f"{name:<24} {upload.status:>12} {upload.sent / MB:>8.1f} "
                    f"{row['growth_mb']:>10.1f} {row['median']:>15.1f} {row['p95']:>8.1f} "
                    f"{row['answers']:>8} {row['median'] / base['median']:>10.2f}"
                )


if __name__ == "__main__":
    main()
