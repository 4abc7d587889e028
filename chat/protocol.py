"""The chat protocol: JSON text frames on /ws/chat/ (customers) and /ws/agent/ (agents).

This docstring is the contract between the consumers, the customer page (static/chat/) and
the agent console (static/chat/console.*); docs/architecture.md's "Chat protocol" section is
its summary. Below it: the constants and frame checks the consumers (chat/consumers.py) apply.

HTTP first (it sets the session and CSRF cookies):
- GET  /chat/                   the customer page.
- GET  /chat/suggestions/?q=    the customer's question (its first 1,000 characters),
                                before a chat starts; answers {"articles": [{"slug",
                                "title", "url"}]}: up to 3 published help articles whose
                                keywords it names (tickets.knowledge.suggest_articles),
                                titles in the page's language, url /help/<slug>/. The
                                page offers them with "This answered my question" and "I
                                still need an agent" (which starts the chat, the question
                                in the message box). Same per-address limit as start.
- POST /chat/start/             form fields name, contact (phone or email), queue (slug),
                                all optional; CSRF. Opens the conversation (a Ticket on the
                                chat channel), remembers it in the session, answers JSON
                                {"conversation": id, "reference": "MW-000123", "state": ...,
                                "agents_online": bool}. A session with a conversation not
                                ended gets that one back (a reload resumes, opens nothing).
- POST /chat/upload/            multipart "image" (+ "client_id"); CSRF; the session's own
                                conversation only. Stores an Attachment on a new Message and
                                answers the same JSON as an "ack" frame; the message frame
                                reaches both sides through the socket.
- POST /chat/leave-message/     offline form: contact (phone or email, required), name,
                                text; CSRF. Files a ticket; the answer reaches the customer
                                by email (or on their next visit).
- GET  /admin/chat/console/     the agent console (two-factor admin session).

Customer socket /ws/chat/ (session cookie; joins only the session's own conversation; no
conversation in the session: closed with 4403):
client -> server
  {"type": "message", "text": "...", "client_id": "<uuid>"}
  {"type": "typing"}
  {"type": "resume", "after": <last message id seen, 0 for all>}
  {"type": "close"}
  {"type": "rating", "score": 1-5, "comment": "..."}
server -> client
  {"type": "ack", "client_id": "...", "id": <message id>}          once committed
  {"type": "message", "id": n, "author": "customer"|"agent"|"system", "name": "...",
   "text": "...", "sent_at": "<ISO 8601>", "attachments": [{"name", "url",
   "content_type"}]}                                                 internal notes never
  {"type": "typing", "author": "agent"}
  {"type": "status", "state": "waiting", "position": n}              queue position
  {"type": "status", "state": "offline"}                             no agent online
  {"type": "status", "state": "active", "agent": "<display name>"}   agent joined
  {"type": "status", "state": "left", "agent": "..."}                agent left/transferred
  {"type": "status", "state": "closed"}                              ask for the rating
  {"type": "error", "code": "...", "detail": "..."}
  {"type": "error", "code": "not_stored"|"closed", "detail", "client_id"}  a message that
                                                 was not stored: send it again (same id)
On connect the server sends the current status; the client then sends resume.
The socket that sent a message gets its "ack", not the "message" frame (every other socket
of the conversation gets that); a message frame may carry attachments served at
/chat/attachment/<id>/ (the session's own conversation, or a verified agent).
After the channel layer lost frames (a Redis restart), the server itself sends from storage
what each open socket missed (and the current status): nothing twice.

Agent socket /ws/agent/ (staff session verified with two factors, else closed with 4403).
It stays open only while that holds (chat.access, checked again beside a frame once the
last check is a second old, and at once when the account changes, chat.revocation):
closed with 4401 when the session no longer signs the agent in (logged out, password
changed, deactivated), with 4403 when it does but they are no longer a verified agent
(role or permission removed).
Every frame about one chat carries "conversation": <id>.
client -> server
  {"type": "presence", "status": "online"|"away"|"offline"}
  {"type": "waiting_page"}                        answered with a fresh "waiting" frame
  {"type": "accept", "conversation": id}
  {"type": "message", "conversation": id, "text": "...", "client_id": "<uuid>"}
  {"type": "note", "conversation": id, "text": "...", "client_id": "<uuid>"}   internal
  {"type": "typing", "conversation": id}
  {"type": "resume", "conversation": id, "after": n}
  {"type": "transfer", "conversation": id, "agent": <user id>} or "queue": "<slug>"
  {"type": "close", "conversation": id}
server -> client
  {"type": "hello", "agent": {"id", "name", "presence", "max_chats"},
   "queues": [{"slug", "name"}], "agents": [{"id", "name", "presence"}]}
  {"type": "waiting", "chats": [{"conversation", "reference", "customer", "queue",
   "waiting_since": ISO, "preview"}], "count": n}
                                                 the oldest CHAT_WAITING_LISTED (50) chats
                                                 waiting, oldest first, and how many wait
                                                 in all: on connect, after a layer outage
                                                 and when asked ("waiting_page")
  {"type": "waiting_change", "added": [<chat as in "waiting">], "taken": [id],
   "left": [id], "fill": [<chat>], "count": n}   one change of the list (a start, an
                                                 accept, a customer leaving, a transfer),
                                                 never the whole list: "added" holds only
                                                 chats that joined within the listed
                                                 window (or a listed one whose customer
                                                 wrote: its entry again, with the
                                                 preview), "fill" the chats now at its last
                                                 places (as many as left); a console drops
                                                 "taken" and "left", merges "added" and
                                                 "fill" (by conversation), sorts by
                                                 (waiting_since, conversation), keeps the
                                                 first CHAT_WAITING_LISTED and shows
                                                 "+K more waiting" for count minus those
  {"type": "chat", "conversation", "reference", "ticket_url", "state",
   "queue": {"slug", "name"} | null, "macros": [{"title", "text"}],
   "customer": {"name", "url", "contact",
   "identities": [{"kind", "kind_display", "value" (masked)}], "wallets": [{"number",
   "url", "status", "status_label", "lock_reason", "lock_reason_label", "balance",
   "currency", "recent_failed": [...]}], "earlier_tickets": [{"reference", "subject",
   "url"}]}}                                      a chat this agent now holds (accept,
                                                 auto-assign, transfer in, reconnect);
                                                 "macros": its queue's and the general
                                                 ones, filled in for its customer in
                                                 their language (tickets.macros)
  {"type": "ack", "conversation", "client_id", "id"}
  {"type": "message", "conversation", "id", "author": "customer"|"agent"|"system"|"note",
   "name", "text", "sent_at", "attachments": [...]}
  {"type": "typing", "conversation", "author": "customer"}
  {"type": "status", "conversation", "state": "closed"|"transferred"|"left", ...}
  {"type": "new_chat", "conversation", "reference"}   for the sound / title badge
  {"type": "presence", "agent": {"id", "name", "presence"}}   an agent's presence changed
                                                 (set in a console, or their last console
                                                 closed); "hello" has everyone's at connect
  {"type": "error", "code": "...", "detail": "...", "conversation"?: id, "client_id"?}
                                                 codes include not_yours (write only in a
                                                 chat you hold), invalid, forbidden

Limits (both sockets): a text frame over 16 KB closes with 1009; more than 5 frames a second
(bursts of 20) gets {"type": "error", "code": "rate_limited"} and then close 4429. The same
answer comes when the socket's session, or the chat the frame is about, has sent more than
its share (100 frames in 10 seconds by default, counted for all its sockets together).
"""

