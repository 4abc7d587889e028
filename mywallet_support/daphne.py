"""Two adjustments of daphne, the server: it may close a websocket with 1009 (message too
big), and it reads no request body beyond REQUEST_MAX_BODY_BYTES (the second half of this
module).

Why: the chat closes a socket whose text frame is over CHAT_MAX_FRAME_BYTES with 1009, as
RFC 6455 (7.4.1) allows a server. Daphne hands a consumer's close code to autobahn's
``sendClose``, which accepts only 1000 and 3000-4999 from applications, so our 1009 became
an exception there and the client saw 1011 instead. Found by the end-to-end test
tests/e2e/test_chat_conversation.py (test_a_frame_over_16_kb_closes_the_socket_with_1009);
channels' WebsocketCommunicator never goes through autobahn, so the consumer tests could
not see it.

Applied once where the server is assembled (mywallet_support.asgi), not on importing a
consumer. Under another server (no daphne) it does nothing.
"""

import inspect
import logging

from mywallet_support.bodylimit import too_large_body

logger = logging.getLogger(__name__)

MESSAGE_TOO_BIG = 1009  # RFC 6455 close code; chat.protocol.CLOSE_TOO_BIG


def let_daphne_send_1009() -> None:
    """Let daphne's websocket close with 1009, sent as autobahn itself sends it for an
    oversized message (a close frame, without ``sendClose``'s check). Idempotent."""
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # another server
        return
    original = WebSocketProtocol.serverClose
    if getattr(original, "allows_1009", False):
        return

    def server_close(self, code=None):
        if code == MESSAGE_TOO_BIG:
            self.sendCloseFrame(code=code)
        else:
            original(self, code)

    server_close.allows_1009 = True
    WebSocketProtocol.serverClose = server_close


# --- bounded request bodies ----------------------------------------------------------------
#
# Why: daphne runs on Twisted's HTTP request, which reads the whole body (to memory under
# 100 kB, else to a temporary file) before daphne sees the request, and then, for a POST of
# multipart/form-data or urlencoded data, parses it into ``request.args``, which daphne never
# uses: a 100 MB multipart POST grew daphne by 1.1-1.3 GB and stalled its reactor, every
# websocket with it. So, on daphne's request (daphne.http_protocol.WebRequest):
#
# - a declared Content-Length over the limit is answered 413 as soon as the headers end
#   (``gotLength``), before a byte of the body is read;
# - a body without one (chunked) is counted as it arrives (``handleContentChunk``) and
#   answered 413 once it passes the limit;
# - the body is never parsed into ``request.args`` (``requestReceived``).
#
# After a 413 the connection keeps reading (and dropping) what the client still sends for
# at most LINGER_SECONDS and LINGER_BYTES, so that a client still sending reads the answer
# instead of a reset connection, then closes. The application never sees a refused request.

LINGER_SECONDS = 2.0
LINGER_BYTES = 4 * 1024 * 1024


def bound_daphne_requests(limit: int) -> None:
    """Bound every request body daphne reads to ``limit`` bytes (see above). Calling it
    again changes the limit; under another server it does nothing."""
    try:
        from daphne.http_protocol import WebRequest
    except ImportError:  # another server
        return
    WebRequest.max_body_bytes = limit
    if getattr(WebRequest, "body_bounded", False):
        return
    from twisted.web.http import Request

    if "parsePOSTFormSubmission" not in inspect.signature(Request.__init__).parameters:
        raise RuntimeError("this Twisted parses every POST body into request.args")
    WebRequest.body_bounded = True
    WebRequest.body_received = 0
    WebRequest.body_refused = False
    got_length = WebRequest.gotLength
    handle_chunk = WebRequest.handleContentChunk
    request_received = WebRequest.requestReceived

    def gotLength(self, length):
        got_length(self, length)
        if length is not None and length > self.max_body_bytes:
            _refuse(self)

    def handleContentChunk(self, data):
        if self.body_refused:
            return
        self.body_received += len(data)
        if self.body_received > self.max_body_bytes:
            _refuse(self)
            return
        handle_chunk(self, data)

    def requestReceived(self, command, path, version):
        if self.body_refused:
            return
        self._parsePOSTFormSubmission = False  # daphne reads self.content, never self.args
        request_received(self, command, path, version)

    WebRequest.gotLength = gotLength
    WebRequest.handleContentChunk = handleContentChunk
    WebRequest.requestReceived = requestReceived


def _refuse(request) -> None:
    """Answer 413 on the request's connection, drop the rest of the body, and close."""
    from twisted.internet import reactor  # not at import: daphne installs its reactor first

    request.body_refused = True
    logger.warning(
        "daphne: a request body over %d bytes was refused (413) before it was read",
        request.max_body_bytes,
    )
    # Twisted would answer "100 Continue" right after the headers: this answer replaces it.
    request.requestHeaders.removeHeader(b"Expect")
    channel = request.channel
    transport = channel.transport
    body = too_large_body(request.max_body_bytes)
    transport.write(
        b"HTTP/1.1 413 Content Too Large\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: %d\r\n"
        b"Connection: close\r\n\r\n" % len(body) + body
    )

    dropped = 0

    def drop(data):
        nonlocal dropped
        dropped += len(data)
        if dropped > LINGER_BYTES:
            transport.abortConnection()

    channel.dataReceived = drop
    channel.rawDataReceived = drop
    channel.setTimeout(None)
    if hasattr(transport, "loseWriteConnection"):
        transport.loseWriteConnection()  # the answer, then end of stream; reading goes on
    closing = reactor.callLater(LINGER_SECONDS, transport.loseConnection)
    lost = channel.connectionLost

    def connectionLost(reason):
        if closing.active():
            closing.cancel()
        lost(reason)

    channel.connectionLost = connectionLost
