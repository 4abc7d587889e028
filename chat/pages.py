"""The customer chat page: a plain view; the conversation itself runs over /ws/chat/."""

from django.template.response import TemplateResponse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET


@require_GET
@ensure_csrf_cookie
def chat_page(request):
    return TemplateResponse(request, "chat/page.html", {})
