"""Websocket routes, mounted under /ws/ by instill_site.asgi."""

websocket_urlpatterns: list = []
