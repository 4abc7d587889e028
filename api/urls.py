"""/api/: the REST API. Every path under it answers JSON, errors included."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from . import errors, schema  # noqa: F401 (schema: registers the security schemes)
from .views.calls import CallsView
from .views.docs import RedocDocsView, SwaggerDocsView
from .views.me import MeView
from .views.wallet_events import WalletEventsView

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("me/", MeView.as_view(), name="me"),
    # calls and wallet events (server to server: keys, the telephony token, the signature)
    path("calls/", CallsView.as_view(), name="telephony-calls"),
    path("wallet-events/", WalletEventsView.as_view(), name="wallet-events"),
    # docs
    path("docs/", SwaggerDocsView.as_view(), name="docs"),
    path("redoc/", RedocDocsView.as_view(), name="redoc"),
    # Last: whatever else is asked under /api/ is a JSON 404.
    re_path(r"^.*$", errors.not_found),
]
