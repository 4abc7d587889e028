"""Helpers for the chat tests: real sessions from the HTTP endpoints, sockets through the
project's whole ASGI stack (origin check, session and auth middleware, routing)."""

import asyncio
import json

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from chat.models import AgentPresence
from mywallet_support.asgi import application
from tests.conftest import verified_client

ORIGIN = b"http://127.0.0.1"
TIMEOUT = 3


@pytest.fixture(autouse=True)
def _chat_settings(settings):
    settings.CHAT_BATCH_WINDOW_MS = 1
    settings.CHAT_AUTO_ASSIGN = False
    settings.CHAT_HTTP_PER_MINUTE = 1000


def cookie_header(client: Client) -> bytes:
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items()).encode()


def start_chat(client: Client | None = None, **data) -> tuple[Client, dict]:
    client = client or Client()
    response = client.post("/chat/start/", data)
    assert response.status_code == 200, response.content
    return client, response.json()


def socket(path: str, client: Client | None = None, *, origin: bytes = ORIGIN, headers=()):
    all_headers = [(b"origin", origin), *headers]
    if client is not None:
        all_headers.append((b"cookie", cookie_header(client)))
    return WebsocketCommunicator(application, path, headers=all_headers)


async def receive(communicator, timeout: float = TIMEOUT) -> dict:
    return json.loads((await communicator.receive_output(timeout))["text"])


async def receive_until(communicator, predicate, *, limit: int = 50) -> dict:
    """Frames are read (and dropped) until one matches ``predicate``."""
    for _ in range(limit):
        frame = await receive(communicator)
        if predicate(frame):
            return frame
    raise AssertionError("no matching frame")


async def drain(communicator, wait: float = 0.2) -> list[dict]:
    """Every frame that arrives within ``wait`` seconds of the last one (a timeout of
    receive_output would cancel the application, receive_nothing does not)."""
    frames = []
    while not await communicator.receive_nothing(wait):
        output = await communicator.receive_output(TIMEOUT)
        if output["type"] != "websocket.send":
            frames.append(output)
            return frames
        frames.append(json.loads(output["text"]))
    return frames


async def closed_with(communicator) -> int:
    for _ in range(100):
        output = await communicator.receive_output(TIMEOUT)
        if output["type"] == "websocket.close":
            return output.get("code")
    raise AssertionError("not closed")


def agent_client(user) -> Client:
    return verified_client(user)


async def connect_agent(client: Client, *, online: bool = True):
    """An agent console socket, past its hello and waiting frames, online if asked."""
    communicator = socket("/ws/agent/", client)
    connected, _ = await communicator.connect()
    assert connected
    hello = await receive(communicator)
    assert hello["type"] == "hello", hello
    await receive_until(communicator, lambda f: f["type"] == "waiting")
    if online:
        await communicator.send_json_to({"type": "presence", "status": "online"})
        await asyncio.sleep(0.05)
    return communicator


def presence(user) -> AgentPresence:
    return AgentPresence.objects.get(user=user)
