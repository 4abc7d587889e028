"""One adjustment of daphne, the server: it may close a websocket with 1009 (message too big).

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
