"""A trigger from options to outcome, shared by every adapter (REST, gRPC, pages).

Adapters translate: their wire format in (headers or gRPC metadata, a body or a
message), this module's answers out. What a trigger means is decided here once: its
options (:func:`trigger_options`), what is checked once caller and target are known
(:func:`trigger_accept`), how a run starts so that a caller hanging up does not stop
it (:func:`trigger_answer`, :func:`trigger_outcome`, :func:`trigger_enqueue`), and the
events of a streamed run (:func:`trigger_stream`), which the SSE response and the gRPC
stream both consume. Authentication is :mod:`pipelines.auth`'s; the target is
:func:`pipelines.services.run_targets.trigger_target`'s.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.files.uploadedfile import UploadedFile

from pipelines import ratelimits
from pipelines.aio import db, detached
from pipelines.auth import rate_subject
from pipelines.engine import File
from pipelines.engine.events import Event
from pipelines.models import PipelineRun
from pipelines.services import operations as operation_services
from pipelines.services.run_execution import TriggerOutcome, run_trigger
from pipelines.services.run_handoff import run_enqueue_on_loop
from pipelines.services.run_inputs import TriggerRow, bind_rows, rows_with_fetched_files
from pipelines.services.run_targets import TriggerTarget

if TYPE_CHECKING:
    from pipelines.models import Requester


def wants_stream(headers: Mapping[str, str]) -> bool:
    """Whether the caller asks for the run's events rather than its outcome
    (``Accept: text/event-stream`` or ``Instill-Use-SSE: true``). ``headers`` maps
    lower-case names to values: Django's ``request.headers`` or gRPC metadata."""
    return "text/event-stream" in headers.get("accept", "") or headers.get("instill-use-sse", "").lower() == "true"


GENERIC_TYPES = {"", "application/octet-stream"}


def file_value(upload: UploadedFile) -> File:
    """An upload (a multipart trigger, the run form) as a trigger value: a File over the
    spooled temp file when Django wrote one, else over its bytes."""
    mime: str | None = (upload.content_type or "").split(";")[0].strip().lower()
    mime = None if mime in GENERIC_TYPES else mime  # sniffed from the bytes instead
    path = upload.temporary_file_path() if hasattr(upload, "temporary_file_path") else None
    if path:
        return File(path=path, mime_type=mime, filename=upload.name)
    upload.seek(0)
    return File(upload.read(), mime_type=mime, filename=upload.name)


@dataclass(frozen=True)
class TriggerOptions:
    """How the caller wants a trigger run and answered, whatever the wire."""

    source: str = PipelineRun.Source.API
    return_traces: bool = False
    idempotency_key: str | None = None
    stream: bool = False


# Our own pages' runs: recorded with source CONSOLE, answered without traces.
CONSOLE_OPTIONS = TriggerOptions(source=PipelineRun.Source.CONSOLE)


def trigger_options(headers: Mapping[str, str]) -> TriggerOptions:
    """The options named by HTTP headers or gRPC metadata (``headers`` answers lower-case
    names): ``Instill-User-Agent``, ``Instill-Return-Traces``, ``Idempotency-Key``
    (:class:`InvalidArgument` when malformed) and the stream request of :func:`wants_stream`."""
    console = headers.get("instill-user-agent", "").upper() == PipelineRun.Source.CONSOLE
    return TriggerOptions(
        source=PipelineRun.Source.CONSOLE if console else PipelineRun.Source.API,
        return_traces=headers.get("instill-return-traces", "").lower() == "true",
        idempotency_key=operation_services.idempotency_key_checked(headers.get("idempotency-key")),
        stream=wants_stream(headers),
    )


@dataclass
class Trigger:
    """An accepted trigger: who runs what, with which rows, how."""

    requester: Requester
    target: TriggerTarget
    rows: list[TriggerRow]
    options: TriggerOptions = field(default_factory=TriggerOptions)

    def run_args(self) -> dict[str, Any]:
        """What every run service takes: what to run, with which rows, for whom, from where."""
        return {"target": self.target, "rows": self.rows, "requester": self.requester, "source": self.options.source}


async def trigger_accept(
    *,
    requester: Requester,
    target: TriggerTarget,
    rows: list[TriggerRow],
    authorization: str,
    headers: Mapping[str, str],
) -> Trigger:
    """The checks of a trigger once its caller and target are known, in the order the
    API answers them: the trigger rate limits (counted against the credentials in
    ``authorization``, else the user), file variables given as URLs fetched, then the
    options of ``headers`` (see :func:`trigger_options`)."""
    await trigger_rate_check(requester=requester, target=target, authorization=authorization)
    rows = await rows_with_fetched_files(target, rows)
    return Trigger(requester=requester, target=target, rows=rows, options=trigger_options(headers))


