"""Triggering pipelines and recording their runs.

Every path — REST, gRPC, the web pages — goes through :func:`trigger_rows`,
:func:`trigger_target` and :func:`run_trigger`, so validation, execution and the
run history are the same whoever asks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pipelines import loop_sqlite, run_worker
from pipelines.aio import db
from pipelines.components import default_registry, task_process_modules
from pipelines.components._outbound import guarded_request
from pipelines.engine import (
    ComponentError,
    File,
    InputInvalid,
    Recipe,
    RunCancelled,
    RunResult,
    execute,
    processes,
    to_json,
)
from pipelines.engine.inputs import media_type_fits
from pipelines.engine.types import FILE_TYPES, item_type
from pipelines.errors import Cancelled, DeadlineExceeded, InvalidArgument, PermissionDenied, ServiceError
from pipelines.models import ComponentRun, Pipeline, PipelineRelease, PipelineRun
from pipelines.selectors import Permission, pipeline_get_for_trigger, pipeline_get_for_trigger_on_loop, release_get
from pipelines.services.bulk import rows_insert, rows_insert_sqlite
from pipelines.services.pipelines import pipeline_recipe_cached, version_recipe
from pipelines.services.run_events import (
    RunEventBuffer,
    RunEventLog,
    failure_events,
    file_store,
    run_end_announce,
    run_end_broadcast,
)
from pipelines.services.run_files import FileStore, InlineFileStore, NeedsDisk
from pipelines.services.secrets import secrets_for_namespace

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from pipelines.models import Requester

logger = logging.getLogger("pipelines.runs")

EventCallback = Callable[[Any], "Awaitable[None] | None"]

COMPONENT_STATUS = {
    "COMPLETED": ComponentRun.Status.COMPLETED,
    "ERROR": ComponentRun.Status.FAILED,
    "SKIPPED": ComponentRun.Status.SKIPPED,
}


@dataclass(frozen=True)
class TriggerRow:
    """One row of a batch: the variables and per-row secret overrides."""

    variable: dict[str, Any]
    secret: dict[str, str] = field(default_factory=dict)


@dataclass
class TriggerTarget:
    """What a trigger runs: a pipeline's latest recipe or one of its releases."""

    pipeline: Pipeline
    release: PipelineRelease | None
    recipe: Recipe
    permission: Permission | None  # None in a run worker or a claimed async run: checked when accepted
    namespace_secrets: dict[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.release.slug if self.release else "latest"


@dataclass
class TriggerOutcome:
    run_uid: uuid.UUID
    result: RunResult | None  # None when a run worker ran it (pipelines/run_worker.py)
    response: dict
    failed: bool = False


def trigger_rows(payload: Any) -> list[TriggerRow]:
    """Rows from a trigger body: ``{"data": [{"variable", "secret"}]}`` or legacy ``{"inputs": [...]}``."""
    if not isinstance(payload, dict):
        raise InvalidArgument('the request body must be a JSON object with a "data" list', field="data")
    max_rows = settings.PIPELINE_MAX_BATCH_SIZE
    if payload.get("inputs") is not None:
        items = payload["inputs"]
        if not isinstance(items, list):
            raise InvalidArgument("inputs must be a list of objects", field="inputs")
        raw_rows = [{"variable": item} for item in items]
        name = "inputs"
    else:
        items = payload.get("data")
        if items is None:
            raise InvalidArgument(
                'the request needs "data": a list of 1 to 32 rows like {"variable": {...}}', field="data"
            )
        if not isinstance(items, list):
            raise InvalidArgument("data must be a list of rows", field="data")
        raw_rows = items
        name = "data"
    if not raw_rows:
        raise InvalidArgument(f"{name} must hold at least one row", field=name)
    if len(raw_rows) > max_rows:
        raise InvalidArgument(f"the batch size can not exceed {max_rows} ({name} has {len(raw_rows)} rows)", field=name)
    rows = []
    for index, raw in enumerate(raw_rows):
        where = f"{name}[{index}]"
        if name == "inputs":
            variable = raw["variable"]
            if not isinstance(variable, dict):
                raise InvalidArgument(f"{where} must be an object of variables", field=where)
            rows.append(TriggerRow(variable=variable))
            continue
        if not isinstance(raw, dict):
            raise InvalidArgument(f'{where} must be an object like {{"variable": {{...}}}}', field=where)
        variable = raw.get("variable") or {}
        if not isinstance(variable, dict):
            raise InvalidArgument(f"{where}.variable must be an object", field=f"{where}.variable")
        secret = raw.get("secret") or {}
        if not isinstance(secret, dict) or not all(isinstance(v, str) for v in secret.values()):
            raise InvalidArgument(f"{where}.secret must map secret ids to strings", field=f"{where}.secret")
        rows.append(TriggerRow(variable=variable, secret=secret))
    return rows


def trigger_target(
    *, namespace_id: str, pipeline_id: str, user: Requester, release_id: str | None = None
) -> TriggerTarget:
    """Resolve and authorise what to run. Reads only; safe to call from a worker thread."""
    pipeline, permission = pipeline_get_for_trigger(namespace_id=namespace_id, pipeline_id=pipeline_id, user=user)
    if not permission.can_trigger:
        raise PermissionDenied(f'you may view pipeline "{pipeline_id}" but not trigger it')
    release = release_get(pipeline=pipeline, release_id=release_id) if release_id is not None else None
    recipe = version_recipe(pipeline, release)
    raw = release.raw_recipe if release is not None else pipeline.raw_recipe
    # Secrets are decrypted only for recipes that can reference them.
    secrets = secrets_for_namespace(namespace_id=pipeline.namespace_id) if "secret" in raw else {}
    return TriggerTarget(
        pipeline=pipeline, release=release, recipe=recipe, permission=permission, namespace_secrets=secrets
    )


def trigger_target_on_loop(
    *, namespace_id: str, pipeline_id: str, user: Requester
) -> tuple[Requester, TriggerTarget] | None:
    """:func:`trigger_target` for the latest version without leaving the event loop:
    ``(user, target)`` when the cached pipeline is current and may be triggered and its
    recipe needs no secrets; ``None`` whenever :func:`trigger_target` has more to do
    (or an error to raise)."""
    found = pipeline_get_for_trigger_on_loop(namespace_id=namespace_id, pipeline_id=pipeline_id, user=user)
    if found is None:
        return None
    pipeline, permission = found
    if not permission.can_trigger or "secret" in pipeline.raw_recipe:
        return None
    recipe = pipeline_recipe_cached(pipeline)
    if recipe is None:
        return None
    return user, TriggerTarget(
        pipeline=pipeline, release=None, recipe=recipe, permission=permission, namespace_secrets={}
    )


def bind_rows(target: TriggerTarget, rows: list[TriggerRow]) -> list[dict]:
    try:
        return target.recipe.bind_rows([row.variable for row in rows])
    except InputInvalid as exc:
        raise InvalidArgument(str(exc), field=getattr(exc, "field", None)) from exc


async def rows_with_fetched_files(target: TriggerTarget, rows: list[TriggerRow]) -> list[TriggerRow]:
    """Rows whose file variables given as ``http(s)`` URLs hold the fetched files.

    Fetched through the same outbound guard as the ``http`` component (private and
    loopback addresses refused unless allowed), capped at the request size limit, so a
    bad URL is a 400 at trigger time, not a failed run later.
    """
    wanted: list[tuple[int, str, int | None, str, str]] = []
    for index, row in enumerate(rows):
        for variable in target.recipe.variables:
            value = row.variable.get(variable.id)
            inner = item_type(variable.type)
            kind = inner or variable.type
            if kind not in FILE_TYPES:
                continue
            items = list(enumerate(value)) if inner and isinstance(value, list) else [(None, value)]
            for position, item in items:
                if isinstance(item, str) and item.startswith(("http://", "https://")):
                    wanted.append((index, variable.id, position, kind, item))
    if not wanted:
        return rows
    fetched = await asyncio.gather(*[_fetch_file(var, kind, url) for _, var, _, kind, url in wanted])
    variables = [dict(row.variable) for row in rows]
    for (index, var, position, _, _), file in zip(wanted, fetched, strict=True):
        if position is None:
            variables[index][var] = file
        else:
            listed: list[Any] = list(variables[index][var])
            listed[position] = file
            variables[index][var] = listed
    return [TriggerRow(variable=v, secret=row.secret) for v, row in zip(variables, rows, strict=True)]


async def _fetch_file(variable: str, kind: str, url: str) -> File:
    try:
        response = await guarded_request(
            "GET",
            url,
            allowed_hosts=tuple(settings.PIPELINE_HTTP_ALLOWED_HOSTS),
            timeout=settings.PIPELINE_HTTP_TIMEOUT,
            max_response_bytes=settings.PIPELINE_MAX_REQUEST_BYTES,
        )
    except ComponentError as exc:
        raise InvalidArgument(
            f'variable "{variable}": could not fetch {url}: {exc}', field=f"variable.{variable}"
        ) from exc
    if response.status_code >= 400:
        raise InvalidArgument(
            f'variable "{variable}": fetching {url} answered HTTP {response.status_code}', field=f"variable.{variable}"
        )
    mime = response.content_type.split(";")[0].strip().lower()
    name = urlsplit(response.url).path.rsplit("/", 1)[-1] or None
    file = File(response.content, mime_type=None if mime in ("", "application/octet-stream") else mime, filename=name)
    if not media_type_fits(kind, file.mime_type):
        raise InvalidArgument(
            f'variable "{variable}" must be {"an" if kind[0] in "aeiou" else "a"} {kind}, got a file ({file.mime_type}) from {url}',
            field=f"variable.{variable}",
        )
    return file


def engine_config() -> dict[str, Any]:
    return {
        "http_allowed_hosts": tuple(settings.PIPELINE_HTTP_ALLOWED_HOSTS),
        # Model servers (the openai component) may also be where only it may go.
        "llm_allowed_hosts": (*settings.PIPELINE_HTTP_ALLOWED_HOSTS, *settings.PIPELINE_LLM_ALLOWED_HOSTS),
        "http_timeout": settings.PIPELINE_HTTP_TIMEOUT,
    }


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
    bound: list[dict],
    secrets: list[dict],
    on_event: EventCallback | None,
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
    main process, and so wrong in every forked pool process."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def run_trigger(
    *,
    target: TriggerTarget,
    rows: list[TriggerRow],
    requester: Requester | None,  # None: anonymous, from a run worker
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
    plain: dict[str, Any] = {
        "target": target,
        "rows": rows,
        "requester": requester,
        "source": source,
        "return_traces": return_traces,
    }
    with run_worker.placement() as elsewhere:
        if elsewhere and (outcome := await run_worker.run_trigger(**plain)) is not None:
            return outcome
        return await _run_trigger_here(**plain)


async def _run_trigger_here(
    *,
    target: TriggerTarget,
    rows: list[TriggerRow],
    requester: Requester | None,  # None: anonymous, from a run worker
    source: str,
    return_traces: bool,
    on_event: EventCallback | None = None,
    on_start: Callable[[PipelineRun], None] | None = None,
    live: bool = False,
) -> TriggerOutcome:
    bound = bind_rows(target, rows)
    secrets = [{**target.namespace_secrets, **row.secret} for row in rows]
    run = PipelineRun(
        uid=uuid.uuid4(),
        pipeline=target.pipeline,
        release=target.release,
        pipeline_version=target.version,
        status=PipelineRun.Status.PROCESSING,
        source=source,
        requester=_user_or_none(requester),
        recipe_snapshot=target.recipe.raw,
    )
    run.bound_inputs = bound  # rendered for storage with the outputs, when the run is written
    run.create_time = run.start_time = timezone.now()
    run.worker = worker_id()  # which process ran it (serve or a run worker)
    if live:
        run.heartbeat_time = run.start_time
        await db(_insert_started)(run)
        if on_start is not None:
            on_start(run)
        result = await run_stored(run=run, target=target, bound=bound, secrets=secrets, on_event=on_event)
    else:
        buffer = RunEventBuffer(run)
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
            await db(run_record_failure)(run=run, error=exc, insert=True, events=buffer)
            raise
        run.event_buffer = buffer
        await _recorder.record(run, result)
    response = {"outputs": result.outputs_json(), "metadata": {"traces": result.traces(full=return_traces)}}
    return TriggerOutcome(run_uid=run.uid, result=result, response=response, failed=result.failed)


def _insert_started(run: PipelineRun) -> None:
    store = file_store(run)
    run.inputs = [to_json(row, store) for row in run.bound_inputs]
    run.save(force_insert=True)


def _emitter(log: RunEventLog | RunEventBuffer, on_event: EventCallback | None) -> Callable[[Any], None]:
    if on_event is None:
        return log.append

    def emit(event) -> None:
        log.append(event)
        on_event(event)

    return emit


def _emit_failure(emit: Callable[[Any], None], last_seq: int, error: Exception, rows: int) -> None:
    message = error.message if isinstance(error, ServiceError) else "internal error"
    for event in failure_events(message=message, rows=rows, last_seq=last_seq, now=timezone.now()):
        emit(event)


# Cancel events of the runs executing in this process, by run uid: a cancel request
# that reaches this process stops its run at once instead of at the next poll.
local_cancels: dict[str, asyncio.Event] = {}


def _heartbeat(run_uid, worker: str, beat: bool) -> bool:
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
    *,
    run: PipelineRun,
    target: TriggerTarget,
    bound: list[dict],
    secrets: list[dict],
    on_event: EventCallback | None = None,
) -> RunResult:
    """Execute a run whose row is stored and PROCESSING for this worker, to its end.

    Events are stored and broadcast as they come; a heartbeat says the run is alive and
    a cancel request stops it. The end is recorded (outputs, or the failure), then
    broadcast. Raises the :class:`ServiceError` of a run stopped outside its components.
    """
    log = RunEventLog(run)
    emit = _emitter(log, on_event)
    cancel = asyncio.Event()
    local_cancels[str(run.uid)] = cancel
    watcher = asyncio.create_task(_watch(run, cancel))
    try:
        result = await _execute(
            recipe=target.recipe,
            bound=bound,
            secrets=secrets,
            on_event=emit,
            cancel=cancel,
            limit=run_time_limit(target.pipeline),
        )
    except Exception as exc:
        if not isinstance(exc, ServiceError):
            logger.exception("run %s failed outside its components", run.uid)
            exc = ServiceError(f"internal error while executing the run: {type(exc).__name__}")
        _emit_failure(emit, log.last_seq, exc, len(bound))
        await log.close()
        await db(run_record_failure)(run=run, error=exc, insert=False)
        await run_end_broadcast(run.uid)
        raise exc
    finally:
        watcher.cancel()
        local_cancels.pop(str(run.uid), None)
    await log.close()
    await db(run_record)(run=run, result=result)
    await run_end_broadcast(run.uid)
    return result


