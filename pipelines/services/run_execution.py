"""Executing runs: the engine bounded by the run time limit, watched for cancel
requests, its events logged, its end recorded.

Every path — REST, gRPC, the web pages, queued runs — executes through
:func:`run_trigger` or :func:`run_stored`, so execution and the run history are the
same whoever asks.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone

from pipelines.aio import db
from pipelines.components import default_registry, task_process_modules
from pipelines.engine import ComponentDefinition, Recipe, RunCancelled, RunResult, execute, processes
from pipelines.engine.events import Event
from pipelines.engine.platform import BASE_URL, PlatformSetup, setting_names, takes_platform_key, url_field
from pipelines.errors import Cancelled, DeadlineExceeded, ServiceError
from pipelines.models import Pipeline, PipelineRun, run_uid
from pipelines.services.bulk import instance
from pipelines.services.run_events import RunEventBuffer, RunEventLog, failure_events, run_end_broadcast
from pipelines.services.run_inputs import TriggerRow, bind_rows
from pipelines.services.run_records import (
    RunState,
    recorder,
    run_finished_store,
    run_insert_failure,
    run_record_failure,
    run_started_store,
)
from pipelines.services.run_targets import TriggerTarget, trigger_target_handed_over

logger = logging.getLogger("pipelines.runs")

EventCallback = Callable[[Any], "Awaitable[None] | None"]


@dataclass
class TriggerOutcome:
    run_uid: uuid.UUID
    result: RunResult | None  # None when a run worker ran it (pipelines/run_worker.py)
    response: dict[str, Any]
    failed: bool = False


def engine_config() -> Mapping[str, Any]:
    """What every run hands the engine from the server's settings (read-only: the engine
    copies what it changes). Built once and kept until a setting changes (Django's
    ``setting_changed``: tests, ``override_settings``): reading the platform keys of
    every component type on each trigger was a tenth of a small trigger's CPU, profiled."""
    global _engine_config
    config = _engine_config
    if config is None:
        config = _engine_config = MappingProxyType(
            {
                "http_allowed_hosts": tuple(settings.PIPELINE_HTTP_ALLOWED_HOSTS),
                # Model servers (the openai component) may also be where only it may go.
                "llm_allowed_hosts": (*settings.PIPELINE_HTTP_ALLOWED_HOSTS, *settings.PIPELINE_LLM_ALLOWED_HOSTS),
                "http_timeout": settings.PIPELINE_HTTP_TIMEOUT,
                "sqlite_dir": settings.PIPELINE_SQL_SQLITE_DIR,
                "platform_setups": MappingProxyType(platform_setups()),
            }
        )
    return config


_engine_config: Mapping[str, Any] | None = None


@receiver(setting_changed)
def _engine_config_forget(*, setting: str, **_: Any) -> None:
    global _engine_config
    if setting.startswith("PIPELINE_"):
        _engine_config = None


def platform_setups() -> dict[str, PlatformSetup]:
    """The server's platform keys (``PIPELINE_<VENDOR>_API_KEY`` / ``_BASE_URL``) of
    every component type that takes one and has either set."""
    setups: dict[str, PlatformSetup] = {}
    for definition in platform_key_types():
        key_name, url_name = setting_names(definition.type)
        api_key = str(getattr(settings, key_name, "") or "").strip()
        base_url = str(getattr(settings, url_name, "") or "").strip()
        if api_key or base_url:
            setups[definition.type] = PlatformSetup(
                definition.type, api_key, base_url, url_field(definition) or BASE_URL
            )
    return setups


@functools.cache
def platform_key_types() -> tuple[ComponentDefinition, ...]:
    return tuple(d for d in default_registry() if takes_platform_key(d))


def run_time_limit(pipeline: Pipeline) -> tuple[int, str]:
    """The run time limit in seconds, and the name of what set it (for the message)."""
    if pipeline.max_run_seconds:
        return pipeline.max_run_seconds, "maxRunSeconds"
    return settings.PIPELINE_MAX_RUN_SECONDS, "PIPELINE_MAX_RUN_SECONDS"


def task_processes() -> processes.TaskProcesses:
    """This process's task processes (serve, a run worker, a Celery worker process):
    where CPU-bound component tasks run and are killed at the run time limit."""
    return processes.shared(settings.PIPELINE_TASK_PROCESSES, task_process_modules())


async def _execute(
    *,
    recipe: Recipe,
    bound: list[dict[str, Any]],
    secrets: list[dict[str, str]],
    on_event: Callable[[Any], Any] | None,
    cancel: asyncio.Event | None,
    limit: tuple[int, str],
) -> RunResult:
    """The engine, bounded by the run time limit; raises DeadlineExceeded / Cancelled.
    At the limit every task still running stops: a task in a task process is killed."""
    timeout, limit_name = limit
    try:
        async with asyncio.timeout(timeout):
            return await execute(
                recipe,
                bound,
                registry=default_registry(),
                secrets=secrets,
                on_event=on_event,
                config=engine_config(),
                cancel=cancel,
                max_concurrency=settings.PIPELINE_ENGINE_CONCURRENCY,
                processes=task_processes(),
                max_iterations=settings.PIPELINE_MAX_ITERATIONS,
            )
    except TimeoutError as exc:
        raise DeadlineExceeded(
            f"the run was stopped after the maximum run time of {timeout:g} s ({limit_name})"
        ) from exc
    except RunCancelled as exc:
        raise Cancelled("the run was cancelled") from exc


