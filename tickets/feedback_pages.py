"""The satisfaction survey's page, /feedback/<token>/ (the link in an email ticket's
"solved" notice, tickets.survey): the customer rates our help from 1 to 5 and may add a
comment. No login: the signed link is the proof, and it opens only its own ticket.

Every refusal is a page in the customer's language with a 4xx: a tampered or unknown link
404, an expired one 410, a second rating of the same solution 409 (the first stands), a
body over the limit 413. CSRF applies to the POST as everywhere.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from mywallet_support.http import declared_too_large

from . import survey
from .actions import rate_by_link

FEEDBACK_MAX_BYTES = 8 * 1024
TEMPLATE = "tickets/feedback.html"


class FeedbackForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("How satisfied are you with our help?"),
        choices=[
            (5, _("5 - Very satisfied")),
            (4, _("4 - Satisfied")),
            (3, _("3 - Neither")),
            (2, _("2 - Dissatisfied")),
            (1, _("1 - Very dissatisfied")),
        ],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a rating from 1 to 5.")},
    )
    comment = forms.CharField(
        label=_("Anything you would like to tell us? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


@never_cache
@require_http_methods(["GET", "POST"])
def feedback(request, token: str):
    if declared_too_large(request, FEEDBACK_MAX_BYTES):
        return render(request, TEMPLATE, {"state": "too_large"}, status=413)
    try:
        ticket = survey.ticket_for(token)
    except survey.LinkRefused as refused:
        status = 410 if refused.reason == "expired" else 404
        return render(request, TEMPLATE, {"state": refused.reason}, status=status)
    if survey.rated_since_solved(ticket):
        return render(request, TEMPLATE, {"state": "rated", "ticket": ticket}, status=409)
    form = FeedbackForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            rate_by_link(
                ticket, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"]
            )
        except ValidationError:
            return render(request, TEMPLATE, {"state": "rated", "ticket": ticket}, status=409)
        return render(request, TEMPLATE, {"state": "thanks", "ticket": ticket})
    status = 400 if form.is_bound else 200
    return render(
        request, TEMPLATE, {"state": "ask", "ticket": ticket, "form": form}, status=status
    )
