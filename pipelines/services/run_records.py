"""Recording runs: a run's end, its component runs and its events into the run history.

A plain sync trigger's run is written only when it ends, in one transaction with its
component runs and events; runs that finish while a write is in flight are written
together (:class:`RunRecorder`), on the event loop's own SQLite connection when it can
(:mod:`pipelines.loop_sqlite`), else in a thread. A stored run (async, streamed) has
its end written over its row, only if no other executor took it over meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from pipelines import loop_sqlite
from pipelines.aio import db
from pipelines.engine import RunResult, to_json
from pipelines.errors import Cancelled, ServiceError
from pipelines.models import ComponentRun, PipelineRun
from pipelines.services.bulk import instance, rows_insert, rows_insert_sqlite, sqlite_adapters
from pipelines.services.run_events import RunEventBuffer, run_end_announce
from pipelines.services.run_files import FileStore, InlineFileStore, NeedsDisk


@dataclass
class RunState:
    """A run executing in this process and what travels with it until it is recorded.

    ``bound`` are its inputs bound to the recipe, stored with the run; ``store`` is its
    one :class:`FileStore`, shared by its inputs, events and outputs (each File written
    once); ``events`` holds a plain sync run's events, written with the run when it ends
    (a stored run's events go to its :class:`~pipelines.services.run_events.RunEventLog`
    as they come)."""

    run: PipelineRun
    bound: list[dict[str, Any]]
    store: FileStore
    events: RunEventBuffer | None = None

    @classmethod
    def of(cls, run: PipelineRun, bound: list[dict[str, Any]]) -> RunState:
        return cls(run=run, bound=bound, store=FileStore(run.uid))

    def inputs_rendered(self) -> list[Any]:
        """The bound inputs as stored (files inline or on disk, through :attr:`store`)."""
        return [to_json(row, self.store) for row in self.bound]


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


def run_insert_started(state: RunState) -> None:
    """Store a run before it executes (a streamed trigger), with its inputs."""
    state.run.inputs = state.inputs_rendered()
    state.run.save(force_insert=True)


def run_insert_started_on_loop(state: RunState) -> bool:
    """:func:`run_insert_started` on the event loop through :mod:`pipelines.loop_sqlite`;
    True when committed. False, with nothing written, when it has to be done in a
    thread: not SQLite, the database busy, or a file input too large to store inline."""
    if loop_sqlite.unavailable():
        return False
    run = state.run
    try:
        # A throw-away inline store: small files render as the run's own store renders
        # them, and a large one is left to the thread path, which writes it once.
        run.inputs = [to_json(row, InlineFileStore(run.uid)) for row in state.bound]
    except NeedsDisk:
        return False
    if loop_sqlite.write(lambda cursor: rows_insert_sqlite(cursor, [run])):
        return True
    run.pk, run._state.adding = None, True
    return False


async def run_started_store(state: RunState) -> None:
    """Store a run before it executes: on the loop when it can, else in a thread."""
    if not run_insert_started_on_loop(state):
        await _insert_started_in_thread(state)


_insert_started_in_thread = db(run_insert_started)


def run_record(*, state: RunState, result: RunResult) -> PipelineRun:
    """Finish a stored run and add its component runs in one transaction."""
    run = state.run
    previous = run.status
    component_runs = _finish_from_result(state, result, with_inputs=False)
    with transaction.atomic():
        if _save_finished(run, previous_status=previous):
            ComponentRun.objects.bulk_create(component_runs)
    return run


def run_record_on_loop(*, state: RunState, result: RunResult) -> bool:
    """:func:`run_record` on the event loop through :mod:`pipelines.loop_sqlite`; True
    when done (written, or found taken over by another executor). False, with the run
    as it was and nothing written, when it has to be done in a thread."""
    if loop_sqlite.unavailable():
        return False
    run, store = state.run, state.store
    before = {name: getattr(run, name) for name in FINISH_FIELDS}
    state.store = InlineFileStore(run.uid)  # see run_insert_started_on_loop
    try:
        component_runs = _finish_from_result(state, result, with_inputs=False)
    except NeedsDisk:
        component_runs = None
    state.store = store
    if component_runs is not None:
        sql, adapters = _finish_statement()
        values = [adapt(getattr(run, name)) for name, adapt in adapters]
        ours = (run.pk, before["status"], run.worker)

        def write(cursor: Any) -> None:
            cursor.execute(sql, (*values, *ours))
            if cursor.rowcount:
                rows_insert_sqlite(cursor, component_runs)

        if loop_sqlite.write(write):
            return True
    for name, value in before.items():
        setattr(run, name, value)
    return False


@functools.cache
def _finish_statement() -> tuple[str, list[tuple[str, Callable[[Any], Any]]]]:
    """The conditional ``UPDATE`` of :func:`_save_finished` for a plain ``sqlite3``
    cursor, with the ORM's conversions of its values (:func:`sqlite_adapters`)."""
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    by_name = dict(sqlite_adapters(PipelineRun, connection))
    adapters = [(name, by_name[name]) for name in FINISH_FIELDS]
    columns = ", ".join(f"{quote(name)} = ?" for name in FINISH_FIELDS)
    table = quote(PipelineRun._meta.db_table)
    where = f"{quote(PipelineRun._meta.pk.name)} = ? AND {quote('status')} = ? AND {quote('worker')} = ?"
    return f"UPDATE {table} SET {columns} WHERE {where}", adapters


