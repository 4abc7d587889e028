"""/callback/: when the hotline is busy, a customer leaves their number and a preferred time
and the hotline calls them back (a Callback in the admin's queue).

No login: the number is a claim (the agent who calls verifies whoever answers), so the
page says nothing about whether the number is known. CSRF-protected like every form; a
body larger than the form is refused before it is read; each client address may ask
TELEPHONY_CALLBACK_REQUESTS_PER_HOUR times an hour (then 429), so the page cannot be used
to flood the queue or someone's phone.
"""

import logging

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.identities import normalise_phone
from mywallet_support.http import client_address, declared_too_large

from .calls import request_callback as file_request

logger = logging.getLogger(__name__)

# Two short fields and a token: anything much larger is not ours.
MAX_BYTES = 4 * 1024
WINDOW = 3600


class CallbackForm(forms.Form):
    phone = forms.CharField(
        label=_("Your phone number"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    preferred_at = forms.DateTimeField(
        label=_("When should we call? (optional)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Leave empty and we call you as soon as an agent is free."),
    )

    def clean_phone(self):
        return normalise_phone(self.cleaned_data["phone"])


def throttle_key(address: str | None) -> str:
    return f"phone:callback:{address or 'unknown'}"


def _spend(address: str | None) -> bool:
    """Count one request for the address; False once its hourly allowance is spent."""
    key = throttle_key(address)
    if cache.add(key, 1, timeout=WINDOW):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout=WINDOW)
        return True
    return count <= settings.TELEPHONY_CALLBACK_REQUESTS_PER_HOUR


@never_cache
@require_http_methods(["GET", "POST"])
def request_callback(request):
    if declared_too_large(request, MAX_BYTES):
        return render(request, "phone/callback.html", {"state": "too_large"}, status=413)
    if request.method == "GET":
        return render(request, "phone/callback.html", {"form": CallbackForm(), "state": "ask"})
    if not _spend(client_address(request)):
        return render(request, "phone/callback.html", {"state": "throttled"}, status=429)
    form = CallbackForm(request.POST)
    if form.is_valid():
        try:
            file_request(form.cleaned_data["phone"], form.cleaned_data["preferred_at"])
        except ValidationError as error:
            form.add_error("preferred_at", error)
        else:
            return render(request, "phone/callback.html", {"state": "done"})
    return render(request, "phone/callback.html", {"form": form, "state": "ask"}, status=400)
