"""Websocket routes, mounted under /ws/ by instill_site.asgi."""

from django.urls import path

from pipelines.consumers import RunEventsConsumer

websocket_urlpatterns = [
    path("ws/runs/<uuid:run_uid>/", RunEventsConsumer.as_asgi()),
]
