"""ASGI wrapper that bounds request bodies sent without a Content-Length."""

from __future__ import annotations

import json

from django.conf import settings

from pipelines.api.errors import error_body, too_big_message


class BodyLimitASGI:
    """Cut a chunked upload off once it passes ``PIPELINE_MAX_REQUEST_BYTES`` and answer 413.

    Django's ASGI handler spools the whole body before routing; counting here bounds
    that copy under any ASGI server. ``manage.py serve`` also refuses at the HTTP layer
    (its request class), before the server itself stores the body. Requests with a
    Content-Length are judged by :class:`pipelines.api.middleware.RequestLimitMiddleware`.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = settings.PIPELINE_MAX_REQUEST_BYTES
        headers = dict(scope.get("headers") or [])
        if b"content-length" in headers:
            return await self.app(scope, receive, send)
        received = 0
        exceeded = False
        started = False

        async def limited_receive():
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, tracking_send)
        if exceeded and not started:
            body = json.dumps(error_body(8, too_big_message(limit))).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
