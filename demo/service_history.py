"""Demo data for the ticket page's history: ratings shown as stars, and a duplicate email
merged into the ticket it repeats (tickets.actions.merge_tickets), so the history reads
"agent merged MW-… into this ticket". Idempotent: a ticket already rated, or a duplicate
already received, is left as it is."""

from tickets.actions import merge_tickets, receive, record_rating
from tickets.inbound import Inbound
from tickets.models import Channel, Message

# (the external id of the ticket's first message, score, comment)
RATINGS = (
    ("demo-call-0001", 5, "客服很耐心，很快就查清楚了 / patient and quick help"),
    ("demo-wx-msg-2000001", 4, "quick help"),
)
REPEATED = "<demo-liwei-0001@mail.example.com>"
DUPLICATE = "<demo-liwei-dup-0001@mail.example.com>"


def seed_service_history(*, agent, result) -> None:
    for external_id, score, comment in RATINGS:
        _rate(external_id, score, comment, result)
    _merge_duplicate(agent, result)


def _rate(external_id: str, score: int, comment: str, result) -> None:
    message = Message.objects.select_related("ticket").filter(external_id=external_id).first()
    if message is None or message.ticket.satisfaction_score is not None:
        return
    record_rating(message.ticket, score=score, comment=comment, channel=message.channel)
    result.created["ratings"] += 1


def _merge_duplicate(agent, result) -> None:
    first = Message.objects.select_related("ticket", "sender").filter(external_id=REPEATED).first()
    if first is None or Message.objects.filter(external_id=DUPLICATE).exists():
        return
    duplicate = receive(
        Inbound(
            channel=Channel.EMAIL,
            sender_kind="email",
            sender=first.sender.value,
            sender_name="李伟",
            subject="还是付不了款 / Payment still failing",
            text="又试了一次，还是失败。请尽快处理。\nTried again, it still fails. Please help.",
            external_id=DUPLICATE,
        )
    ).ticket
    merge_tickets(duplicate, first.ticket, agent)
    result.created["merged tickets"] += 1
