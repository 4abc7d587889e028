"""The ticket page's "Reveal" control: one value a customer wrote in a message, shown in
full to the agent who asks, through tickets.actions.reveal (permission, strong verification
or a typed reason, audit).

Each message lists its values masked, each with the control (includes/personal_data.html);
static/tickets/reveal.js posts it here and shows the answer in place of the masked form.
The answer is JSON, never cached and never written into the page's HTML, so the value is
gone when the page is reloaded: the reveal expires with the page.
"""

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.urls import path
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from tickets import actions
from tickets.models import SensitiveValue

from .common import refusal_text


class RevealMixin:
    """For TicketAdmin: the reveal's URL and what the page needs to offer it."""

    def get_urls(self):
        return [
            path(
                "<path:object_id>/reveal/<int:value_id>/",
                self.admin_site.admin_view(require_POST(self.reveal_view)),
                name="tickets_ticket_reveal",
            ),
            *super().get_urls(),
        ]

    def reveal_context(self, request, ticket) -> dict:
        """Whether the page offers the control, and whether it asks for a reason: the same
        rules the action enforces."""
        offered = actions.may_reveal(request.user) and self.has_change_permission(request, ticket)
        return {
            "may_reveal": offered,
            "reveal_needs_reason": offered and actions.reason_needed(ticket, request.user),
        }

    def reveal_view(self, request, object_id, value_id):
        ticket = self.get_object(request, unquote(object_id))
        if ticket is None:
            raise Http404
        if not self.has_change_permission(request, ticket):
            raise PermissionDenied
        value = SensitiveValue.objects.filter(pk=value_id, message__ticket=ticket).first()
        if value is None:  # another ticket's value is not found through this one
            raise Http404
        try:
            shown = actions.reveal(
                value, acting_user=request.user, reason=request.POST.get("reason", "")
            )
        except PermissionDenied as exc:
            return _answer({"error": refusal_text(exc)}, status=403)
        except ValidationError as exc:
            return _answer({"error": refusal_text(exc)}, status=400)
        return _answer({"value": shown})


def _answer(data: dict, *, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status)
    add_never_cache_headers(response)  # the value stays in no cache, the browser's included
    return response
