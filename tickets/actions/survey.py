"""The satisfaction survey of email tickets: the "solved" notice with its link, sent when
an email ticket becomes solved (from `lifecycle.change_status`); the rating the link's page
records is `lifecycle.rate_by_link`.
"""

import logging

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from mywallet_support.mail import customer_language

from .. import survey
from ..models import Channel, Ticket
from .thread import post_notice

logger = logging.getLogger(__name__)

# The Message.metadata key that marks the solved notice. Not "kind": the email sender
# leaves "kind" to the channel's own notices, which send themselves.
SURVEY_NOTICE = "survey"


def ask_for_rating(ticket: Ticket) -> None:
    """An email ticket was solved: tell the customer, with the survey's link, in their
    language. Other channels ask their own way (the chat's rating when it ends)."""
    if ticket.channel != Channel.EMAIL:
        return
    link = survey.link_for(ticket)
    if not link:
        logger.warning("no survey link for %s: CUSTOMER_SITE_URL is not set", ticket.reference)
        return
    with translation.override(customer_language(ticket.customer.language)):
        text = _(
            "We have marked your request %(reference)s as solved. If anything is still "
            "not right, just reply to this email and it opens again.\n\n"
            "How did we do? Rate our help (1 to 5) here:\n%(link)s\n\n"
            "The link works for %(days)s days."
        ) % {"reference": ticket.reference, "link": link, "days": settings.SURVEY_LINK_DAYS}
    post_notice(ticket, text=text, metadata={SURVEY_NOTICE: True})