def worker_id() -> str:
    """``host:pid`` of the calling process, read at call time: a module-level constant
    would be the pid of whichever process imported this module first, e.g. the Celery
    main process, and so wrong in every forked pool process. Kept per pid (the host
    name is a system call, on every trigger)."""
    global _worker_id
    pid = os.getpid()
    if _worker_id[0] != pid:
        _worker_id = (pid, f"{socket.gethostname()}:{pid}")
    return _worker_id[1]


_worker_id: tuple[int, str] = (0, "")


async def run_trigger(
    *,
    target: TriggerTarget,
    rows: list[TriggerRow],
    requester: Any,
    source: str = PipelineRun.Source.API,
    return_traces: bool = False,
    on_event: EventCallback | None = None,
    on_start: Callable[[PipelineRun], None] | None = None,
    live: bool = False,
) -> TriggerOutcome:
    """Run a trigger to completion and record it; the sync and stream paths.

    A plain sync trigger may be handed to a run worker process when this one is busy
    (pipelines/run_worker.py); it runs there exactly as here. A plain sync trigger
    (``live=False``) writes its run, component runs and events in one transaction
    when it ends. A ``live`` run (a streamed trigger) is stored first and
    executes like an async run: its events are stored and broadcast as they come, so
    it can be followed and resumed by uid, and cancelled; ``on_start`` gets the stored
    run before the first event.
    """
    if live or on_event is not None:
        return await _run_trigger_here(
            target=target,
            rows=rows,
            requester=requester,
            source=source,
            return_traces=return_traces,
            on_event=on_event,
            on_start=on_start,
            live=live,
        )
    plain = {"target": target, "rows": rows, "requester": requester, "source": source, "return_traces": return_traces}
    placement = _placement
    if placement is None:
        return await _run_trigger_here(**plain)
    with placement.hold() as elsewhere:
        if elsewhere:
            answer = await placement.hand_over(_hand_over_request(**plain), (row.variable for row in rows))
            if answer is not None:
                run_uid, response, failed = answer
                return TriggerOutcome(run_uid=run_uid, result=None, response=response, failed=failed)
        return await _run_trigger_here(**plain)


class Placement(Protocol):
    """Where a plain sync trigger may run other than here: ``serve``'s run workers
    (:class:`pipelines.run_worker.RunWorkers`), given by ``serve`` at start-up."""

    def hold(self) -> AbstractContextManager[bool]:
        """Held while a sync trigger runs; its value says whether to hand it over."""
        ...

    async def hand_over(self, request: dict[str, Any], values: Iterable[Any]) -> Any | None:
        """The answer of :func:`run_handed_over` to ``request`` run elsewhere, or None
        when it is to run here (nowhere ready, or ``values`` not plain JSON)."""
        ...


_placement: Placement | None = None


def placement_set(placement: Placement | None) -> None:
    """Where this process's plain sync triggers may go when it is busy (None: always here)."""
    global _placement
    _placement = placement


def _hand_over_request(
    *, target: TriggerTarget, rows: list[TriggerRow], requester: Any, source: str, return_traces: bool
) -> dict[str, Any]:
    """A trigger as it crosses to a run worker: authorised already, so keys, not objects."""
    return {
        "pipeline": (target.pipeline.pk, target.pipeline.update_time),
        "release": target.release.pk if target.release is not None else None,
        "secrets": target.namespace_secrets,
        "rows": [(row.variable, row.secret) for row in rows],  # tuples pickle faster than dataclasses
        "requester": getattr(requester, "pk", None) if getattr(requester, "is_authenticated", False) else None,
        "source": source,
        "return_traces": return_traces,
    }


async def run_handed_over(request: dict[str, Any]) -> tuple[uuid.UUID, dict[str, Any], bool]:
    """A run worker's side of :func:`run_trigger`: run the trigger ``serve`` handed over
    (see :func:`_hand_over_request`) exactly as ``serve`` would; ``(run uid, answer, failed)``."""
    requester = get_user_model()(pk=request["requester"]) if request["requester"] is not None else None
    pipeline_pk, update_time = request["pipeline"]
    outcome = await run_trigger(
        target=await trigger_target_handed_over(
            pipeline_pk=pipeline_pk, update_time=update_time, release_pk=request["release"], secrets=request["secrets"]
        ),
        rows=[TriggerRow(variable=variable, secret=secret) for variable, secret in request["rows"]],
        requester=requester,
        source=request["source"],
        return_traces=request["return_traces"],
    )
    return outcome.run_uid, outcome.response, outcome.failed