async def trigger_rate_check(*, requester: Requester, target: TriggerTarget, authorization: str = "") -> None:
    """Count a trigger against the trigger rate limits (per token, else per user; and per
    pipeline, whoever calls), on every door — API and pages alike; 429 over either."""
    if ratelimits.triggers_limited():
        subject = rate_subject(authorization, requester)
        await ratelimits.acall(ratelimits.trigger_check, subject=subject, pipeline_key=str(target.pipeline.pk))


def _shielded[T](work: Awaitable[T]) -> Awaitable[T]:
    """``work`` in a task of its own that a caller hanging up does not cancel: the run
    finishes and is recorded either way."""
    return asyncio.shield(detached(work))


async def trigger_answer(trigger: Trigger) -> dict[str, Any]:
    """Run to completion and answer ``{"outputs", "metadata": {"traces"}}``; a repeat of
    an ``Idempotency-Key`` within its window answers from the recorded run."""
    return await _shielded(
        operation_services.run_trigger_once(
            **trigger.run_args(),
            return_traces=trigger.options.return_traces,
            idempotency_key=trigger.options.idempotency_key,
        )
    )


async def trigger_outcome(trigger: Trigger) -> TriggerOutcome:
    """Run to completion and give the outcome itself (the page renders the result)."""
    return await _shielded(run_trigger(**trigger.run_args(), return_traces=trigger.options.return_traces))


def _enqueue(trigger: Trigger) -> PipelineRun:
    return operation_services.run_enqueue(**trigger.run_args(), idempotency_key=trigger.options.idempotency_key)


_enqueue_in_thread = db(_enqueue)


async def trigger_enqueue(trigger: Trigger) -> PipelineRun:
    """Validate now, store the run QUEUED, run it later (the async trigger)."""
    if trigger.options.idempotency_key is None:
        run = run_enqueue_on_loop(**trigger.run_args(), submit=operation_services.executor().submit)
        if run is not None:
            return run
    return await _enqueue_in_thread(trigger)


@dataclass
class RunStream:
    """A streamed trigger's run: stored (its uid can be followed at once), executing in
    a task of its own. :meth:`events` gives its events as they come."""

    run_uid: uuid.UUID
    task: asyncio.Task
    queue: asyncio.Queue

    def events(self, *, heartbeat: float | None = None) -> AsyncIterator[Event | None]:
        return live_events(self.task, self.queue, heartbeat=heartbeat)

    def outcome(self) -> TriggerOutcome:
        """The finished run's outcome (once :meth:`events` has ended); its error if it failed."""
        return self.task.result()


async def trigger_stream(trigger: Trigger) -> RunStream:
    """Store the run and start it live (its events stored and broadcast as they come).
    Bad input raises here, before anything is streamed; so does a run that could not be
    stored. Hanging up stops the caller's stream, not the run."""
    bind_rows(trigger.target, trigger.rows)
    queue: asyncio.Queue = asyncio.Queue()
    started: asyncio.Future = asyncio.get_running_loop().create_future()
    task = detached(
        run_trigger(
            **trigger.run_args(),
            return_traces=trigger.options.return_traces,
            on_event=queue.put_nowait,
            on_start=started.set_result,
            live=True,
        )
    )
    # The caller learns the uid before the first event, so it can be followed at once.
    await asyncio.wait({started, task}, return_when=asyncio.FIRST_COMPLETED)
    if not started.done():
        task.result()  # the run could not even be stored: raise that error
    return RunStream(run_uid=started.result().uid, task=task, queue=queue)


# Put on a stream's queue when its run has ended: nothing follows.
_ENDED = object()


async def live_batches(
    task: asyncio.Task, queue: asyncio.Queue, *, heartbeat: float | None = None
) -> AsyncIterator[list[Event] | None]:
    """The events ``task`` puts on ``queue``, each time as many as have come, until it
    has ended and all are given (the run service emits the error events of a run
    stopped outside its components); ``None`` after ``heartbeat`` seconds with nothing
    to give. The caller is woken by the queue itself, one loop turn after an event."""
    task.add_done_callback(lambda _: queue.put_nowait(_ENDED))
    while True:
        if queue.empty():
            try:
                async with asyncio.timeout(heartbeat):
                    first = await queue.get()
            except TimeoutError:
                yield None
                continue
        else:
            first = queue.get_nowait()
        batch = [first]
        while not queue.empty():
            batch.append(queue.get_nowait())
        ended = batch[-1] is _ENDED
        if ended:
            batch.pop()
        if batch:
            yield batch
        if ended:
            return


async def live_events(
    task: asyncio.Task, queue: asyncio.Queue, *, heartbeat: float | None = None
) -> AsyncIterator[Event | None]:
    """:func:`live_batches` one event at a time."""
    async for batch in live_batches(task, queue, heartbeat=heartbeat):
        if batch is None:
            yield None
        else:
            for event in batch:
                yield event
