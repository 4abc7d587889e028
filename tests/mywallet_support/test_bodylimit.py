"""The body limit as ASGI middleware, for servers that stream bodies to the application
(uvicorn, hypercorn): the project's Django app behind ``BodyLimit``, driven message by
message as such a server drives it. Daphne's own bound: tests/e2e/test_bounded_requests.py."""

import asyncio
import json
import subprocess
import sys

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application

from mywallet_support.bodylimit import BodyLimit
from tests.e2e.servers import ROOT, server_env

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 1000


def scope(path: str, *, length: int | None) -> dict:
    headers = [(b"host", b"testserver"), (b"content-type", b"application/octet-stream")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ["127.0.0.1", 50000],
        "server": ["testserver", 80],
    }


async def answer(communicator: ApplicationCommunicator) -> tuple[int, bytes]:
    start = await communicator.receive_output(timeout=10)
    body = b""
    while True:
        message = await communicator.receive_output(timeout=10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            return start["status"], body


def app():
    return BodyLimit(get_asgi_application(), LIMIT)


def test_a_declared_length_over_the_limit_is_answered_before_any_body_is_read():
    asyncio.run(_a_declared_length_over_the_limit_is_answered_before_any_body_is_read())


async def _a_declared_length_over_the_limit_is_answered_before_any_body_is_read():
    communicator = ApplicationCommunicator(app(), scope("/healthz", length=LIMIT + 1))

    status, body = await answer(communicator)

    assert status == 413
    assert "larger than this server accepts (1000 bytes)" in json.loads(body)["error"]
    assert communicator.input_queue.qsize() == 0  # nothing was sent, nothing was asked for


def test_a_streamed_body_is_answered_413_once_it_passes_the_limit():
    asyncio.run(_a_streamed_body_is_answered_413_once_it_passes_the_limit())


async def _a_streamed_body_is_answered_413_once_it_passes_the_limit():
    communicator = ApplicationCommunicator(app(), scope("/no-such-page/", length=None))
    for _ in range(3):  # 900 bytes: under the limit
        await communicator.send_input(
            {"type": "http.request", "body": b"x" * 300, "more_body": True}
        )
    await communicator.send_input({"type": "http.request", "body": b"x" * 300, "more_body": True})

    status, body = await answer(communicator)

    assert status == 413
    assert "larger than this server accepts" in json.loads(body)["error"]
    assert await communicator.receive_nothing(
        timeout=0.5
    )  # Django, told the client left, says nothing
    await communicator.wait(timeout=5)


def test_a_body_at_the_limit_reaches_the_application():
    asyncio.run(_a_body_at_the_limit_reaches_the_application())


async def _a_body_at_the_limit_reaches_the_application():
    communicator = ApplicationCommunicator(app(), scope("/no-such-page/", length=LIMIT))
    await communicator.send_input({"type": "http.request", "body": b"x" * LIMIT})

    status, _body = await answer(communicator)

    assert status == 404


def test_the_settings_refuse_a_limit_below_the_largest_chat_image():
    env = server_env(REQUEST_MAX_BODY_BYTES="1000000", CHAT_MAX_UPLOAD_BYTES="5242880")
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )

    assert result.returncode != 0
    assert "REQUEST_MAX_BODY_BYTES must be at least CHAT_MAX_UPLOAD_BYTES" in result.stderr
