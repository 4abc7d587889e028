"""Merging tickets from the workspace (tickets.actions.merge_tickets): a "Merge into…" form
on the ticket page (the agent types the target's reference) and the list's bulk action
"Merge selected tickets", which merges them all into the oldest. The action checks the
rules (same customer, neither closed, the agent's permission); a refusal is told."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from tickets import actions
from tickets.models import Ticket

from .common import run_each, tell

MAX_REFERENCE_CHARS = 20


class TicketMergeMixin:
    """For TicketAdmin: the merge form's URL and the bulk action."""

    def get_urls(self):
        return [
            path(
                "<path:object_id>/merge/",
                self.admin_site.admin_view(require_POST(self.merge_view)),
                name="tickets_ticket_merge",
            ),
            *super().get_urls(),
        ]

    def merge_view(self, request, object_id):
        source = self.get_object(request, unquote(object_id))
        if source is None:
            raise Http404
        reference = request.POST.get("target", "")[:MAX_REFERENCE_CHARS].strip()
        target = Ticket.objects.filter(reference__iexact=reference).first() if reference else None
        if target is None:
            self.message_user(
                request,
                gettext("No ticket has the reference “%(reference)s”.") % {"reference": reference},
                messages.ERROR,
            )
            return self._merge_back(source)
        if not (
            self.has_change_permission(request, source)
            and self.has_change_permission(request, target)
        ):
            raise PermissionDenied

        def merge():
            actions.merge_tickets(source, target, request.user)
            return _merged_text(source, target)

        tell(self, request, merge)
        merged = Ticket.objects.get(pk=source.pk).status == Ticket.Status.CLOSED
        return self._merge_back(target if merged else source)

    @admin.action(description=_("Merge selected tickets (into the oldest)"), permissions=["change"])
    def merge_selected(self, request, queryset):
        tickets = list(queryset.order_by("created_at", "pk"))
        if len(tickets) < 2:
            self.message_user(request, gettext("Select at least two tickets."), messages.ERROR)
            return
        target, sources = tickets[0], tickets[1:]
        run_each(
            self,
            request,
            sources,
            lambda source: actions.merge_tickets(source, target, request.user),
            # %(count)d is run_each's, filled in once it has counted.
            gettext("%%(count)d ticket(s) merged into %(target)s.") % {"target": target.reference},
            name=lambda ticket: ticket.reference,
        )

    def _merge_back(self, ticket):
        return HttpResponseRedirect(reverse("admin:tickets_ticket_change", args=[ticket.pk]))


def _merged_text(source: Ticket, target: Ticket) -> str:
    return gettext("%(source)s merged into %(target)s.") % {
        "source": source.reference,
        "target": target.reference,
    }
