"""The demo's satisfaction ratings: the customers of the solved demo tickets answered the
survey (tickets.actions.record_rating, as the survey's page and the chat record them), so
the ticket pages show a rating in their history and the satisfaction report has data.

Each rating is keyed by the external id of a message on its ticket; a ticket rated
already is left as it is (idempotent).
"""

from tickets.actions import record_rating
from tickets.models import Channel, Message, Ticket

# (external id of a message on the ticket, score, comment, the channel it came from)
RATINGS = (
    ("demo-call-0001", 5, "解释得很清楚，谢谢！", Channel.PHONE),
    ("demo-wx-msg-2000001", 4, "建议已记录，希望尽快上线。", Channel.WECHAT),
)


def seed_ratings() -> int:
    """Rate the solved demo tickets not rated yet; how many were rated now."""
    rated = 0
    for external_id, score, comment, channel in RATINGS:
        message = Message.objects.filter(external_id=external_id).select_related("ticket")
        message = message.first()
        if message is None:
            continue
        ticket = message.ticket
        if ticket.status != Ticket.Status.SOLVED or ticket.satisfaction_score is not None:
            continue
        record_rating(ticket, score=score, comment=comment, channel=channel)
        rated += 1
    return rated