async def run_finished_store(*, state: RunState, result: RunResult) -> None:
    """Record a stored run's end (:func:`run_record`): on the loop when it can, else in a thread."""
    if not run_record_on_loop(state=state, result=result):
        await _record_in_thread(state=state, result=result)


_record_in_thread = db(run_record)


def _finish_from_result(state: RunState, result: RunResult, *, with_inputs: bool) -> list[ComponentRun]:
    """Set a run's end from the engine's result; files go inline or to disk (run_files).
    ``with_inputs`` for a run not stored yet, whose inputs are written with its end."""
    run, store = state.run, state.store
    if with_inputs:
        run.inputs = state.inputs_rendered()
    run.outputs = result.outputs_json(store)
    run.traces = result.traces(full=True, render_file=store)
    run.finish(
        status=PipelineRun.Status.FAILED if result.failed else PipelineRun.Status.COMPLETED,
        complete_time=timezone.now(),
        error=(result.error_message or "") if result.failed else "",
    )
    return [component_run_from_result(run, component_id, result, store) for component_id in _component_ids(result)]


def _rendered(items: Sequence[tuple[RunState, RunResult]]) -> tuple[list[PipelineRun], list[ComponentRun]]:
    """The runs finished from their results (events rendered) and their component runs."""
    runs: list[PipelineRun] = []
    component_runs: list[ComponentRun] = []
    for state, result in items:
        component_runs += _finish_from_result(state, result, with_inputs=True)
        runs.append(state.run)
        if state.events is not None:
            state.events.render(state.store)
    return runs, component_runs


def _insert(
    items: Sequence[tuple[RunState, RunResult]],
    runs: list[PipelineRun],
    component_runs: list[ComponentRun],
    insert_rows: Callable[[Sequence[Any]], None],
    insert_events: Callable[[RunEventBuffer], None],
) -> None:
    """Runs, then their component runs and events (which need the runs' ids)."""
    insert_rows(runs)
    for component_run in component_runs:
        component_run.run_id = component_run.run.pk
    insert_rows(component_runs)
    for state, _ in items:
        if state.events is not None:
            insert_events(state.events)


def runs_insert(items: Sequence[tuple[RunState, RunResult]]) -> None:
    """Insert finished runs and their component runs: two bulk statements, one transaction."""
    runs, component_runs = _rendered(items)
    with transaction.atomic():
        _insert(items, runs, component_runs, rows_insert, RunEventBuffer.store)


_runs_insert_in_thread = db(runs_insert)


