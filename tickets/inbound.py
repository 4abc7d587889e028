"""The channel-neutral value every channel's parser produces and `receive` consumes."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class InboundAttachment:
    name: str
    content_type: str
    content: bytes
    content_id: str = ""


@dataclass(slots=True)
class Inbound:
    """One message from a customer, already checked and turned into plain values.

    ``sender_kind``/``sender`` name the customer identity (kind as in
    CustomerIdentity.Kind; the value is normalised by `receive`).
    ``thread_ids`` are external ids of earlier messages this one continues
    (email In-Reply-To and References); ``ticket_reference`` is a reference such as
    MW-000123 found in the subject. Conversational channels (chat, WeChat, Weibo,
    phone) set ``continue_open`` so a message joins the customer's open ticket there.
    ``ticket_id`` names the ticket a channel already knows the message belongs to (a live
    chat's own ticket): it goes there, or is refused when that ticket is closed or is not
    the sender's.
    ``authenticated``: the channel proved the sender owns ``sender`` (for email, a trusted
    server's DMARC, or SPF and DKIM, pass); otherwise the sender is only a claim.
    ``automatic``: sent by a machine (an out-of-office reply, a list): it never opens or
    reopens a ticket, and is kept quietly on the ticket it answers, or refused.
    """

    channel: str
    sender_kind: str
    sender: str
    text: str
    sender_name: str = ""
    subject: str = ""
    html: str = ""
    external_id: str = ""
    thread_ids: tuple[str, ...] = ()
    ticket_reference: str = ""
    continue_open: bool = False
    ticket_id: int | None = None
    category: str = ""
    queue: str = ""
    language: str = ""
    cc: tuple[str, ...] = ()  # other people copied in: proposed on the ticket for replies
    authenticated: bool = False
    automatic: bool = False
    attachments: tuple[InboundAttachment, ...] = ()
    metadata: dict = field(default_factory=dict)
    raw_id: int | None = None
