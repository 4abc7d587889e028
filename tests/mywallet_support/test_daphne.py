"""The one adjustment of daphne (mywallet_support.daphne), applied by mywallet_support.asgi;
the end-to-end proof is tests/e2e/test_chat_conversation.py's 1009 test."""

from daphne.ws_protocol import WebSocketProtocol

import mywallet_support.asgi  # noqa: F401  (applies it, as serving the project does)
from mywallet_support.daphne import let_daphne_send_1009


class FakeProtocol:
    """Records what daphne's serverClose asks of autobahn."""

    def __init__(self):
        self.calls = []

    def sendClose(self, code=None):  # autobahn's names
        self.calls.append(("sendClose", code))

    def sendCloseFrame(self, code=None):
        self.calls.append(("sendCloseFrame", code))


def test_daphne_closes_with_1009_as_a_close_frame_and_other_codes_as_before():
    let_daphne_send_1009()  # a second time changes nothing
    server_close = WebSocketProtocol.serverClose
    assert server_close.allows_1009
    fake = FakeProtocol()
    server_close(fake, 1009)
    server_close(fake, 4403)
    server_close(fake)
    assert fake.calls == [("sendCloseFrame", 1009), ("sendClose", 4403), ("sendClose", 1000)]