def runs_insert_on_loop(items: Sequence[tuple[RunState, RunResult]]) -> bool:
    """:func:`runs_insert` on the event loop through :mod:`pipelines.loop_sqlite`; True
    when written. False, with nothing written and the runs as they were, when it has to
    be done in a thread: not SQLite, the database busy, or a file too large to store
    inline (writing it to disk would block the loop)."""
    if loop_sqlite.unavailable():
        return False
    before = [(state, state.run.status) for state, _ in items]

    def undo() -> bool:
        for state, status in before:  # the thread path renders and inserts them afresh
            state.run.status, state.run.pk = status, None
            state.store = FileStore(state.run.uid)
        return False

    for state, _ in items:
        state.store = InlineFileStore(state.run.uid)
    try:
        runs, component_runs = _rendered(items)
    except NeedsDisk:
        return undo()

    def write(cursor: Any) -> None:
        _insert(
            items,
            runs,
            component_runs,
            lambda objs: rows_insert_sqlite(cursor, objs),
            lambda buffer: buffer.store_sqlite(cursor),
        )

    return loop_sqlite.write(write) or undo()


# How often, and how far apart, a group commit tries the loop's write again while
# another process is writing, before it leaves the write to a thread that waits.
BUSY_RETRIES = 50
BUSY_RETRY_SECONDS = 0.001


class RunRecorder:
    """Group commit for sync triggers: runs that finish while a write is in flight are
    written together in the next one, so concurrent triggers share one transaction and
    one thread hop instead of queueing on the database one by one. Each trigger still
    answers only after its own run is committed."""

    def __init__(self) -> None:
        self._pending: list[tuple[RunState, RunResult, asyncio.Future[None]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def record(self, state: RunState, result: RunResult) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((state, result, future))
        if self._writing is None or self._writing.done() or self._writing.get_loop() is not asyncio.get_running_loop():
            self._writing = asyncio.get_running_loop().create_task(self._drain())
        await future

    async def _drain(self) -> None:
        busy = 0
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                items = [(state, result) for state, result, _ in batch]
                if runs_insert_on_loop(items):
                    busy = 0
                elif loop_sqlite.write_was_busy() and busy < BUSY_RETRIES:
                    # Another process holds SQLite's write lock (serve --workers): try again
                    # here in a moment, with the runs that finish meanwhile, rather than in
                    # a thread, where SQLite's busy handler sleeps 1 to 100 ms at a time.
                    busy += 1
                    self._pending[:0] = batch
                    await asyncio.sleep(BUSY_RETRY_SECONDS)
                    continue
                else:
                    busy = 0
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


recorder = RunRecorder()


def run_insert_failure(*, state: RunState, error: ServiceError) -> PipelineRun:
    """A sync run (not stored yet) that ended outside its components: stored with its
    inputs, its failure and its buffered events, in one transaction."""
    run = state.run
    run.inputs = state.inputs_rendered()
    _finish_failed(run, error)
    if state.events is not None:
        state.events.render(state.store)
    with transaction.atomic():
        run.save(force_insert=True)
        if state.events is not None:
            state.events.store()
    return run


def run_record_failure(*, run: PipelineRun, error: ServiceError, announce: bool = False) -> PipelineRun:
    """A stored run that ended outside its components: cancelled, timed out, interrupted.
    With ``announce`` (a run ended away from its executor, e.g. cancelled while queued),
    its failure events are stored and its followers told, after commit."""
    previous = run.status
    _finish_failed(run, error)
    with transaction.atomic():
        if _save_finished(run, previous_status=previous) and announce:
            run_end_announce(run, message=error.message)
    return run


def _finish_failed(run: PipelineRun, error: ServiceError) -> None:
    status = PipelineRun.Status.CANCELLED if isinstance(error, Cancelled) else PipelineRun.Status.FAILED
    run.finish(status=status, complete_time=timezone.now(), error=error.message, error_code=error.code)


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
    return instance(
        ComponentRun,
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
