"""/api/: the REST API. Every path under it answers JSON, errors included."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from . import errors, schema  # noqa: F401 (schema: registers the security schemes)
from .views.me import MeView

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("me/", MeView.as_view(), name="me"),
    # Last: whatever else is asked under /api/ is a JSON 404.
    re_path(r"^.*$", errors.not_found),
]