import json

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CLOSE_FORBIDDEN = 4403  # a socket that may not join (no conversation, not a verified agent)
CLOSE_SIGNED_OUT = 4401  # an agent whose session no longer signs them in (chat.access)
CLOSE_TOO_BIG = 1009  # RFC 6455 "message too big"; mywallet_support.daphne lets daphne send it
CLOSE_RATE_LIMITED = 4429
MAX_CLIENT_ID = 100  # characters of a "client_id" (also cut to this by POST /chat/upload/)
MAX_ID = 2**63 - 1  # the largest id the databases keep

ERRORS = {
    "bad_frame": _("That frame is not understood."),
    "empty": _("The message is empty."),
    "too_long": _("The message is too long."),
    "rate_limited": _("Too many messages at once; slow down."),
    "binary": _("Only text frames are understood."),
    "closed": _("This chat has ended; start a new one to write again."),
}


def too_big(text: str, limit: int) -> bool:
    """Whether a text frame is over ``limit`` bytes of UTF-8 (then the socket closes, 1009).

    Measured before any decoding, and encoded only when its length alone cannot tell (a
    character is at most 4 bytes): a huge frame costs nothing more than its length.
    """
    return len(text) > limit or (len(text) * 4 > limit and len(text.encode()) > limit)


def parse_frame(text: str) -> dict | None:
    """A text frame's JSON object, or None when it is not a JSON object with a string
    "type" (answered with the "bad_frame" error, the socket stays open)."""
    try:
        content = json.loads(text)
    except ValueError:
        return None
    if not isinstance(content, dict) or not isinstance(content.get("type"), str):
        return None
    return content


def message_fields(content: dict, *, max_chars: int) -> tuple[str, str]:
    """A "message" or "note" frame's text (stripped) and client_id, or ValidationError."""
    text, client_id = content.get("text"), content.get("client_id")
    if not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_CLIENT_ID:
        raise ValidationError(str(ERRORS["bad_frame"]))
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(str(ERRORS["empty"]))
    if len(text) > max_chars:
        raise ValidationError(str(ERRORS["too_long"]))
    return text.strip(), client_id


def is_id(value) -> bool:
    """Whether a frame's value can be an id: a whole number the database can compare
    (JSON also gives booleans, and numbers too large for SQLite, which raised)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID


def resume_after(value) -> int:
    """A "resume" frame's "after": an id (0 for everything), or ValidationError."""
    if not is_id(value):
        raise ValidationError(str(ERRORS["bad_frame"]))
    return value
