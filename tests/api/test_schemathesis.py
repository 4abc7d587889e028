"""Schemathesis against the live schema: every operation of /api/schema/, served by daphne
on a copy of the seeded demo, once with an integration key holding every scope and once
with the app's customer token. Passing means no server error and no answer that breaks
the published schema (status, content type, headers, body).

The run is stateless (examples, coverage and fuzzing phases) and bounded: a few examples
per operation, one worker, a fixed seed so that CI reruns what failed. A finding prints
schemathesis' own report, with a curl line to reproduce it against a seeded demo.
"""

import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest

from accounts.app_identity import ALGORITHM, AUDIENCE_API
from api.models import Scope

from ..e2e.servers import http_get, manage, migrated_database, running_daphne

# One run's bound (17 operations took 20 s each way on 2 cores): within the customer
# token's lifetime, so one token serves the run.
RUN_TIMEOUT = 80
TOKEN_LIFETIME = 240
# The demo's server serves its own seeded SQLite copy whatever DATABASE_URL says, so the
# PostgreSQL pass would fuzz the same thing again. The first test also starts the server
# (and makes the seeded template, once per test run: about 25 s).
pytestmark = [pytest.mark.e2e, pytest.mark.sqlite_pass, pytest.mark.timeout(RUN_TIMEOUT + 60)]
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
MAX_EXAMPLES = 10
SEED = 15  # issue 15, the REST API
WALLET = "MW8800000101"  # the demo's Wang Fang (demo/data.py)
# Rates high enough that a 429 never stands in for the answer under test.
UNTHROTTLED = {
    f"API_RATE_{who}": "100000/min" for who in ("PER_KEY", "PER_AGENT", "PER_CUSTOMER", "ANONYMOUS")
}
# The shared secrets of the wallet core's and the telephony system's endpoints: unset, they
# answer 503 "not configured", a deployment's state rather than an answer to fuzz.
CONFIGURED = {
    "WALLET_EVENTS_SECRET": secrets.token_hex(32),
    "TELEPHONY_API_TOKEN": secrets.token_hex(32),
}
ST = Path(sys.executable).with_name("st")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("schemathesis")
    with (
        migrated_database(directory, seeded=True, **UNTHROTTLED, **CONFIGURED) as env,
        running_daphne(env=env) as server,
    ):
        yield server


def test_every_operation_keeps_to_the_schema_with_a_key(server, tmp_path):
    scopes = [arg for scope in Scope.values for arg in ("--scope", scope)]
    made = manage("api_key", "create", "--name", "schemathesis", *scopes, env=server.env)
    key = made.stdout.strip()

    run_schemathesis(server, tmp_path, "Authorization", f"Bearer {key}", kind="key")


def test_every_operation_keeps_to_the_schema_with_a_customer_token(server, tmp_path):
    token = customer_token(server.env, WALLET)

    run_schemathesis(server, tmp_path, "X-Customer-Token", token, kind="customer")


def customer_token(env: dict[str, str], wallet: str) -> str:
    """The token the wallet backend would sign (as accounts.app_identity.sign does), from
    the server's own APP_IDENTITY_KEYS: this process's settings are not the server's."""
    key_id, _colon, rest = env["APP_IDENTITY_KEYS"].split(",")[0].partition(":")
    now = int(time.time())
    claims = {
        "sub": wallet,
        "aud": AUDIENCE_API,
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(18),
    }
    secret = rest.strip()
    return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": key_id.strip().lower()})


def run_schemathesis(server, directory: Path, header: str, value: str, *, kind: str) -> None:
    # The credential must open the API, or every operation would pass on its 401.
    status, _headers, body = http_get(server.url("/api/me/"), headers={header: value})
    assert status == 200 and json.loads(body)["kind"] == kind, body
    command = [
        str(ST),
        "run",
        server.url("/api/schema/"),
        *("--header", f"{header}: {value}"),
        *("--checks", ",".join(CHECKS)),
        *("--phases", "examples,coverage,fuzzing"),
        *("--max-examples", str(MAX_EXAMPLES)),
        *("--seed", str(SEED)),
        *("--workers", "1"),
        *("--request-timeout", "10"),
        *("--generation-database", "none"),
        # Only the credential given: no made-up values for the other schemes' headers and
        # cookie, so each run is the key's or the customer's.
        *("--generation-with-security-parameters", "false"),
        "--no-color",
    ]
    started = time.monotonic()
    try:
        result = subprocess.run(
            command,
            cwd=directory,
            env={**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"},
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"schemathesis ran past {RUN_TIMEOUT} s:\n{expired.stdout or ''}")
    report = result.stdout + result.stderr
    assert result.returncode == 0, f"{report}\n--- server log ---\n{server.output()[-5000:]}"
    # Every operation of the schema was tried (a warning, e.g. the customer's 403 on the
    # agents' operations, does not fail the run: the exit code is the verdict).
    selected = re.search(r"Selected: (\d+)/(\d+)", report)
    tested = re.search(r"Tested: (\d+)", report)
    assert selected and tested, report
    assert selected[1] == selected[2] == tested[1], report
    print(f"schemathesis: {time.monotonic() - started:.1f}s\n{report[-1500:]}")