def _user_or_none(user: Requester | None) -> User | None:
    return cast("User", user) if user is not None and getattr(user, "is_authenticated", False) else None


FINISH_FIELDS = (
    "status",
    "outputs",
    "traces",
    "error",
    "error_code",
    "complete_time",
    "total_duration_ms",
    "pending_secrets",
)


def _save_finished(run: PipelineRun, *, previous_status: str) -> bool:
    """Store a stored run's end, only if it is still as this executor left it: a run that
    another worker took over (this one was presumed dead) or that ended otherwise
    meanwhile is not overwritten. True when written."""
    return bool(
        PipelineRun.objects.filter(pk=run.pk, status=previous_status, worker=run.worker).update(
            **{name: getattr(run, name) for name in FINISH_FIELDS}
        )
    )


def run_record(*, run: PipelineRun, result: RunResult) -> PipelineRun:
    """Finish a stored (async) run and add its component runs in one transaction."""
    previous = run.status
    component_runs = _finish_from_result(run, result)
    with transaction.atomic():
        if _save_finished(run, previous_status=previous):
            ComponentRun.objects.bulk_create(component_runs)
    return run


def _finish_from_result(run: PipelineRun, result: RunResult) -> list[ComponentRun]:
    """Set a run's end from the engine's result; files go inline or to disk (run_files)."""
    store = file_store(run)
    bound = getattr(run, "bound_inputs", None)
    if bound is not None and run.pk is None:
        run.inputs = [to_json(row, store) for row in bound]
    run.outputs = result.outputs_json(store)
    run.traces = result.traces(full=True, render_file=store)
    run.finish(
        status=PipelineRun.Status.FAILED if result.failed else PipelineRun.Status.COMPLETED,
        complete_time=timezone.now(),
        error=(result.error_message or "") if result.failed else "",
    )
    return [component_run_from_result(run, component_id, result, store) for component_id in _component_ids(result)]


