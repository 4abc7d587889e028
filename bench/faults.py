#!/usr/bin/env python
"""The fault harness, bigger than the quick tests (tests/faults/), and the reconnect storm.

    .venv/bin/python bench/faults.py [--conversations 20] [--messages 30] [--emails 2000]
                                     [--storm 500]
                                     [--only redis,postgres,import,daphne,storm,worker,disk]

Starts its own PostgreSQL (initdb + pg_ctl from PG_BIN, default /usr/lib/postgresql/*/bin),
redis-server and daphne on free ports of 127.0.0.1 in temporary directories (as root,
PostgreSQL runs as the postgres user), and for each scenario prints one line:

    FAULT <scenario> lost=<n> doubled=<n> recovered_in=<seconds>s

The task worker killed during delivery and the full disk (``--only worker,disk``) are the
scenarios of tests/faults/test_worker_and_disk.py, run as they are (a real worker killed
four times over 30 replies to a real SMTP server; a real 1 MB tmpfs): this runs that file
and prints its FAULT lines.

lost and doubled are counted from the database against what the clients sent (a unique
token per message) and from what each side was shown; recovered_in runs from the fault's
end to the first answer after it (for the storm: until the last client is back in).
The chat scenarios run daphne as bin/run-dev.sh starts it. The storm runs three times: on
daphne with its defaults, with only the handshake timeout and listen backlog of run-dev.sh,
and as run-dev.sh starts it (also keeping the database connection), printing the
handshakes that failed in each.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleS0=")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("APP_IDENTITY_KEYS", "bench:bench-only-app-identity-key-0123456789abcdef")
os.environ.setdefault("CUSTOMER_SITE_URL", "https://support.example.test")

from tests.faults import harness  # noqa: E402
from tests.faults.servers import (  # noqa: E402
    RUN_DEV_ARGS,
    RUN_DEV_BACKLOG,
    RUN_DEV_ENV,
    MigratedPostgres,
    daphne_process,
    missing_binaries,
    private_postgres,
    private_redis,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--messages", type=int, default=30, help="per side of each conversation")
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--storm", type=int, default=500, help="customers reconnecting at once")
    parser.add_argument(
        "--within", type=float, default=30, help="seconds a storm's clients keep trying"
    )
    parser.add_argument("--only", default="redis,postgres,import,daphne,storm,worker,disk")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    if missing := missing_binaries():
        sys.exit(f"bench/faults.py needs {', '.join(missing)}")

    results = []
    with private_postgres() as postgres, private_redis() as redis:
        template = MigratedPostgres(postgres, **harness.FAULT_ENV)

        def fresh():
            if redis.process is None or redis.process.poll() is not None:
                redis.start()
            return template.fresh_env(REDIS_URL=redis.url)

        def chat(name, run):
            env = fresh()
            with daphne_process(env) as web:
                specs = harness.conversations(env, args.conversations)
                result = run(web, env, specs)
            show(result, results)

        if "redis" in wanted:
            chat(
                "redis",
                lambda web, env, specs: harness.redis_killed(
                    web, redis, env, specs, messages=args.messages
                ),
            )
        if "postgres" in wanted:
            chat(
                "postgres",
                lambda web, env, specs: harness.postgres_restarted_during_chat(
                    web, postgres, env, specs, messages=args.messages
                ),
            )
        if "daphne" in wanted:
            chat(
                "daphne",
                lambda web, env, specs: harness.daphne_killed(
                    web, env, specs, messages=args.messages
                ),
            )
        if "import" in wanted:
            with tempfile.TemporaryDirectory() as folder:
                show(
                    harness.postgres_restarted_during_import(
                        postgres, fresh(), Path(folder) / "mail", count=args.emails, python=""
                    ),
                    results,
                )
        if "storm" in wanted:
            env = fresh()
            specs = harness.conversations(env, args.storm)
            runs = (
                ("daphne-defaults", env, {}),
                ("timeout+backlog", env, {"extra_args": RUN_DEV_ARGS, "backlog": RUN_DEV_BACKLOG}),
                (
                    "run-dev",
                    {**env, **RUN_DEV_ENV},
                    {"extra_args": RUN_DEV_ARGS, "backlog": RUN_DEV_BACKLOG},
                ),
            )
            for label, run_env, options in runs:
                with daphne_process(run_env, as_run_dev=False, **options) as web:
                    result = harness.reconnect_storm(web, run_env, specs, within=args.within)
                result.scenario = f"reconnect-storm-{args.storm}[{label}]"
                show(result, results)
    bad = [r for r in results if r.lost or r.doubled]
    failed = worker_and_disk(wanted & {"worker", "disk"})
    sys.exit(1 if bad or failed else 0)


def worker_and_disk(wanted: set[str]) -> bool:
    """Run the worker and disk scenarios of the quick set (they need no bigger version) and
    print their FAULT lines; True when one failed."""
    if not wanted:
        return False
    names = {"worker": "worker_is_killed", "disk": "full_disk"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            "tests/faults/test_worker_and_disk.py",
            "-k",
            " or ".join(names[name] for name in sorted(wanted)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    for line in run.stdout.splitlines():
        if "FAULT " in line:
            print(line[line.index("FAULT ") :], flush=True)
    if run.returncode:
        print(run.stdout[-3000:], run.stderr[-2000:], sep="\n")
    return run.returncode != 0


def show(result: harness.Result, results: list) -> None:
    results.append(result)
    details = {k: v for k, v in result.details.items() if k != "first_run"}
    print(result.line(), details, flush=True)


if __name__ == "__main__":
    main()
