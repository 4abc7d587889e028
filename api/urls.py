"""/api/: the REST API. Every path under it answers JSON, errors included."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from . import errors, schema  # noqa: F401 (schema: registers the security schemes)
from .views.articles import ArticleViewSet
from .views.calls import CallsView
from .views.customers import CustomerViewSet
from .views.docs import RedocDocsView, SwaggerDocsView
from .views.me import MeView
from .views.my_tickets import MyTicketViewSet
from .views.tickets import TicketViewSet
from .views.wallet_events import WalletEventsView

app_name = "api"

# tickets
tickets = SimpleRouter(use_regex_path=False)
tickets.register("tickets", TicketViewSet, basename="ticket")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("me/", MeView.as_view(), name="me"),
    # customers, articles, the customer's own tickets
    path("customers/", CustomerViewSet.as_view({"get": "list"}), name="customer-list"),
    path(
        "customers/lookup/",
        CustomerViewSet.as_view({"get": "lookup"}, filter_backends=[], pagination_class=None),
        name="customer-lookup",
    ),
    path(
        "customers/<int:pk>/",
        CustomerViewSet.as_view({"get": "retrieve"}, filter_backends=[]),
        name="customer-detail",
    ),
    path("articles/", ArticleViewSet.as_view({"get": "list"}), name="article-list"),
    path(
        "articles/<slug:slug>/", ArticleViewSet.as_view({"get": "retrieve"}), name="article-detail"
    ),
    path(
        "me/tickets/",
        MyTicketViewSet.as_view({"get": "list", "post": "create"}),
        name="my-ticket-list",
    ),
    path(
        "me/tickets/<int:pk>/",
        MyTicketViewSet.as_view({"get": "retrieve"}),
        name="my-ticket-detail",
    ),
    path(
        "me/tickets/<int:pk>/messages/",
        MyTicketViewSet.as_view({"post": "messages"}),
        name="my-ticket-messages",
    ),
    # tickets: the desk's side (keys and agents), api.views.tickets
    *tickets.urls,
    # calls and wallet events (server to server: keys, the telephony token, the signature)
    path("calls/", CallsView.as_view(), name="telephony-calls"),
    path("wallet-events/", WalletEventsView.as_view(), name="wallet-events"),
    # docs
    path("docs/", SwaggerDocsView.as_view(), name="docs"),
    path("redoc/", RedocDocsView.as_view(), name="redoc"),
    # Last: whatever else is asked under /api/ is a JSON 404.
    re_path(r"^.*$", errors.not_found),
]