def _rendered(items: list[tuple[PipelineRun, RunResult]]) -> tuple[list[PipelineRun], list[ComponentRun]]:
    """The runs finished from their results (events rendered) and their component runs."""
    runs, component_runs = [], []
    for run, result in items:
        component_runs += _finish_from_result(run, result)
        runs.append(run)
        buffer = getattr(run, "event_buffer", None)
        if buffer is not None:
            buffer.render()
    return runs, component_runs


def _insert(runs, component_runs, insert_rows: Callable, insert_events: Callable) -> None:
    """Runs, then their component runs and events (which need the runs' ids)."""
    insert_rows(runs)
    for component_run in component_runs:
        component_run.run_id = component_run.run.pk
    insert_rows(component_runs)
    for run in runs:
        buffer = getattr(run, "event_buffer", None)
        if buffer is not None:
            insert_events(buffer)


def runs_insert(items: list[tuple[PipelineRun, RunResult]]) -> None:
    """Insert finished runs and their component runs: two bulk statements, one transaction."""
    runs, component_runs = _rendered(items)
    with transaction.atomic():
        _insert(runs, component_runs, rows_insert, RunEventBuffer.store)


_runs_insert_in_thread = db(runs_insert)


def runs_insert_on_loop(items: list[tuple[PipelineRun, RunResult]]) -> bool:
    """:func:`runs_insert` on the event loop through :mod:`pipelines.loop_sqlite`; True
    when written. False, with nothing written and the runs as they were, when it has to
    be done in a thread: not SQLite, the database busy, or a file too large to store
    inline (writing it to disk would block the loop)."""
    if loop_sqlite.unavailable():
        return False
    before = [(run, run.status) for run, _ in items]

    def undo() -> bool:
        for run, status in before:  # the thread path renders and inserts them afresh
            run.status, run.pk, run._file_store = status, None, None
            run._state.adding = True
        return False

    for run, _ in items:
        run._file_store = InlineFileStore(run.uid)
    try:
        runs, component_runs = _rendered(items)
    except NeedsDisk:
        return undo()

    def write(cursor) -> None:
        _insert(
            runs,
            component_runs,
            lambda objs: rows_insert_sqlite(cursor, objs),
            lambda buffer: buffer.store_sqlite(cursor),
        )

    return loop_sqlite.write(write) or undo()


