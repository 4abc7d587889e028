"""Bounded request bodies, served by real daphne (issue 12, item 1).

Found: an anonymous 100 MB multipart POST to any URL (a 404 page included) grew daphne by
1.1-1.3 GB; Twisted read and parsed the whole body before daphne or Django saw it. Now a
body over REQUEST_MAX_BODY_BYTES is answered 413 before it is read (declared length) or as
soon as it passes the limit (chunked), daphne's memory stays put, and /healthz answers
meanwhile. Bodies are streamed from a generator: the test never holds 100 MB either.
"""

import json
import select
import socket
from collections.abc import Iterable, Iterator

import pytest

from .servers import http_get, migrated_database, running_daphne, start_customer_chat

pytestmark = pytest.mark.e2e

MB = 1024 * 1024
LIMIT = 10 * MB  # the default REQUEST_MAX_BODY_BYTES
HUNDRED_MB = 100 * MB
PIECE = b"x" * (64 * 1024)
BOUNDARY = "bounded-request-test-boundary"
MAX_GROWTH = 64 * MB
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with (
        migrated_database(tmp_path_factory.mktemp("bounded")) as env,
        running_daphne(env=env) as server,
    ):
        yield server


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (the peak so far) of a process, in kB, from /proc."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
    return fields


def multipart(size: int) -> tuple[bytes, Iterator[bytes], bytes]:
    """A multipart/form-data body with one file of ``size`` bytes: head, pieces, tail."""
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="image"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    return head, (PIECE for _ in range(size // len(PIECE))), tail


class Upload:
    """One POST over a raw socket, its body sent piece by piece.

    ``polite``: stop sending as soon as the server answers, as browsers and curl do.
    Otherwise keep sending, as an attacker would, until the body ends or the server cuts
    the connection. ``sent`` counts body bytes that left; ``answer`` is what came back.
    """

    def __init__(
        self,
        server,
        path: str,
        *,
        chunked: bool = False,
        declared: int | None = None,
        expect_continue: bool = False,
    ):
        self.server = server
        self.expect_continue = expect_continue
        self.path = path
        self.chunked = chunked
        self.declared = declared
        self.sent = 0
        self.answer = b""
        self.cut_off = False
        self.sock = socket.create_connection((server.host, server.port), timeout=10)

    def start(self) -> None:
        lines = [
            f"POST {self.path} HTTP/1.1",
            f"Host: {self.server.host}:{self.server.port}",
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        ]
        if self.chunked:
            lines.append("Transfer-Encoding: chunked")
        else:
            lines.append(f"Content-Length: {self.declared}")
        if self.expect_continue:
            lines.append("Expect: 100-continue")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def send(self, pieces: Iterable[bytes], *, polite: bool) -> None:
        for piece in pieces:
            if polite and self._answered():
                return
            data = b"%x\r\n%s\r\n" % (len(piece), piece) if self.chunked else piece
            try:
                self.sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                self.cut_off = True
                return
            self.sent += len(piece)

    def end(self) -> None:
        if self.chunked and not self.cut_off:
            try:
                self.sock.sendall(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.cut_off = True

    def read_answer(self) -> tuple[int, bytes]:
        try:
            while chunk := self.sock.recv(65536):
                self.answer += chunk
                if b"\r\n\r\n" in self.answer and self._complete():
                    break
        except (ConnectionResetError, TimeoutError):
            pass
        finally:
            self.sock.close()
        head, _, body = self.answer.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1]) if head else 0
        return status, body

    def _answered(self) -> bool:
        readable, _, _ = select.select([self.sock], [], [], 0)
        return bool(readable)

    def _complete(self) -> bool:
        head, _, body = self.answer.partition(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                return len(body) >= int(value)
        return False


def healthz_answers(server, times: int) -> int:
    """How many of ``times`` /healthz requests were answered 200."""
    answered = 0
    for _ in range(times):
        status, _headers, _body = http_get(server.url("/healthz"), timeout=10)
        answered += status == 200
    return answered


def refused(status: int, body: bytes) -> bool:
    return status == 413 and "larger than this server accepts" in json.loads(body)["error"]


@pytest.mark.parametrize("path", ["/no-such-page/", "/chat/upload/"])
def test_a_declared_100_mb_post_is_refused_before_its_body_is_read(server, path):
    head, pieces, tail = multipart(HUNDRED_MB)
    before = memory_kb(server.process.pid)

    upload = Upload(server, path, declared=len(head) + HUNDRED_MB + len(tail))
    upload.start()
    upload.send([head], polite=True)
    answered_meanwhile = healthz_answers(server, 5)  # while the upload is open
    upload.send(pieces, polite=True)
    status, body = upload.read_answer()

    assert refused(status, body), upload.answer[:500]
    assert upload.sent < HUNDRED_MB  # answered before the client had sent its body
    assert answered_meanwhile == 5
    after = memory_kb(server.process.pid)
    assert (after["VmHWM"] - before["VmRSS"]) * 1024 < MAX_GROWTH, (before, after)
    assert healthz_answers(server, 1) == 1


def test_a_client_that_keeps_sending_after_the_413_is_cut_off(server):
    head, pieces, tail = multipart(HUNDRED_MB)
    before = memory_kb(server.process.pid)

    upload = Upload(server, "/no-such-page/", declared=len(head) + HUNDRED_MB + len(tail))
    upload.start()
    upload.send([head], polite=False)
    upload.send(pieces, polite=False)
    upload.sock.close()

    assert upload.cut_off
    assert upload.sent < 32 * MB  # the 4 MB the server drops after its answer, and buffers
    after = memory_kb(server.process.pid)
    assert (after["VmHWM"] - before["VmRSS"]) * 1024 < MAX_GROWTH, (before, after)
    assert healthz_answers(server, 3) == 3


@pytest.mark.parametrize("path", ["/no-such-page/", "/chat/upload/"])
def test_a_chunked_100_mb_post_is_refused_once_it_passes_the_limit(server, path):
    head, pieces, _tail = multipart(HUNDRED_MB)
    before = memory_kb(server.process.pid)

    upload = Upload(server, path, chunked=True)
    upload.start()
    upload.send([head, *[PIECE] * 16], polite=True)  # 1 MB in: under the limit, still read
    answered_meanwhile = healthz_answers(server, 5)
    upload.send(pieces, polite=True)
    upload.end()
    status, body = upload.read_answer()

    assert refused(status, body), upload.answer[:500]
    assert LIMIT < upload.sent < HUNDRED_MB
    assert answered_meanwhile == 5
    after = memory_kb(server.process.pid)
    assert (after["VmHWM"] - before["VmRSS"]) * 1024 < MAX_GROWTH, (before, after)


def test_a_chat_image_under_the_limit_is_still_uploaded(server):
    browser, _started = start_customer_chat(server, name="Li Wei", contact="")
    image = PNG + b"\x00" * (2 * MB)
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="client_id"\r\n\r\nbig-one\r\n'
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="image"; filename="screen.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    body = head + image + f"\r\n--{BOUNDARY}--\r\n".encode()

    status, _headers, answer = browser.request(
        "POST",
        "/chat/upload/",
        body=body,
        headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "X-CSRFToken": browser.cookies["csrftoken"],
            "Origin": server.base_url,
            "Referer": server.url("/chat/"),
        },
    )

    assert status == 200, answer[:500]
    assert json.loads(answer)["client_id"] == "big-one"


def test_a_declared_body_just_over_the_limit_is_refused_and_one_at_it_is_read(server):
    at_limit = Upload(server, "/no-such-page/", declared=LIMIT)
    at_limit.start()
    at_limit.send((PIECE for _ in range(LIMIT // len(PIECE))), polite=True)
    status, _body = at_limit.read_answer()
    assert status == 404
    assert at_limit.sent == LIMIT

    over = Upload(server, "/no-such-page/", declared=LIMIT + 1)
    over.start()
    status, body = over.read_answer()
    assert refused(status, body)
    assert "a request body over 10485760 bytes was refused (413)" in server.output()


def test_a_multipart_body_under_the_limit_is_not_parsed_by_the_server(server):
    # Twisted parsed every multipart POST into request.args, which daphne never reads: 11
    # times the body in memory (a 9 MB body cost about 100 MB) before Django saw a byte.
    size = 9 * MB
    head, pieces, tail = multipart(size)
    before = memory_kb(server.process.pid)

    upload = Upload(server, "/no-such-page/", declared=len(head) + size + len(tail))
    upload.start()
    upload.send([head, *pieces, tail], polite=True)
    status, _body = upload.read_answer()

    assert status == 404
    after = memory_kb(server.process.pid)
    assert (after["VmHWM"] - before["VmRSS"]) * 1024 < 48 * MB, (before, after)


def test_a_client_asking_to_continue_is_told_413_instead(server):
    # curl asks "Expect: 100-continue" before a large body: it must not be invited to send it.
    upload = Upload(server, "/chat/upload/", declared=HUNDRED_MB, expect_continue=True)
    upload.start()
    status, body = upload.read_answer()

    assert refused(status, body), upload.answer[:500]
    assert b"100 Continue" not in upload.answer
    assert upload.sent == 0
