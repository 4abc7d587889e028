"""docs/api_client_example.py, run as an integration would run it: a subprocess with only
MYWALLET_API_URL and MYWALLET_API_KEY, against real daphne serving the seeded demo, with a
key made for it. It finds Li Wei by a local phone number, opens a ticket (twice with one
Idempotency-Key: one ticket), answers with If-Match and lists the open tickets."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.servers import manage, migrated_database, running_daphne

pytestmark = [pytest.mark.e2e, pytest.mark.sqlite_pass]

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "api_client_example.py"

MAKE_KEY = """
from django.contrib.auth import get_user_model
from api.actions import create_key
admin = get_user_model().objects.get(username="admin")
_key, text = create_key(acting_user=admin, name="example client",
                        scopes=["customers:read", "tickets:write"])
print(text)
"""

COUNT = """
from tickets.models import Ticket
print(Ticket.objects.filter(subject="Example: top-up not received").count())
"""


def run_example(server, key: str, *args: str) -> subprocess.CompletedProcess:
    env = {"MYWALLET_API_URL": server.base_url, "MYWALLET_API_KEY": key, "PATH": "/usr/bin"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_example_client_does_an_integrations_round_trip(tmp_path):
    with migrated_database(tmp_path, seeded=True) as env:
        key = manage("shell", "-c", MAKE_KEY, env=env).stdout.strip().splitlines()[-1]
        with running_daphne(env=env) as server:
            args = ["--phone", "138 0013 8001", "--subject", "Example: top-up not received"]
            first = run_example(server, key, *args, "--request-id", "example-1")
            again = run_example(server, key, *args, "--request-id", "example-1")
        tickets = manage("shell", "-c", COUNT, env=env).stdout.strip().splitlines()[-1]

    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].startswith("customer: ") and "Li Wei" in lines[0]
    assert lines[1].startswith("opened: ") and "(id " in lines[1]
    assert lines[2].startswith("replied: message ")
    assert lines[3].startswith("open tickets: ")
    reference = lines[1].split()[1]
    assert any(line.strip().startswith(reference) for line in lines[4:])
    # The retried create answered with the same ticket.
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines()[1].split()[1] == reference
    assert tickets == "1"


def test_the_example_client_says_what_it_needs(tmp_path):
    missing = subprocess.run(
        [sys.executable, str(SCRIPT)], env={"PATH": "/usr/bin"}, capture_output=True, text=True
    )
    assert missing.returncode == 2
    assert "MYWALLET_API_URL and MYWALLET_API_KEY" in missing.stderr
