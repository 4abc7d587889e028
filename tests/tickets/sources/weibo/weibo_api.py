"""A small Weibo reply API on a free 127.0.0.1 port, speaking the contract of
tickets.sources.weibo.outbound: ``POST /2/messages/reply.json``, form-encoded
``access_token``, ``receiver_id``, ``type=text``, ``data`` (URL-encoded JSON with ``text``).
A wrong token answers 403 with error_code 21332; a receiver in ``window_closed`` (the
platform's reply window has passed) 400 with 21331; ``fail_with`` a chosen status and
error code (e.g. 503, or 10023: rate limited). Everything received is recorded."""

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "test-weibo-access-token"


@dataclass(frozen=True)
class Sent:
    receiver_id: str
    text: str


class WeiboAPI:
    def __init__(self, server: ThreadingHTTPServer):
        self.server = server
        self.base = f"http://127.0.0.1:{server.server_address[1]}"
        self.received: list[Sent] = []
        self.requests = 0
        self.window_closed: set[str] = set()
        self.fail_with: tuple[int, int] | None = None
        self.lock = threading.Lock()

    @property
    def sent(self) -> list[Sent]:
        with self.lock:
            return list(self.received)


def _handler(ref: list) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            api: WeiboAPI = ref[0]
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with api.lock:
                api.requests += 1
            if self.path != "/2/messages/reply.json":
                return self._answer(404, {"error": "not found", "error_code": 10014})
            form = dict(urllib.parse.parse_qsl(raw.decode()))
            if form.get("access_token") != TOKEN:
                return self._answer(403, {"error": "invalid access_token", "error_code": 21332})
            if api.fail_with:
                status, code = api.fail_with
                return self._answer(status, {"error": "trouble", "error_code": code})
            receiver = form.get("receiver_id", "")
            if receiver in api.window_closed:
                return self._answer(400, {"error": "reply window passed", "error_code": 21331})
            try:
                data = json.loads(urllib.parse.unquote(form["data"]))
                text = data["text"]
            except (KeyError, ValueError, TypeError):
                return self._answer(400, {"error": "bad data", "error_code": 10008})
            if form.get("type") != "text" or not receiver.isdigit():
                return self._answer(400, {"error": "bad request", "error_code": 10008})
            with api.lock:
                api.received.append(Sent(receiver_id=receiver, text=text))
            return self._answer(200, {"id": len(api.received), "text": text})

    return Handler


@contextmanager
def running_weibo_api() -> Iterator[WeiboAPI]:
    ref: list = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
    api = WeiboAPI(server)
    ref.append(api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
