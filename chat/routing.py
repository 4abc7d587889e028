"""Websocket routes (asgi.py wraps them in origin checks and the session/auth middleware)."""

from django.conf import settings
from django.urls import path

from . import consumers
from .relay import RelayConsumer


def patterns(*, bench_relay: bool) -> list:
    """The chat sockets, plus the benchmark's bare relay only when asked (CHAT_BENCH_RELAY)."""
    routes = [
        path("ws/chat/", consumers.CustomerConsumer.as_asgi()),
        path("ws/agent/", consumers.AgentConsumer.as_asgi()),
    ]
    if bench_relay:
        routes.append(path("ws/bench-relay/<int:room>/<str:side>/", RelayConsumer.as_asgi()))
    return routes


websocket_urlpatterns = patterns(bench_relay=settings.CHAT_BENCH_RELAY)
