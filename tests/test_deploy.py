"""Production settings: `check --deploy` is clean, and a missing secret stops the start."""

import os
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

from cryptography.fernet import Fernet
from django.db import connection

from tests.e2e.servers import ROOT, server_env


def production_env(**overrides: str) -> dict[str, str]:
    env = server_env(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="prod-like-" + "q7Zr!x2#Lm9@vB4$" * 4,
        DJANGO_ALLOWED_HOSTS="support.example.com",
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        **overrides,
    )
    # The test suite relaxes these for itself (tests/pytest_env.py); production keeps defaults.
    for name in ("DJANGO_SECURE_SSL_REDIRECT", "DJANGO_SECURE_HSTS_SECONDS", "EMAIL_BACKEND"):
        env.pop(name, None)
    return env


def a_database_there() -> dict[str, str]:
    """On PostgreSQL the model checks ask the server its version (which generated columns it
    supports), as they would in production: point them at the test run's own database,
    which exists (the configured one may not, during the tests)."""
    if connection.vendor != "postgresql":
        return {}
    url = urlsplit(os.environ["DATABASE_URL"])
    return {"DATABASE_URL": urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_check_deploy_reports_no_issues_in_a_production_configuration(django_db_setup):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env=production_env(**a_database_there())
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_settings_refuse_to_load_without_a_secret_key_when_debug_is_off():
    env = production_env()
    del env["DJANGO_SECRET_KEY"]

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr


def test_settings_refuse_to_load_without_encryption_keys_when_debug_is_off():
    env = production_env()
    del env["FIELD_ENCRYPTION_KEYS"]

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS must be set" in result.stderr
