"""No full value in any socket frame an agent gets (issue 16, point 3), over a real daphne
and the `websockets` client: a customer writes an ID number, a card number, a phone number,
an email address and a passport number in a live chat; the agent's chat console (the
waiting list, the chat's history, the live line) and the workspace socket carry the masked
forms only, and so does a reconnect's resume."""

import pytest

from tests.workspace.test_no_full_value import FULL, TEXT

from .servers import Peer, create_staff, migrated_database, running_daphne, start_customer_chat
from .test_chat_conversation import CHAT_ENV, open_console, run, say

pytestmark = pytest.mark.e2e

MASKED = ["1101**********4514", "622202*********0123", "139****5678", "E*****678"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with migrated_database(tmp_path_factory.mktemp("pii-frames"), **CHAT_ENV) as env:
        create_staff(env, "agent1", "agent2")
        with running_daphne(env=env) as server:
            yield server


def assert_masked_only(frames: list[dict], where: str) -> None:
    text = repr(frames)
    for kind, value in FULL.items():
        assert value not in text, f"the full {kind} is in a {where} frame"


def test_no_socket_frame_to_an_agent_holds_a_full_value(server):
    async def scenario():
        console = await open_console(server, "agent1")
        workspace = await Peer.open(server, "/ws/workspace/", console.session)
        await workspace.expect(lambda f: f["type"] == "hello")
        browser, started = start_customer_chat(server, name="Li Wei", contact="")
        conversation = started["conversation"]
        customer = await Peer.open(server, "/ws/chat/", browser)
        await customer.expect(lambda f: f["type"] == "status")
        # Written while the chat waits: the waiting list's preview is this line.
        first = await say(customer, TEXT)
        await console.expect(
            lambda f: (
                f["type"] == "waiting_change"
                and any(c["conversation"] == conversation for c in f["added"])
            )
        )
        await console.send({"type": "accept", "conversation": conversation})
        await console.expect(lambda f: f["type"] == "chat")
        await customer.expect(lambda f: f["type"] == "status" and f["state"] == "active")

        live = await say(customer, TEXT)  # the live line, as the agent sees it arrive
        frame = await console.expect(lambda f: f["type"] == "message" and f["id"] == live)
        assert all(masked in frame["text"] for masked in MASKED), frame["text"]
        await console.send({"type": "resume", "conversation": conversation, "after": 0})
        await console.quiet(0.5)
        await workspace.quiet(0.3)
        assert first < live
        assert_masked_only(console.frames, "chat console")
        assert_masked_only(workspace.frames, "workspace socket")
        for peer in (console, workspace, customer):
            await peer.close()

    run(scenario())
