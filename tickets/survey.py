"""The satisfaction survey's link: /feedback/<token>/, sent with an email ticket's "solved"
notice (tickets.actions.survey).

The token is signed (django.core.signing, with its own salt), names the ticket and its
customer, and is good for SURVEY_LINK_DAYS. It is the only proof the page asks for: it
reached the address the ticket's answers go to. A tampered token, an expired one, or one
whose ticket no longer belongs to the customer it names (a merge) opens nothing; each
refusal says why, and none reads more than the one ticket.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .models import Ticket

SALT = "tickets.survey"


class LinkRefused(Exception):
    """The link opens no survey: ``reason`` is "expired" or "invalid"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def token_for(ticket: Ticket) -> str:
    return signing.dumps({"t": ticket.pk, "c": ticket.customer_id}, salt=SALT)


def link_for(ticket: Ticket) -> str:
    """The survey's absolute link, or "" without CUSTOMER_SITE_URL."""
    if not settings.CUSTOMER_SITE_URL:
        return ""
    path = reverse("feedback", args=[token_for(ticket)])
    return settings.CUSTOMER_SITE_URL.rstrip("/") + path


def ticket_for(token: str) -> Ticket:
    """The ticket ``token`` was signed for, or LinkRefused. One query."""
    try:
        data = signing.loads(token, salt=SALT, max_age=timedelta(days=settings.SURVEY_LINK_DAYS))
    except signing.SignatureExpired:
        raise LinkRefused("expired") from None
    except signing.BadSignature:
        raise LinkRefused("invalid") from None
    if not isinstance(data, dict):
        raise LinkRefused("invalid")
    ticket = Ticket.objects.filter(pk=data.get("t"), customer_id=data.get("c")).first()
    if ticket is None:
        raise LinkRefused("invalid")
    return ticket


def rated_since_solved(ticket: Ticket) -> bool:
    """Whether the customer already rated the ticket since it was last solved: the link
    takes one rating per solution (a ticket reopened and solved again asks again)."""
    rated = ticket.satisfaction_rated_at
    return rated is not None and (ticket.solved_at is None or rated >= ticket.solved_at)
