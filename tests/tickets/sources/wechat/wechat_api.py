"""A small WeChat API on a free 127.0.0.1 port, speaking the calls the sender and intake make:

- ``GET /cgi-bin/token?grant_type=client_credential&appid=..&secret=..``: ``{"access_token",
  "expires_in"}``, or errcode 40013 / 40125 for a wrong appid or secret;
- ``POST /cgi-bin/message/custom/send?access_token=..`` with the JSON message: errcode 0,
  or 40001 for a token it did not issue (or one `expire_tokens` revoked), 45015 when the
  OpenID's last message is more than 48 hours old (``last_message_at``), 43004 for an
  OpenID that does not follow the account (``followers``); ``busy`` makes it answer -1.

- ``GET /cgi-bin/media/get?access_token=..&media_id=..``: the file put in ``media`` (its
  type, a Content-Disposition name), 40001 for a token it did not issue, 40007 for a media
  id it does not hold.

It records what it receives (``media_requests`` too) (``sent``, ``token_requests``)."""

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

APP_ID = "wx-test-app"
APP_SECRET = "test-app-secret"
WINDOW_SECONDS = 48 * 3600


class WeChatAPI:
    def __init__(self, server: ThreadingHTTPServer):
        self.server = server
        self.base = f"http://127.0.0.1:{server.server_address[1]}"
        self.lock = threading.Lock()
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.sent: list[dict] = []
        self.followers: set[str] = set()
        self.last_message_at: dict[str, float] = {}  # OpenID -> Unix seconds
        self.busy = False
        self.media: dict[str, tuple[str, bytes]] = {}  # media id -> (content type, bytes)
        self.media_requests: list[str] = []

    def customer_wrote(self, open_id: str, *, ago: float = 0) -> None:
        with self.lock:
            self.followers.add(open_id)
            self.last_message_at[open_id] = time.time() - ago

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def handle_token(self, query: dict) -> dict:
        if query.get("appid") != [APP_ID]:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if query.get("secret") != [APP_SECRET]:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.token_requests += 1
            self.tokens.add(token)
        return {"access_token": token, "expires_in": 7200}

    def handle_media(self, query: dict) -> tuple[str, bytes] | dict:
        media_id = (query.get("media_id") or [""])[0]
        with self.lock:
            self.media_requests.append(media_id)
            if (query.get("access_token") or [""])[0] not in self.tokens:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            if media_id not in self.media:
                return {"errcode": 40007, "errmsg": "invalid media_id"}
            return self.media[media_id]

    def handle_send(self, query: dict, raw: bytes) -> dict:
        with self.lock:
            if (query.get("access_token") or [""])[0] not in self.tokens:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            if self.busy:
                return {"errcode": -1, "errmsg": "system error"}
            try:
                body = json.loads(raw)
                open_id, content = body["touser"], body["text"]["content"]
            except (ValueError, KeyError, TypeError):
                return {"errcode": 44002, "errmsg": "empty post data"}
            if open_id not in self.followers:
                return {"errcode": 43004, "errmsg": "require subscribe"}
            if time.time() - self.last_message_at.get(open_id, 0) > WINDOW_SECONDS:
                return {"errcode": 45015, "errmsg": "response out of time limit"}
            self.sent.append({"touser": open_id, "content": content})
        return {"errcode": 0, "errmsg": "ok"}


def _handler(ref: list) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

        def _answer(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)  # WeChat answers 200 with an errcode
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urlsplit(self.path)
            if url.path == "/cgi-bin/media/get":
                found = ref[0].handle_media(parse_qs(url.query))
                if isinstance(found, dict):
                    return self._answer(found)
                content_type, data = found
                extension = content_type.rsplit("/", 1)[-1]
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Disposition", f'attachment; filename="media.{extension}"')
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return None
            if url.path != "/cgi-bin/token":
                return self._answer({"errcode": 404, "errmsg": "not found"})
            return self._answer(ref[0].handle_token(parse_qs(url.query)))

        def do_POST(self):
            url = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if url.path != "/cgi-bin/message/custom/send":
                return self._answer({"errcode": 404, "errmsg": "not found"})
            return self._answer(ref[0].handle_send(parse_qs(url.query), raw))

    return Handler


@contextmanager
def running_wechat_api() -> Iterator[WeChatAPI]:
    ref: list = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
    api = WeChatAPI(server)
    ref.append(api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
