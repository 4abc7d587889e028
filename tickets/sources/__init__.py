"""The channels' registry: one package per channel (here, and the live chat in chat/), each
with its transport, pure parsing and outbound sending, found by the spine through these
two tables and never imported by it (tickets.actions sits below the channels).

``SENDERS`` maps a channel to the dotted path of its sender: a function that takes a stored
outbound Message and delivers it. It returns None once delivered; ``AWAY`` when the customer
is not on the channel now but may come back (delivery sends it by email if it can, else it
waits for them); ``GONE`` when the channel cannot reach them at all (by email if it can,
else it fails with that reason); it raises `DeliveryError` when delivery failed
(``permanent`` ones are not retried). A channel with no entry cannot be answered through
itself (the hotline: the agent calls back) and its replies are marked failed with that
reason.

``PROCESSORS`` maps a channel to the function that parses and files one stored
InboundMessage (to reprocess a quarantined payload after a fix).

``WINDOWS`` maps a channel to the dotted path of ``window_closes_at(ticket)``: when the
channel stops taking answers on that ticket (WeChat's and Weibo's reply windows after the
customer's last message), or None when no window applies. A channel without an entry has
no window. The reply form offers the customer's other channels once it has closed.
"""

from django.utils.module_loading import import_string

from mywallet_support.mail import DeliveryError

__all__ = ["AWAY", "GONE", "DeliveryError", "processor_for", "sender_for", "window_for"]

AWAY = "away"
GONE = "gone"

SENDERS: dict[str, str] = {
    "chat": "chat.delivery.send",
    "email": "tickets.sources.email.outbound.send",
    "wechat": "tickets.sources.wechat.outbound.send",
    "weibo": "tickets.sources.weibo.outbound.send",
}

PROCESSORS: dict[str, str] = {
    "email": "tickets.sources.email.intake.process",
    "phone": "tickets.sources.phone.intake.process",
    "wechat": "tickets.sources.wechat.intake.process",
    "weibo": "tickets.sources.weibo.intake.process",
}

WINDOWS: dict[str, str] = {
    "wechat": "tickets.sources.wechat.outbound.window_closes_at",
    "weibo": "tickets.sources.weibo.outbound.window_closes_at",
}


def processor_for(channel: str):
    path = PROCESSORS.get(channel)
    return import_string(path) if path else None


def window_for(channel: str):
    """The channel's ``window_closes_at(ticket) -> datetime | None`` (None: no window), or
    None for a channel that takes answers at any time."""
    path = WINDOWS.get(channel)
    return import_string(path) if path else None


def sender_for(channel: str):
    path = SENDERS.get(channel)
    return import_string(path) if path else None
