"""What the admin pages share: telling an agent what became of an action they asked for.

Actions refuse with ValidationError (the request cannot be done) or PermissionDenied (not
by this user); either way the agent reads why on the page they came from.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext

REFUSALS = (ValidationError, PermissionDenied)


def refusal_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(str(m) for m in exc.messages)
    return str(exc) or gettext("You do not have permission to do this.")


def tell(modeladmin, request, run) -> None:
    """Run ``run()`` and tell the agent: the text it returns as a success (nothing when it
    returns none), a refusal as an error."""
    try:
        done = run()
    except REFUSALS as exc:
        modeladmin.message_user(request, refusal_text(exc), messages.ERROR)
    else:
        if done:
            modeladmin.message_user(request, done, messages.SUCCESS)


def run_each(modeladmin, request, queryset, run, done_message: str, *, name=str) -> None:
    """An admin action: ``run(obj)`` for each selected object. A refusal is told per object
    (named by ``name(obj)``) and does not stop the others; the rest are counted in one
    success message (``done_message`` with ``%(count)d``)."""
    done = 0
    for obj in queryset:
        try:
            run(obj)
        except REFUSALS as exc:
            modeladmin.message_user(request, f"{name(obj)}: {refusal_text(exc)}", messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_message % {"count": done}, messages.SUCCESS)
