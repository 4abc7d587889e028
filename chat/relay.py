"""A bare relay socket, the benchmark's baseline (bench/chat_load.py): no storage, no checks.

/ws/bench-relay/<room>/<side>/ (side "customer" or "agent") joins group
``bench_relay_<room>_<side>`` and hands every text frame, untouched, to the other side's
group through the same channel layer our chat uses. It exists only when the setting
CHAT_BENCH_RELAY is on (chat.routing); never in production by default.
"""

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

SIDES = {"customer": "agent", "agent": "customer"}


def relay_group(room: int, side: str) -> str:
    return f"bench_relay_{room}_{side}"


class RelayConsumer(AsyncWebsocketConsumer):
    async def dispatch(self, message):
        # As bare as the chat sockets' own dispatch (chat.consumers.ChatSocket): no hop to
        # the sync thread per frame, so the baseline is not slowed by what ours avoids.
        await getattr(self, get_handler_name(message))(message)

    async def connect(self):
        kwargs = self.scope["url_route"]["kwargs"]
        side = kwargs["side"]
        if side not in SIDES:
            await self.close()
            return
        self.group = relay_group(kwargs["room"], side)
        self.other = relay_group(kwargs["room"], SIDES[side])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        await self.channel_layer.group_send(self.other, {"type": "relay.frame", "text": text_data})

    async def relay_frame(self, event):
        await self.send(text_data=event["text"])
