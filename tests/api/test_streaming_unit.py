"""The SSE generator: heartbeats while idle, events in order, errors after the events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from pipelines.api.streaming import _events
from pipelines.engine import PipelineStatusUpdated
from pipelines.errors import DeadlineExceeded
from pipelines.services.run_events import failure_events


async def collect(gen):
    return [chunk async for chunk in gen]


async def test_heartbeat_while_idle_then_events(settings):
    settings.PIPELINE_SSE_HEARTBEAT_SECONDS = 0.05
    queue: asyncio.Queue = asyncio.Queue()

    async def run():
        await asyncio.sleep(0.3)
        queue.put_nowait(PipelineStatusUpdated(batch_index=0, seq=1, update_time=datetime.now(UTC)))

    chunks = await collect(_events(asyncio.ensure_future(run()), queue))
    assert chunks.count(b": heartbeat\n\n") >= 3
    assert chunks[-1].startswith(b"id: 1\nevent: PIPELINE_STATUS_UPDATED\ndata: {")


async def test_run_failure_ends_the_stream_after_the_error_events(settings):
    """The service emits a stopped run's error events; the stream sends them and ends."""
    settings.PIPELINE_SSE_HEARTBEAT_SECONDS = 5
    queue: asyncio.Queue = asyncio.Queue()

    async def run():
        queue.put_nowait(PipelineStatusUpdated(batch_index=0, seq=1, update_time=datetime.now(UTC)))
        for event in failure_events(
            message="the run was stopped after the maximum run time of 1 s", rows=1, last_seq=1, now=datetime.now(UTC)
        ):
            queue.put_nowait(event)
        raise DeadlineExceeded("the run was stopped after the maximum run time of 1 s")

    frames = b"".join(await collect(_events(asyncio.ensure_future(run()), queue))).split(b"\n\n")[:-1]
    assert [c.split(b"\n")[:2] for c in frames] == [
        [b"id: 1", b"event: PIPELINE_STATUS_UPDATED"],
        [b"id: 2", b"event: PIPELINE_ERROR_UPDATED"],
        [b"id: 3", b"event: PIPELINE_STATUS_UPDATED"],
    ]
    assert b"maximum run time" in frames[1] and b'"errored":true' in frames[2]
