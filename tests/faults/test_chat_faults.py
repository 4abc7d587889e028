"""The fault harness, quick set: real daphne, a private PostgreSQL and Redis, real
websocket clients. Each scenario prints its FAULT line and must lose and double nothing.
bench/faults.py runs the same scenarios bigger, and the 500-client storm."""

import pytest

from tests.faults import harness

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def report(result: harness.Result) -> None:
    print(result.line(), result.details)
    assert (result.lost, result.doubled) == (0, 0), result.details
    assert result.recovered_in == result.recovered_in, "never recovered"  # not NaN


def test_redis_killed_mid_chat(fault_daphne, fault_redis, fault_database):
    specs = harness.conversations(fault_database, 3)
    report(harness.redis_killed(fault_daphne, fault_redis, fault_database, specs, messages=12))


def test_postgres_restarted_mid_chat(fault_daphne, fault_postgres, fault_database):
    specs = harness.conversations(fault_database, 3)
    report(
        harness.postgres_restarted_during_chat(
            fault_daphne, fault_postgres, fault_database, specs, messages=12
        )
    )


def test_daphne_killed_mid_conversation(fault_daphne, fault_database):
    specs = harness.conversations(fault_database, 3)
    report(harness.daphne_killed(fault_daphne, fault_database, specs, messages=12))


def test_reconnect_storm(fault_daphne, fault_database):
    specs = harness.conversations(fault_database, 50)
    result = harness.reconnect_storm(fault_daphne, fault_database, specs, within=10)
    report(result)
    assert result.recovered_in < 10, result.details


def test_postgres_restarted_during_email_import(fault_postgres, fault_database, tmp_path):
    result = harness.postgres_restarted_during_import(
        fault_postgres, fault_database, tmp_path / "mail", count=300, python=""
    )
    report(result)
    assert result.details["restarted_mid_run"], result.details
    # The run the restart hit waits for the database and finishes (it used to die with a
    # traceback, leaving the rest to a second run).
    assert result.details["exit_codes"] == [0], result.details


def test_the_harness_starts_daphne_as_run_dev_does():
    """The scenarios prove run-dev.sh's daphne: its flags and the harness's must agree."""
    from tests.faults import servers

    script = (servers.ROOT / "bin" / "run-dev.sh").read_text()
    assert f"backlog=${{DAPHNE_BACKLOG:-{servers.RUN_DEV_BACKLOG}}}" in script
    flag, seconds = servers.RUN_DEV_ARGS
    assert f'{flag} "${{DAPHNE_CONNECT_TIMEOUT:-{seconds}}}"' in script
    for name, value in servers.RUN_DEV_ENV.items():
        assert f"{name}=${{{name}:-{value}}}" in script
