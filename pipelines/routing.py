"""Websocket routes, mounted under /ws/ by instill_site.asgi."""

from django.urls import path, re_path

from pipelines.consumers import NoSuchPathConsumer, RunEventsConsumer

websocket_urlpatterns = [
    # Any run id reaches the consumer, which closes 4404 for one that is not a run: a
    # path that matches no route is an exception in Channels, a 500 to the client.
    path("ws/runs/<str:run_uid>/", RunEventsConsumer.as_asgi()),
    re_path(r"^", NoSuchPathConsumer.as_asgi()),
]
