"""The agent's own time zone: the workspace shows every time (history, audit trail,
tickets) in it. ``settings.TIME_ZONE`` until the agent picks another from the user menu's
"Time zone" page; the choice lives in their session (a small preference that ends with the
login), and workspace.middleware activates it for each of their requests."""

from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.conf import settings
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

SESSION_KEY = "workspace_time_zone"


def agent_zone(session) -> ZoneInfo | None:
    """The zone the agent chose, or None for the default (settings.TIME_ZONE)."""
    name = session.get(SESSION_KEY) if session is not None else None
    return ZoneInfo(name) if name in _zones() else None


@cache
def _zones() -> frozenset[str]:
    """The zone names this machine knows: read from disk once (it walks the zone files),
    not on every admin request."""
    return frozenset(available_timezones())


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(label=_("Time zone"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(name, name) for name in sorted(_zones())]


def time_zone_view(request, *, site):
    """GET: the form, on the agent's current zone; POST: keep the choice, then back."""
    current = request.session.get(SESSION_KEY) or settings.TIME_ZONE
    form = TimeZoneForm(request.POST or None, initial={"time_zone": current})
    if request.method == "POST" and form.is_valid():
        request.session[SESSION_KEY] = form.cleaned_data["time_zone"]
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            back = "admin:index"
        return redirect(back)
    context = {
        **site.each_context(request),
        "title": _("Time zone"),
        "form": form,
        "next": request.GET.get("next", ""),
    }
    return TemplateResponse(
        request, "admin/time_zone.html", context, status=400 if form.errors else 200
    )