async def _run_trigger_here(
    *,
    target: TriggerTarget,
    rows: list[TriggerRow],
    requester: Any,
    source: str,
    return_traces: bool,
    on_event: EventCallback | None = None,
    on_start: Callable[[PipelineRun], None] | None = None,
    live: bool = False,
) -> TriggerOutcome:
    bound = bind_rows(target, rows)
    secrets = [{**target.namespace_secrets, **row.secret} for row in rows]
    now = timezone.now()
    run = instance(
        PipelineRun,
        uid=run_uid(),
        pipeline=target.pipeline,
        release=target.release,
        pipeline_version=target.version,
        status=PipelineRun.Status.PROCESSING,
        source=source,
        requester=_user_or_none(requester),
        recipe_snapshot=target.recipe.raw,
        draft=target.draft,
        create_time=now,
        start_time=now,
        worker=worker_id(),  # which process ran it (serve or a run worker)
    )
    state = RunState.of(run, bound)
    if live:
        run.heartbeat_time = run.start_time
        await run_started_store(state)
        if on_start is not None:
            on_start(run)
        result = await run_stored(state=state, target=target, secrets=secrets, on_event=on_event)
    else:
        buffer = state.events = RunEventBuffer(run)
        emit = _emitter(buffer, on_event)
        try:
            result = await _execute(
                recipe=target.recipe,
                bound=bound,
                secrets=secrets,
                on_event=emit,
                cancel=None,
                limit=run_time_limit(target.pipeline),
            )
        except ServiceError as exc:
            _emit_failure(emit, buffer.last_seq, exc, len(bound))
            await db(run_insert_failure)(state=state, error=exc)
            raise
        await recorder.record(state, result)
    response = {"outputs": result.outputs_json(), "metadata": {"traces": result.traces(full=return_traces)}}
    return TriggerOutcome(run_uid=run.uid, result=result, response=response, failed=result.failed)


def _emitter(log: RunEventLog | RunEventBuffer, on_event: EventCallback | None) -> Callable[[Any], None]:
    if on_event is None:
        return log.append

    def emit(event: Event) -> None:
        # The caller first: a streamed trigger's client is woken before the log's write
        # of the same events is started, and so gets them a write sooner.
        on_event(event)
        log.append(event)

    return emit


def _emit_failure(emit: Callable[[Any], None], last_seq: int, error: Exception, rows: int) -> None:
    message = error.message if isinstance(error, ServiceError) else "internal error"
    for event in failure_events(message=message, rows=rows, last_seq=last_seq, now=timezone.now()):
        emit(event)


# Cancel events of the runs executing in this process, by run uid: a cancel request
# that reaches this process stops its run at once instead of at the next poll.
local_cancels: dict[str, asyncio.Event] = {}


def _heartbeat(run_uid: uuid.UUID, worker: str, beat: bool) -> bool:
    """Refresh the heartbeat when ``beat``; True when a cancel was requested."""
    if beat:
        PipelineRun.objects.filter(uid=run_uid, worker=worker, status=PipelineRun.Status.PROCESSING).update(
            heartbeat_time=timezone.now()
        )
    return PipelineRun.objects.filter(uid=run_uid, cancel_requested=True).exists()


_heartbeat_in_thread = db(_heartbeat)


async def _watch(run: PipelineRun, cancel: asyncio.Event) -> None:
    # Cancel requests are read twice a second; the heartbeat is written less often.
    beat_every = max(1, round(settings.PIPELINE_RUN_HEARTBEAT_SECONDS / 0.5))
    tick = 0
    while True:
        await asyncio.sleep(0.5)
        tick += 1
        if await _heartbeat_in_thread(run.uid, run.worker, tick % beat_every == 0):
            cancel.set()
            return


async def run_stored(
    *, state: RunState, target: TriggerTarget, secrets: list[dict[str, str]], on_event: EventCallback | None = None
) -> RunResult:
    """Execute a run whose row is stored and PROCESSING for this worker, to its end.

    Events are stored and broadcast as they come; a heartbeat says the run is alive and
    a cancel request stops it. The end is recorded (outputs, or the failure), then
    broadcast. Raises the :class:`ServiceError` of a run stopped outside its components.
    """
    run = state.run
    log = RunEventLog(run, state.store)
    emit = _emitter(log, on_event)
    cancel = asyncio.Event()
    local_cancels[str(run.uid)] = cancel
    watcher = asyncio.create_task(_watch(run, cancel))
    try:
        result = await _execute(
            recipe=target.recipe,
            bound=state.bound,
            secrets=secrets,
            on_event=emit,
            cancel=cancel,
            limit=run_time_limit(target.pipeline),
        )
    except Exception as exc:
        if not isinstance(exc, ServiceError):
            logger.exception("run %s failed outside its components", run.uid)
            exc = ServiceError(f"internal error while executing the run: {type(exc).__name__}")
        _emit_failure(emit, log.last_seq, exc, len(state.bound))
        await log.close()
        await db(run_record_failure)(run=run, error=exc)
        await run_end_broadcast(run.uid)
        raise exc
    finally:
        watcher.cancel()
        local_cancels.pop(str(run.uid), None)
    await log.close()
    await run_finished_store(state=state, result=result)
    await run_end_broadcast(run.uid)
    return result


def _user_or_none(user: Any) -> Any:
    return user if user is not None and getattr(user, "is_authenticated", False) else None
