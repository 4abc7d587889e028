"""The customer chat page: a plain view; the conversation itself runs over /ws/chat/.

The page's script gets its strings and URLs as JSON (json_script), never as HTML, so the
strings are translated here with gettext like every other string of the project.
"""

from django.conf import settings
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from tickets.models import Queue

from .actions import session_conversation
from .consumers import SESSION_KEY

CUSTOMER_STRINGS = {
    "connecting": _("Connecting…"),
    "reconnecting": _("Connection lost. Reconnecting…"),
    "connected": _("Connected"),
    "sessionEnded": _("This chat is no longer available. You can start a new one."),
    "waiting": _("Waiting for an agent. You are number %(position)s in the queue."),
    "waitingNoPosition": _("Waiting for an agent…"),
    "offlineShort": _("No agent online"),
    "agentJoined": _("%(agent)s joined the chat."),
    "agentLeft": _("%(agent)s left the chat."),
    "chattingWith": _("Chatting with %(agent)s"),
    "closed": _("The chat has ended."),
    "agentTyping": _("The agent is typing…"),
    "sending": _("Sending…"),
    "sent": _("Sent"),
    "failed": _("Not sent"),
    "you": _("You"),
    "agent": _("Agent"),
    "system": _("MY Wallet Support"),
    "newMessage": _("New message from %(name)s: %(text)s"),
    "imageSent": _("Image"),
    "uploading": _("Uploading image…"),
    "uploadFailed": _("The image could not be sent."),
    "imageTooLarge": _("The image is too large (at most %(size)s MB)."),
    "startFailed": _("The chat could not be started. Please try again."),
    "leaveFailed": _("Your message could not be sent. Please try again."),
    "leaveSent": _(
        "Thank you. Your message has been received as ticket %(reference)s; "
        "we will answer you as soon as we can."
    ),
    "leaveSentNoRef": _(
        "Thank you. Your message has been received; we will answer you as soon as we can."
    ),
    "contactRequired": _("Enter your phone number or email so that we can answer you."),
    "confirmEnd": _("End this chat?"),
    "ratingThanks": _("Thank you for your feedback."),
    "ratingRequired": _("Choose a rating from 1 to 5."),
    "rateLimited": _("You are sending messages too fast. Please wait a moment."),
    "error": _("Something went wrong: %(detail)s"),
    "reference": _("Reference %(reference)s"),
    "appTokenRefused": _("You can still chat with us as a guest."),
}


@require_GET
@ensure_csrf_cookie
def chat_page(request):
    config = {
        "startUrl": reverse("chat:start"),
        "suggestionsUrl": reverse("chat:suggestions"),
        "uploadUrl": reverse("chat:upload"),
        "leaveMessageUrl": reverse("chat:leave_message"),
        "socketPath": "/ws/chat/",
        "maxImageMb": settings.CHAT_MAX_UPLOAD_BYTES // (1024 * 1024),
        "strings": CUSTOMER_STRINGS,
        # A reload resumes the conversation this session already has.
        "conversation": _live_conversation(request),
    }
    queues = list(Queue.objects.values("slug", "name"))
    return TemplateResponse(request, "chat/page.html", {"queues": queues, "config": config})


def _live_conversation(request) -> dict | None:
    conversation = session_conversation(request.session.get(SESSION_KEY))
    if conversation is None:
        return None
    return {
        "conversation": conversation.pk,
        "reference": conversation.ticket.reference,
        "state": conversation.state,
        "verified_by_app": conversation.verified_by_app,
    }
