"""Django's ASGI handler without a new thread per request."""

from __future__ import annotations

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
