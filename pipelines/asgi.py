"""Django's ASGI handler without a new thread per request, and the websocket origin check."""

from __future__ import annotations

from channels.security.websocket import OriginValidator
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler


class PipelineASGIHandler(ASGIHandler):
    """Serves each request without wrapping it in a ``ThreadSensitiveContext``.

    Django's handler gives every request its own one-thread executor for sync code, so
    each request starts and joins a thread (its request signals alone need two hops)
    and sync views open a fresh database connection. Without it, thread-sensitive sync
    code runs on asgiref's one long-lived thread with a persistent connection. The cost:
    sync views of one process run one at a time — they are short database reads and
    writes here; everything that waits (triggers, streams) is async and not affected.
    """

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)


class BrowserOriginValidator(OriginValidator):
    """Websockets from browsers must come from one of ``ALLOWED_HOSTS`` (a page of
    another site must not ride on our session cookie); a client that sends no
    ``Origin`` is not a browser — a script or an SDK, with its own credentials — and is
    let through, where Channels' ``AllowedHostsOriginValidator`` would refuse it."""

    def __init__(self, application):
        allowed = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not allowed:
            allowed = ["localhost", "127.0.0.1", "[::1]"]
        super().__init__(application, allowed)

    def valid_origin(self, parsed_origin) -> bool:
        return parsed_origin is None or super().valid_origin(parsed_origin)
