"""Websocket routes. The chat consumers (/ws/chat/, /ws/agent/) arrive with the live-chat work."""

websocket_urlpatterns: list = []
