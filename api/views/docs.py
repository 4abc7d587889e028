"""/api/docs/ (Swagger UI) and /api/redoc/ (Redoc): the published schema, readable, served
from the installed drf-spectacular-sidecar (no CDN) and public like the schema itself.

Both pages keep the site's Content-Security-Policy: Swagger UI's start-up script is a file
of its own (drf-spectacular's split view), and our templates drop the packages' inline
style and web fonts. Redoc alone cannot run without styles it writes into the page
(styled-components) and a worker it makes from a blob, so its one response allows those
two things; nothing else is widened and no other page gains anything. Redoc's footer
asks for its maker's logo from a CDN: the policy blocks it and Redoc leaves it out."""

from django.conf import settings
from django.middleware.csp import get_nonce
from django.utils.csp import CSP, build_policy
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

SCHEMA = "api:schema"


class SwaggerDocsView(SpectacularSwaggerSplitView):
    url_name = SCHEMA
    template_name = "api/swagger_ui.html"
    throttle_classes = []


class RedocDocsView(SpectacularRedocView):
    url_name = SCHEMA
    template_name = "api/redoc.html"
    throttle_classes = []

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if settings.SECURE_CSP:
            policy = dict(settings.SECURE_CSP)
            policy["style-src"] = [*policy.get("style-src", [CSP.SELF]), CSP.UNSAFE_INLINE]
            policy["worker-src"] = [CSP.SELF, "blob:"]
            response.headers[CSP.HEADER_ENFORCE] = build_policy(policy, get_nonce(request))
        return response
