"""The one limit on a request body, kept whichever ASGI server runs the project.

Why: an anonymous 100 MB POST to any URL (a 404 page included) used to be read whole
before anything looked at it. REQUEST_MAX_BODY_BYTES is the most any request may send;
the largest legitimate body is a customer's chat image (CHAT_MAX_UPLOAD_BYTES) with its
multipart wrapping, and the settings refuse a limit below that.

Two guards, one answer (413, JSON ``{"error": ...}``, the connection closed):

- ``BodyLimit``, an ASGI middleware around the HTTP app (mywallet_support.asgi): a declared
  Content-Length over the limit is answered before the body is read; a body without one
  (chunked) is counted as its ``http.request`` messages arrive and answered as soon as the
  count passes the limit; the application then sees the client gone. Servers that stream
  bodies to the application (uvicorn, hypercorn) are bounded by this alone.
- daphne reads the whole body before the application sees any of it, so it is bounded in
  the server too (``mywallet_support.daphne.bound_daphne_requests``), with this module's
  answer.
"""

import json

CONTENT_TOO_LARGE = 413


def too_large_body(limit: int) -> bytes:
    """The 413 answer's body: short, plain, and the same from both guards."""
    message = f"The request body is larger than this server accepts ({limit} bytes)."
    return json.dumps({"error": message}).encode()


def declared_length(scope) -> int | None:
    """The Content-Length the client declared, or None (none, or not a number)."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class BodyLimit:
    """ASGI middleware: no HTTP request body over ``limit`` bytes reaches the application."""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = declared_length(scope)
        if declared is not None and declared > self.limit:
            await self.refuse(send)
            return None
        return await _Guarded(self, receive, send).run(scope)

    async def refuse(self, send) -> None:
        body = too_large_body(self.limit)
        await send(
            {
                "type": "http.response.start",
                "status": CONTENT_TOO_LARGE,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _Guarded:
    """One request: counts the body as the application reads it, and answers 413 (instead of
    the application, which is told the client left) once it passes the limit."""

    def __init__(self, limit: BodyLimit, receive, send):
        self.guard = limit
        self._receive = receive
        self._send = send
        self.received = 0
        self.refused = False
        self.started = False

    async def run(self, scope):
        return await self.guard.app(scope, self.receive, self.send)

    async def receive(self):
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.guard.limit:
                self.refused = True
                if not self.started:
                    await self.guard.refuse(self._send)
                return {"type": "http.disconnect"}
        return message

    async def send(self, message):
        if self.refused:
            return  # answered already: the application's reply to a client gone goes nowhere
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)
