"""A small SMS gateway on a free 127.0.0.1 port, speaking the JSON contract of
accounts.sms.HTTPBackend: ``POST /messages`` with ``X-API-Key`` and ``{"to", "text"}``,
answered ``200 {"id": "..."}``; a wrong key is 401, a bad body 400. ``fail_with`` makes it
answer a chosen status (e.g. 503) to drive the sender's error handling."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_KEY = "test-gateway-key"


@dataclass(frozen=True)
class Sms:
    to: str
    text: str


class SMSGateway:
    def __init__(self, server: ThreadingHTTPServer):
        self.server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}/messages"
        self.received: list[Sms] = []
        self.fail_with: int | None = None
        self.lock = threading.Lock()

    @property
    def messages(self) -> list[Sms]:
        """What the gateway received."""
        with self.lock:
            return list(self.received)

    def to(self, number: str) -> list[Sms]:
        return [sms for sms in self.messages if sms.to == number]


def _handler(gateway_ref: list) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # quiet
            pass

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            gateway: SMSGateway = gateway_ref[0]
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path != "/messages":
                return self._answer(404, {"error": "not found"})
            if self.headers.get("X-API-Key") != API_KEY:
                return self._answer(401, {"error": "bad key"})
            if gateway.fail_with:
                return self._answer(gateway.fail_with, {"error": "gateway trouble"})
            try:
                body = json.loads(raw)
                sms = Sms(to=body["to"], text=body["text"])
            except (ValueError, KeyError, TypeError):
                return self._answer(400, {"error": "bad body"})
            with gateway.lock:
                gateway.received.append(sms)
                number = len(gateway.received)
            return self._answer(200, {"id": f"sms-{number}"})

    return Handler


@contextmanager
def running_sms_gateway() -> Iterator[SMSGateway]:
    ref: list = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
    gateway = SMSGateway(server)
    ref.append(gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
