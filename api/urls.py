"""/api/: the REST API. Every path under it answers JSON, errors included."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from . import errors, schema  # noqa: F401 (schema: registers the security schemes)
from .views.me import MeView
from .views.tickets import TicketViewSet

app_name = "api"

# tickets
tickets = SimpleRouter(use_regex_path=False)
tickets.register("tickets", TicketViewSet, basename="ticket")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("me/", MeView.as_view(), name="me"),
    # tickets: the desk's side (keys and agents), api.views.tickets
    *tickets.urls,
    # Last: whatever else is asked under /api/ is a JSON 404.
    re_path(r"^.*$", errors.not_found),
]
