"""Supervisors' pages for service levels and routing: SLA policies (the due times of new
tickets, and whether a breach reassigns) and routing rules (which queue a new ticket goes
to), with a "test a text" preview that says which rule would route a message.

Only supervisors (and administrators) see and change them (accounts.roles).
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from tickets.actions.routing import Router
from tickets.models import Channel, RoutingRule, SLAPolicy, Ticket


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "priority",
        "category",
        "first_response_minutes",
        "resolution_minutes",
        "reassign_on_breach",
        "active",
    ]
    list_filter = ["active", "priority", "category"]
    list_editable = ["first_response_minutes", "resolution_minutes", "active"]


class PreviewForm(forms.Form):
    """A message as a channel would bring it, to see which rule routes it."""

    channel = forms.ChoiceField(label=capfirst(_("channel")), choices=Channel.choices)
    support_address = forms.EmailField(label=capfirst(_("support address")), required=False)
    category = forms.ChoiceField(
        label=capfirst(_("category")), choices=Ticket.Category.choices, initial="other"
    )
    text = forms.CharField(
        label=capfirst(_("text")), max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["order", "name", "queue", "channel", "support_address", "category", "active"]
    list_display_links = ["name"]
    list_editable = ["order", "active"]
    list_filter = ["active", "queue", "channel"]
    search_fields = ["name", "keywords"]
    change_list_template = "admin/tickets/routingrule/change_list.html"

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("preview/", preview, name="tickets_routingrule_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request):
        """Which rule would route this text (nothing is saved)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = PreviewForm(request.POST or None)
        tried, routing = False, None
        if request.method == "POST" and form.is_valid():
            tried = True
            address = form.cleaned_data["support_address"]
            routing = Router.load().route(
                channel=form.cleaned_data["channel"],
                text=form.cleaned_data["text"],
                to=[address] if address else [],
                category=form.cleaned_data["category"],
                priority=Ticket.Priority.NORMAL,
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Test a text against the routing rules"),
            "form": form,
            "tried": tried,
            "routing": routing,
            "category": Ticket.Category(routing.category).label if routing else "",
            "priority": Ticket.Priority(routing.priority).label if routing else "",
        }
        return TemplateResponse(request, "admin/tickets/routingrule/preview.html", context)
