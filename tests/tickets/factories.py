"""Builders for channel-neutral inbound messages, as a channel's parser would produce them."""

import itertools

from tickets.inbound import Inbound

_ids = itertools.count(1)


def email(sender="li.wei@example.com", *, text="My payment failed", **fields) -> Inbound:
    fields.setdefault("external_id", f"<msg-{next(_ids)}@mail.example.com>")
    fields.setdefault("subject", "Payment failed")
    return Inbound(channel="email", sender_kind="email", sender=sender, text=text, **fields)


def chat(sender="web-session-1", *, text="Hello?", **fields) -> Inbound:
    fields.setdefault("external_id", f"chat-{next(_ids)}")
    return Inbound(
        channel="chat", sender_kind="web", sender=sender, text=text, continue_open=True, **fields
    )


def wechat(sender="oWeChatOpenId123", *, text="支付失败了", **fields) -> Inbound:
    fields.setdefault("external_id", f"{next(_ids)}")
    return Inbound(
        channel="wechat",
        sender_kind="wechat",
        sender=sender,
        text=text,
        continue_open=True,
        **fields,
    )


def phone(sender="13800138000", *, text="Hotline call", **fields) -> Inbound:
    return Inbound(
        channel="phone", sender_kind="phone", sender=sender, text=text, continue_open=True, **fields
    )
