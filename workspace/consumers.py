"""The agent workspace's socket (/ws/workspace/): live updates for the inbox and the
"someone else is replying" presence on a ticket page.

Who may hold it is the agent console's rule (chat.access: a verified agent whose
two-factor session is still alive) plus the right to view tickets, checked at connect and
again whenever chat.revocation says the agent's account, roles or session changed (the
socket joins the agent's own group, as the console does): a signed-out session closes
with 4401, lost rights with 4403. What it carries:

- to every inbox page: ``{"type": "changed", "tickets": [ids]}`` after a commit that
  created or changed tickets or added messages (tickets.live announces; the page fetches
  its rows again);
- after ``{"type": "watch", "ticket": id}`` (a ticket page; one ticket at a time): that
  ticket's new messages (``{"type": "message", "message": id, "direction": ...}``, so the
  reply form can warn that someone answered since the page was loaded), and the other
  agents' ``{"type": "replying", "ticket": id, "name": ...}`` while they type there,
  after this socket's own ``{"type": "typing"}`` frames tell them the same.

Frames are tiny; one over FRAME_LIMIT bytes, or not a JSON object, is ignored.
"""

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from chat.access import agent_allowed, current_agent
from chat.live import agent_group
from chat.protocol import CLOSE_FORBIDDEN, CLOSE_SIGNED_OUT
from chat.selectors import agent_name
from tickets.live import INBOX_GROUP, ticket_group

FRAME_LIMIT = 512


def presence_group(ticket_id: int) -> str:
    return f"replying_{ticket_id}"


class WorkspaceConsumer(AsyncWebsocketConsumer):
    ticket_id: int | None = None
    name = ""
    user_id: int | None = None
    session_key: str | None = None

    async def connect(self):
        user, session = self.scope.get("user"), self.scope.get("session")
        allowed = user is not None and await database_sync_to_async(_may_watch)(user, session)
        await self.accept()
        if not allowed:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.name = agent_name(user)
        self.user_id, self.session_key = user.pk, session.session_key
        await self.channel_layer.group_add(agent_group(user.pk), self.channel_name)
        await self.channel_layer.group_add(INBOX_GROUP, self.channel_name)
        await self.send_json({"type": "hello"})

    async def disconnect(self, code):
        if self.user_id is not None:
            await self.channel_layer.group_discard(agent_group(self.user_id), self.channel_name)
        await self.channel_layer.group_discard(INBOX_GROUP, self.channel_name)
        await self._leave()

    async def receive(self, text_data=None, bytes_data=None):
        if not self.name or text_data is None or len(text_data) > FRAME_LIMIT:
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            return
        if not isinstance(frame, dict):
            return
        if frame.get("type") == "watch" and _is_id(frame.get("ticket")):
            await self._leave()
            self.ticket_id = frame["ticket"]
            await self.channel_layer.group_add(ticket_group(self.ticket_id), self.channel_name)
            await self.channel_layer.group_add(presence_group(self.ticket_id), self.channel_name)
        elif frame.get("type") == "typing" and self.ticket_id is not None:
            await self.channel_layer.group_send(
                presence_group(self.ticket_id),
                {
                    "type": "agent.replying",
                    "ticket": self.ticket_id,
                    "name": self.name,
                    "from": self.channel_name,
                },
            )

    async def _leave(self):
        if self.ticket_id is not None:
            await self.channel_layer.group_discard(ticket_group(self.ticket_id), self.channel_name)
            await self.channel_layer.group_discard(
                presence_group(self.ticket_id), self.channel_name
            )
            self.ticket_id = None

    # --- events from the layer ---------------------------------------------------------------

    async def agent_revoke(self, event):
        """chat.revocation: this session signed out, or the agent's account or roles
        changed: look again, and close when the agent may no longer watch."""
        if not self.name:
            return  # refused, or already closing
        session = event.get("session")
        if session is not None and session != self.session_key:
            return  # another session of theirs signed out
        code = CLOSE_SIGNED_OUT if session is not None else await self._refused()
        if code is not None:
            self.name = ""  # nothing more in or out
            await self.close(code=code)

    async def _refused(self) -> int | None:
        def check():
            user, code = current_agent(self.session_key, self.user_id)
            if user is not None and not user.has_perm("tickets.view_ticket"):
                return CLOSE_FORBIDDEN
            return code

        return await database_sync_to_async(check)()

    async def inbox_changed(self, event):
        await self.send_json({"type": "changed", "tickets": event["tickets"]})

    async def ticket_message(self, event):
        await self.send_json(
            {
                "type": "message",
                "ticket": event["ticket"],
                "message": event["message"],
                "direction": event["direction"],
            }
        )

    async def agent_replying(self, event):
        if event["from"] != self.channel_name:
            await self.send_json(
                {"type": "replying", "ticket": event["ticket"], "name": event["name"]}
            )

    async def send_json(self, content):
        await self.send(text_data=json.dumps(content))


def _may_watch(user, session) -> bool:
    """An agent who may hold the console (chat.access) and may see tickets."""
    return agent_allowed(user, session) and user.has_perm("tickets.view_ticket")


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63
