"""The chat's JSON endpoints (chat/protocol.py): help articles suggested before a chat
starts, start, upload, leave a message, and the attachments of a conversation. Thin: input
is checked here, the work is chat.actions' (and the knowledge base's, tickets.knowledge)."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import app_identity
from accounts.permissions import VIEW_TICKETS, is_agent
from tickets.actions import NOT_STORED
from tickets.knowledge import SUGGEST_TEXT_CHARS, is_chinese, suggest_articles
from tickets.models import Attachment, Queue

from . import actions, selectors
from .consumers import MAX_CLIENT_ID, SESSION_KEY
from .throttle import http_allowed

# Images we accept and show back, known by their first bytes, not by what the client says.
IMAGE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


def _error(message, *, status: int = 400, field: str = "") -> JsonResponse:
    if isinstance(message, ValidationError):
        message = " ".join(str(m) for m in message.messages)
    return JsonResponse({"error": str(message), "field": field}, status=status)


def _too_many() -> JsonResponse:
    return _error(_("Too many requests; try again in a minute."), status=429)


def _queue(request) -> Queue | None:
    slug = request.POST.get("queue", "").strip()
    if not slug:
        return None
    queue = Queue.objects.filter(slug=slug).first()
    if queue is None:
        raise ValidationError(_("Unknown queue."))
    return queue


def _conversation_json(conversation) -> dict:
    return {
        "conversation": conversation.pk,
        "reference": conversation.ticket.reference,
        "state": conversation.state,
        "agents_online": selectors.agents_online(conversation.queue),
        "verified_by_app": conversation.verified_by_app,
    }


@require_GET
def suggestions(request):
    """Up to three help articles for the customer's question (``q``), before they are
    queued: titles in the page's language, links to /help/<slug>/."""
    if not http_allowed(request, "suggestions"):
        return _too_many()
    text = request.GET.get("q", "")[:SUGGEST_TEXT_CHARS]
    found = suggest_articles(text, chinese=is_chinese(get_language()))
    articles = [
        {
            "slug": article.slug,
            "title": article.title,
            "url": reverse("help_article", args=[article.slug]),
        }
        for article in found
    ]
    return JsonResponse({"articles": articles})


@require_POST
def start(request):
    """Open the session's conversation, or give back the one it already has."""
    current = actions.session_conversation(request.session.get(SESSION_KEY))
    if current is not None:
        return JsonResponse(_conversation_json(current))
    if not http_allowed(request, "start"):
        return _too_many()
    if not request.session.session_key:
        request.session.save()
    user = request.user if request.user.is_authenticated else None
    token = request.POST.get("app_token", "")
    try:
        # The app's token proves who the customer is, once (its id is spent here); a
        # refused one is told, and the customer may go on as a guest.
        app = app_identity.verify(token, audience=app_identity.AUDIENCE_CHAT) if token else None
    except app_identity.AppTokenRefused as refused:
        return _error(str(refused), status=403, field="app_token")
    try:
        conversation = actions.start_conversation(
            session_key=request.session.session_key,
            user=user,
            name=request.POST.get("name", ""),
            contact=request.POST.get("contact", ""),
            queue=_queue(request),
            app=app,
            language=get_language(),
        )
    except ValidationError as exc:
        return _error(exc, field="contact")
    request.session[SESSION_KEY] = conversation.pk
    return JsonResponse(_conversation_json(conversation))


@require_POST
def upload(request):
    """An image into the session's own conversation; answers like an "ack" frame."""
    conversation = actions.session_conversation(request.session.get(SESSION_KEY))
    if conversation is None:
        return _error(_("Start a chat first."), status=403)
    if not http_allowed(request, "upload"):
        return _too_many()
    image = request.FILES.get("image")
    if image is None:
        return _error(_("Choose an image."), field="image")
    if image.size > settings.CHAT_MAX_UPLOAD_BYTES:
        return _error(
            _("The image is larger than %(size)s MB.")
            % {"size": settings.CHAT_MAX_UPLOAD_BYTES // (1024 * 1024)},
            status=413,
            field="image",
        )
    content = image.read()
    content_type = next(
        (kind for magic, kind in IMAGE_SIGNATURES.items() if content.startswith(magic)), None
    )
    if content_type is None:
        return _error(_("Only PNG, JPEG and GIF images can be sent."), field="image")
    # Without a client_id, each upload is its own (two screenshots are both "image.png").
    client_id = request.POST.get("client_id", "")[:MAX_CLIENT_ID] or f"upload-{uuid.uuid4().hex}"
    try:
        received = actions.post_customer_upload(
            conversation,
            client_id=client_id,
            name=(image.name or "image")[:200],
            content_type=content_type,
            content=content,
        )
    except ValidationError as exc:
        return _error(exc, status=409)
    if received.message.metadata.get(NOT_STORED):
        # Our disk was full: the message is kept (the agent sees what was not stored); the
        # customer is told the image did not arrive, and may send it again later.
        return _error(
            _("The image could not be received (our storage is full). Please try again later."),
            status=507,
            field="image",
        )
    return JsonResponse({"type": "ack", "client_id": client_id, "id": received.message.pk})


@require_POST
def leave_message(request):
    """The offline form: on the session's live chat (which found nobody online), else on a
    new ticket; answered later by email or on the next visit."""
    if not http_allowed(request, "leave"):
        return _too_many()
    try:
        queue = _queue(request)
        received = actions.leave_message(
            contact=request.POST.get("contact", ""),
            name=request.POST.get("name", ""),
            text=request.POST.get("text", ""),
            queue=queue,
            conversation=actions.session_conversation(request.session.get(SESSION_KEY)),
        )
    except ValidationError as exc:
        field = "text" if not request.POST.get("text", "").strip() else "contact"
        return _error(exc, field=field)
    return JsonResponse(
        {
            "reference": received.ticket.reference,
            "detail": _("Thank you. We will answer you as soon as we can."),
        }
    )


@require_GET
def attachment(request, pk: int):
    """An attachment of the session's own conversation, or for a verified agent."""
    item = get_object_or_404(Attachment.objects.select_related("message"), pk=pk)
    user = request.user
    # is_verified: the session passed two factors (django_otp's middleware sets it).
    agent = is_agent(user) and user.has_perm(VIEW_TICKETS) and user.is_verified()
    own = (
        request.session.get(SESSION_KEY)
        and actions.Conversation.objects.filter(
            pk=request.session.get(SESSION_KEY), ticket_id=item.message.ticket_id
        ).exists()
    )
    if not (agent or own) or item.message.direction == "note":
        raise Http404
    response = FileResponse(item.file.open("rb"), content_type=item.content_type)
    response["Content-Disposition"] = (
        "inline" if item.content_type.startswith("image/") else ("attachment")
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
