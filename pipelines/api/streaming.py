"""Server-sent events for the sync trigger paths (``Accept: text/event-stream``).

The run executes in its own task and the response streams the engine's events as
Instill names and shapes them, each with an ``id:`` sequence number, plus a comment
heartbeat while nothing happens. A client that goes away stops the stream, not the
run: the run finishes and is recorded. Errors before the run starts (auth, not found,
bad input) are ordinary error responses — the caller checks them before streaming.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
from django.conf import settings
from django.http import StreamingHttpResponse
from django.utils import timezone

from pipelines.aio import detached
from pipelines.engine import PipelineErrorUpdated, PipelineStatusUpdated
from pipelines.errors import ServiceError
from pipelines.services import runs as run_services

def wants_stream(request) -> bool:
    accept = request.META.get("HTTP_ACCEPT", "")
    return "text/event-stream" in accept or request.META.get("HTTP_INSTILL_USE_SSE", "").lower() == "true"


def sse_frame(event) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.seq, event.name.encode(), orjson.dumps(event.payload()))


def stream_trigger(*, target, rows, requester, source: str) -> StreamingHttpResponse:
    """Start the run now and answer with its event stream."""
    queue: asyncio.Queue = asyncio.Queue()
    task = detached(
        run_services.run_trigger(target=target, rows=rows, requester=requester, source=source, on_event=queue.put_nowait)
    )
    response = StreamingHttpResponse(_events(task, queue, len(rows)), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def _events(task: asyncio.Task, queue: asyncio.Queue, row_count: int) -> AsyncIterator[bytes]:
    heartbeat = settings.PIPELINE_SSE_HEARTBEAT_SECONDS
    last_seq = 0
    getter: asyncio.Task | None = None
    try:
        while not (task.done() and queue.empty()):
            if getter is None:
                getter = asyncio.ensure_future(queue.get())
            # Wake for the next event or for the end of the run, whichever comes first.
            done, _ = await asyncio.wait({getter, task}, timeout=heartbeat, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                event, getter = getter.result(), None
                last_seq = max(last_seq, event.seq)
                yield sse_frame(event)
            elif not done:
                yield b": heartbeat\n\n"
    finally:
        if getter is not None:
            getter.cancel()
    error = task.exception()
    if error is not None:
        # The run ended outside its components (time limit, internal error): say so per row.
        message = error.message if isinstance(error, ServiceError) else "internal error"
        for row in range(row_count):
            last_seq += 1
            now = timezone.now()
            yield sse_frame(PipelineErrorUpdated(batch_index=row, seq=last_seq, update_time=now, message=message))
            last_seq += 1
            yield sse_frame(
                PipelineStatusUpdated(batch_index=row, seq=last_seq, update_time=now, errored=True, completed=True)
            )
