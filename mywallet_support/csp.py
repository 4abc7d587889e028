"""Widening the Content-Security-Policy for one response.

The policy in ``settings.SECURE_CSP`` is on every response (Django's CSP middleware). A
page that must show something the policy forbids, such as the remote images of the one
email an agent chose to load, sets its own header from here; the middleware leaves a
header a view has set alone. The widening is per response, never a setting, so no other
page (and no other message on the page) gains anything.
"""

from django.conf import settings
from django.middleware.csp import get_nonce
from django.utils.csp import CSP, build_policy


def allow_images(request, response, origins) -> None:
    """Let ``response`` load images from ``origins`` as well as from the policy's own."""
    if not origins or not settings.SECURE_CSP:
        return
    config = dict(settings.SECURE_CSP)
    config["img-src"] = [*config.get("img-src", [CSP.SELF]), *sorted(origins)]
    response.headers[CSP.HEADER_ENFORCE] = build_policy(config, get_nonce(request))


# What a file we serve from a customer gets: it may be shown as an image and nothing else.
SERVED_FILE_POLICY = {"default-src": [CSP.NONE], "sandbox": True}


def lock_down(response) -> None:
    """A customer's file served from our origin runs nothing, loads nothing, and cannot be
    framed, whatever its bytes are."""
    response.headers[CSP.HEADER_ENFORCE] = build_policy(SERVED_FILE_POLICY)
