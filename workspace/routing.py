"""The workspace's websocket route (asgi.py wraps it in the origin check and the
session/auth middleware, as the chat's)."""

from django.urls import path

from .consumers import WorkspaceConsumer

websocket_urlpatterns = [path("ws/workspace/", WorkspaceConsumer.as_asgi())]
