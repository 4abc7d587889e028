"""One package per channel: transport, pure parsing and outbound sending.

``SENDERS`` maps a channel to the dotted path of its outbound function, which takes a
stored outbound Message and delivers it, raising `DeliveryError` when it cannot.
A channel with no entry cannot be answered through the channel itself (the hotline:
the agent calls back), and its replies are marked failed with that reason.
"""

from django.utils.module_loading import import_string

from mywallet_support.mail import DeliveryError

__all__ = ["DeliveryError", "processor_for", "sender_for"]


SENDERS: dict[str, str] = {
    "chat": "tickets.sources.chat.send",
    "email": "tickets.sources.email.outbound.send",
}


# The function that parses and files a stored InboundMessage of each channel.
PROCESSORS: dict[str, str] = {
    "email": "tickets.sources.email.intake.process",
}


def processor_for(channel: str):
    path = PROCESSORS.get(channel)
    return import_string(path) if path else None


def sender_for(channel: str):
    path = SENDERS.get(channel)
    return import_string(path) if path else None
