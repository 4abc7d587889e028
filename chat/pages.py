"""The customer chat page: a plain view; the conversation itself runs over /ws/chat/.

The page's script gets its strings and URLs as JSON (json_script), never as HTML, so the
strings are translated here with gettext like every other string of the project.
"""

from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from tickets.models import Queue

CUSTOMER_STRINGS = {
    "connecting": _("Connecting…"),
    "reconnecting": _("Connection lost. Reconnecting…"),
    "connected": _("Connected"),
    "sessionEnded": _("This chat is no longer available. You can start a new one."),
    "waiting": _("Waiting for an agent. You are number %(position)s in the queue."),
    "waitingNoPosition": _("Waiting for an agent…"),
    "offline": _("No agent is online right now. Leave us a message and we will answer you."),
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
}

# Images larger than this are refused on the page before uploading (the server checks too).
MAX_IMAGE_MB = 10


@require_GET
@ensure_csrf_cookie
def chat_page(request):
    queues = list(Queue.objects.values("slug", "name"))
    config = {
        "startUrl": reverse("chat:start"),
        "uploadUrl": reverse("chat:upload"),
        "leaveMessageUrl": reverse("chat:leave_message"),
        "socketPath": "/ws/chat/",
        "maxImageMb": MAX_IMAGE_MB,
        "strings": CUSTOMER_STRINGS,
    }
    return TemplateResponse(request, "chat/page.html", {"queues": queues, "config": config})
