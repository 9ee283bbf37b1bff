"""Server-sent events: the sync trigger paths (``Accept: text/event-stream``) and
``GET /v1beta/pipeline-runs/{uid}/events`` (replay and follow a run).

A streamed trigger is stored before it starts (its uid is in the ``Pipeline-Run-Uid``
header) and executes in its own task; the response streams the engine's events as
Instill names and shapes them, each with an ``id:`` sequence number, plus a comment
heartbeat while nothing happens. A client that goes away stops the stream, not the
run: the run finishes and is recorded, and ``/pipeline-runs/{uid}/events`` with
``Last-Event-ID`` picks up where the stream broke. Errors before the run starts (auth,
not found, bad input) are ordinary error responses — the caller checks them first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from django.conf import settings
from django.http import StreamingHttpResponse

from pipelines.engine import json_bytes
from pipelines.engine.limits import has_surrogate_escape, loads_stored
from pipelines.realtime import run_follow
from pipelines.services.run_files import MARKER, as_data_uris
from pipelines.services.triggers import RunStream, live_batches

RUN_UID_HEADER = "Pipeline-Run-Uid"


def frame(seq: int, name: str, data: bytes) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (seq, name.encode(), data)


def sse_frame(event) -> bytes:
    return frame(event.seq, event.name, json_bytes(event.payload()))


HEARTBEAT = b": heartbeat\n\n"


def event_stream(body: AsyncIterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def sse_response(stream: RunStream) -> StreamingHttpResponse:
    """A streamed trigger's answer: its run's uid in a header, its events as SSE."""
    response = event_stream(_events(stream.task, stream.queue))
    response[RUN_UID_HEADER] = str(stream.run_uid)
    return response


async def _events(task: asyncio.Task, queue: asyncio.Queue) -> AsyncIterator[bytes]:
    """The run's events as SSE frames, a comment heartbeat while nothing happens. The
    events that came together go out in one write (an ASGI message and a chunk each)."""
    async for batch in live_batches(task, queue, heartbeat=settings.PIPELINE_SSE_HEARTBEAT_SECONDS):
        yield HEARTBEAT if batch is None else b"".join([sse_frame(event) for event in batch])


def follow_run(*, run_uid, after: int) -> StreamingHttpResponse:
    """The stored events of a run after ``after``, then its live ones until it ends."""
    return event_stream(_followed(run_uid, after))


async def _followed(run_uid, after: int) -> AsyncIterator[bytes]:
    idle = settings.PIPELINE_SSE_HEARTBEAT_SECONDS
    data_uris: dict[str, str | None] = {}
    async for item in run_follow(run_uid=run_uid, after=after, idle_seconds=idle):
        if item.kind == "event":
            data = item.payload.encode()
            if MARKER in item.payload or has_surrogate_escape(item.payload):
                # A stored large File: the stream carries the file itself, read (once per
                # file and stream) in a thread, not on the loop every other stream shares.
                # A surrogate escape: a lone one, stored by an older version, is healed.
                data = await asyncio.to_thread(_inline_files, item.payload, run_uid, data_uris)
            yield frame(item.seq, item.name, data)
        elif item.kind == "idle":
            yield HEARTBEAT


def _inline_files(payload: str, run_uid, cache: dict[str, str | None]) -> bytes:
    return json_bytes(as_data_uris(loads_stored(payload), run_uid=run_uid, cache=cache))