class RunRecorder:
    """Group commit for sync triggers: runs that finish while a write is in flight are
    written together in the next one, so concurrent triggers share one transaction and
    one thread hop instead of queueing on the database one by one. Each trigger still
    answers only after its own run is committed."""

    def __init__(self) -> None:
        self._pending: list[tuple[PipelineRun, RunResult, asyncio.Future]] = []
        self._writing: asyncio.Task | None = None

    async def record(self, run: PipelineRun, result: RunResult) -> None:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((run, result, future))
        if self._writing is None or self._writing.done() or self._writing.get_loop() is not asyncio.get_running_loop():
            self._writing = asyncio.get_running_loop().create_task(self._drain())
        await future

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                items = [(run, result) for run, result, _ in batch]
                if not runs_insert_on_loop(items):
                    await _runs_insert_in_thread(items)
            except BaseException as exc:  # noqa: BLE001 - every waiter learns of the failure
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                for *_, future in batch:
                    if not future.done():
                        future.set_result(None)


_recorder = RunRecorder()


def run_record_failure(
    *, run: PipelineRun, error: ServiceError, insert: bool, events: RunEventBuffer | None = None, announce: bool = False
) -> PipelineRun:
    """A run that ended outside its components: cancelled, timed out, interrupted.
    With ``announce`` (a run ended away from its executor, e.g. cancelled while queued),
    its failure events are stored and its followers told, after commit."""
    status = PipelineRun.Status.CANCELLED if isinstance(error, Cancelled) else PipelineRun.Status.FAILED
    previous = run.status
    bound = getattr(run, "bound_inputs", None)
    if bound is not None and insert:
        store = file_store(run)
        run.inputs = [to_json(row, store) for row in bound]
    run.finish(status=status, complete_time=timezone.now(), error=error.message, error_code=error.code)
    if insert:
        if events is not None:
            events.render()
        with transaction.atomic():
            run.save(force_insert=True)
            if events is not None:
                events.store()
    else:
        with transaction.atomic():
            if _save_finished(run, previous_status=previous) and announce:
                run_end_announce(run, message=error.message)
    return run


def _component_ids(result: RunResult) -> list[str]:
    return list(result.rows[0].components) if result.rows else []


def component_run_from_result(run: PipelineRun, component_id: str, result: RunResult, store: FileStore) -> ComponentRun:
    per_row = [row.components[component_id] for row in result.rows]
    statuses = {c.status for c in per_row}
    if "ERROR" in statuses:
        status = ComponentRun.Status.FAILED
    elif statuses == {"SKIPPED"}:
        status = ComponentRun.Status.SKIPPED
    else:
        status = ComponentRun.Status.COMPLETED
    starts = [c.started_at for c in per_row if c.started_at]
    ends = [c.completed_at for c in per_row if c.completed_at]
    start, end = (min(starts) if starts else None), (max(ends) if ends else None)
    return ComponentRun(
        run=run,
        component_id=component_id,
        status=status,
        inputs=[to_json(c.inputs, store) if c.inputs is not None else None for c in per_row],
        outputs=[to_json(c.outputs, store) if c.outputs is not None else None for c in per_row],
        error=next((c.error for c in per_row if c.error), "") or "",
        start_time=start,
        complete_time=end,
        total_duration_ms=max(0, round((end - start).total_seconds() * 1000)) if start and end else None,
    )
