"""Background work, through Django's task framework (django-tasks-db by default)."""

import logging

from django.tasks import task

from . import actions

logger = logging.getLogger(__name__)


@task(queue_name="default")
def deliver_message(message_id: int) -> str:
    """Send one queued outbound message through its ticket's channel."""
    return actions.deliver(message_id)
