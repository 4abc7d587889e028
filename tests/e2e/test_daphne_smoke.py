"""The project served by real daphne, as `make run` and production serve it."""

import json

import pytest

from .servers import http_get, migrated_database, running_daphne

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with (
        migrated_database(tmp_path_factory.mktemp("daphne")) as env,
        running_daphne(env=env) as server,
    ):
        yield server


def test_healthz_reports_ok_with_the_database(server):
    status, headers, body = http_get(server.url("/healthz"))

    assert status == 200, body
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"status": "ok", "database": "ok"}


def test_the_agent_login_page_is_served(server):
    status, _headers, body = http_get(server.url("/admin/login/"))

    assert status == 200, server.output()[-3000:]
    assert b"csrfmiddlewaretoken" in body


def test_static_files_are_served_by_daphne_itself(server):
    status, headers, body = http_get(server.url("/static/admin/css/base.css"))

    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert len(body) > 1000
