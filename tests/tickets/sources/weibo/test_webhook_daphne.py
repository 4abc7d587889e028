"""The Weibo webhook over real HTTP, served by real daphne: signed requests (the signature
written in the test from the platform's published algorithm) are stored once; a replay, a
forgery and an oversized body are refused with nothing written."""

import hashlib
import http.client
import json
import secrets
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.e2e.servers import migrated_database, running_daphne

pytestmark = pytest.mark.e2e
SECRET = "e2e-weibo-app-secret"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    directory = tmp_path_factory.mktemp("weibo")
    with (
        migrated_database(directory, WEIBO_APP_SECRET=SECRET) as env,
        running_daphne(env=env) as server,
    ):
        yield server, Path(directory) / "e2e.sqlite3"


def signed(secret=SECRET) -> dict:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    joined = "".join(sorted([secret, timestamp, nonce]))
    digest = hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 - the platform's
    return {"signature": digest, "timestamp": timestamp, "nonce": nonce}


def post(server, params: dict, body: bytes, *, declared: int | None = None):
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.putrequest("POST", "/webhooks/weibo/?" + urlencode(params))
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(body) if declared is None else declared))
        connection.endheaders()
        connection.send(body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def counts(database: Path) -> tuple[int, int]:
    with sqlite3.connect(database) as db:
        raw = db.execute("select count(*) from tickets_inboundmessage").fetchone()[0]
        messages = db.execute("select count(*) from tickets_message").fetchone()[0]
    return raw, messages


def test_signed_messages_are_stored_once_and_bad_requests_write_nothing(served):
    server, database = served
    body = json.dumps(
        {
            "type": "text",
            "receiver_id": 1902538057,
            "sender_id": 2489518277,
            "created_at": datetime.now(UTC).strftime("%a %b %d %H:%M:%S +0000 %Y"),
            "text": "我的账户被锁了",
            "data": {},
        },
        ensure_ascii=False,
    ).encode()
    params = signed()
    assert post(server, params, body) == (200, b"success"), server.output()[-2000:]
    assert counts(database) == (1, 1)
    assert post(server, signed(), body) == (200, b"success")  # the platform's retry
    assert counts(database) == (2, 1)

    assert post(server, params, body)[0] == 403  # the same nonce again
    assert post(server, signed("forged"), body)[0] == 403
    tampered = {**signed(), "timestamp": str(int(time.time()) - 1)}
    assert post(server, tampered, body)[0] == 403
    status, _ = post(server, signed(), b"x" * 70_000)
    assert status == 413
    assert counts(database) == (2, 1)
