"""The run event log: every event of every run is stored, then broadcast.

Two ways in, by when the run row exists:

- :class:`RunEventLog` for runs stored before they execute (async runs, streamed
  triggers): events are written as they come, in group commits — events that arrive
  while a write is in flight go together in the next one, so an LLM streaming tokens
  costs a write per burst, not per token — and each batch is broadcast to the run's
  followers after it is committed (:mod:`pipelines.realtime`).
- :class:`RunEventBuffer` for plain sync triggers, whose run row is written only when
  they end (one transaction for the run, its component runs and its events): nobody
  can follow a run that does not exist yet, so there is nothing to broadcast.

Payloads are stored as JSON text rendered with the run's :class:`FileStore`, so a
large File is written to the run's files once and every event refers to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from asgiref.sync import async_to_sync
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db.models import Max
from django.utils import timezone

from pipelines import loop_sqlite, realtime
from pipelines.aio import db
from pipelines.engine import (
    ComponentEvent,
    ComponentOutputUpdated,
    Event,
    PipelineErrorUpdated,
    PipelineOutputUpdated,
    PipelineStatusUpdated,
    json_bytes,
)
from pipelines.models import PipelineRun, RunEvent
from pipelines.selectors import run_state, run_state_on_loop
from pipelines.services.bulk import sqlite_datetime_adapter
from pipelines.services.run_files import FileStore, InlineFileStore, NeedsDisk

logger = logging.getLogger("pipelines.runs")

StoredEvent = tuple[int, str, str]


# Rendered for storage: (seq, name, payload JSON text) with the event's time.
Rendered = tuple[StoredEvent, datetime]


def coalesce(events: Sequence[Event]) -> list[Event]:
    """``events`` without the cumulative outputs that a later one in the same batch
    supersedes: a component's ``COMPONENT_OUTPUT_UPDATED`` followed by another for the
    same component and row with only output events between (a streaming LLM's
    tokens), and likewise a row's ``PIPELINE_OUTPUT_UPDATED``. Each carries everything
    so far, so storing every one would grow with the square of an answer's length;
    the last of each burst is kept, and the sequence numbers show the gap."""
    keep = [True] * len(events)
    component_pending: dict[tuple[str, int], int] = {}
    pipeline_pending: dict[int, int] = {}
    for index, event in enumerate(events):
        if event.name == ComponentOutputUpdated.name:
            key = (cast(ComponentEvent, event).component_id, event.batch_index)
            if (earlier := component_pending.get(key)) is not None:
                keep[earlier] = False
            component_pending[key] = index
        elif event.name == PipelineOutputUpdated.name:
            if (earlier := pipeline_pending.get(event.batch_index)) is not None:
                keep[earlier] = False
            pipeline_pending[event.batch_index] = index
        else:  # anything else about a component or row ends its burst
            if isinstance(event, ComponentEvent):
                component_pending.pop((event.component_id, event.batch_index), None)
            pipeline_pending.pop(event.batch_index, None)
    return [event for event, kept in zip(events, keep, strict=True) if kept]


def events_render(events: Sequence[Event], store: FileStore) -> list[Rendered]:
    return [((e.seq, e.name, json_bytes(e.payload(store)).decode()), e.update_time) for e in coalesce(events)]


def _events_statement(run_pk: int, rendered: Sequence[Rendered], placeholder: str) -> tuple[str, list[tuple]]:
    connection = connections[DEFAULT_DB_ALIAS]  # its operations only: quoting, datetimes
    table = connection.ops.quote_name(RunEvent._meta.db_table)
    marks = ", ".join([placeholder] * 5)
    adapt = connection.ops.adapt_datetimefield_value
    rows = [(run_pk, seq, name, payload, adapt(t)) for (seq, name, payload), t in rendered]
    return f"INSERT INTO {table} (run_id, seq, name, payload, time) VALUES ({marks})", rows


def events_insert(run_pk: int, rendered: Sequence[Rendered]) -> None:
    """One ``executemany`` for a batch: the ORM's per-object cost would double a small
    trigger's write."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.executemany(*_events_statement(run_pk, rendered, "%s"))


def events_insert_sqlite(cursor, run_pk: int, rendered: Sequence[Rendered]) -> None:
    """:func:`events_insert` through a plain ``sqlite3`` cursor (pipelines/loop_sqlite.py),
    its statement and time conversion looked up once (see :func:`bulk.rows_insert_sqlite`)."""
    global _sqlite_plan
    if _sqlite_plan is None:
        connection = connections[DEFAULT_DB_ALIAS]
        generic = connection.ops.adapt_datetimefield_value
        adapt = sqlite_datetime_adapter(connection, generic) or generic
        _sqlite_plan = (_events_statement(run_pk, (), "?")[0], adapt)
    sql, adapt = _sqlite_plan
    cursor.executemany(sql, [(run_pk, seq, name, payload, adapt(t)) for (seq, name, payload), t in rendered])


_sqlite_plan: tuple[str, Callable[[datetime], Any]] | None = None


def failure_events(*, message: str, rows: int, last_seq: int, now: datetime) -> list[Event]:
    """A run stopped outside its components (time limit, cancel, internal error): each
    row gets ``PIPELINE_ERROR_UPDATED`` then a final errored ``PIPELINE_STATUS_UPDATED``."""
    events: list[Event] = []
    for row in range(rows):
        last_seq += 1
        events.append(PipelineErrorUpdated(batch_index=row, seq=last_seq, update_time=now, message=message))
        last_seq += 1
        events.append(
            PipelineStatusUpdated(batch_index=row, seq=last_seq, update_time=now, errored=True, completed=True)
        )
    return events


class RunEventBuffer:
    """Events of a run kept in memory until the run itself is written."""

    def __init__(self, run: PipelineRun) -> None:
        self.run = run
        self.events: list[Event] = []
        self.last_seq = 0
        self._rendered: list[Rendered] = []

    def append(self, event: Event) -> None:
        self.events.append(event)
        self.last_seq = event.seq

    def render(self, store: FileStore) -> None:
        """Render the events for storage with the run's ``store`` — before the
        transaction the run shares with others, so that one run's unusual values cannot
        fail everyone's write."""
        try:
            self._rendered = events_render(self.events, store)
        except NeedsDisk:
            raise
        except Exception:  # noqa: BLE001 - the run is still recorded, without its events
            logger.exception("could not render the events of run %s", self.run.uid)
            self._rendered = []

    def store(self) -> None:
        """Write the rendered events (inside the caller's transaction, after the run row)."""
        if self._rendered:
            events_insert(self.run.pk, self._rendered)

    def store_sqlite(self, cursor) -> None:
        """:meth:`store` through a plain ``sqlite3`` cursor (pipelines/loop_sqlite.py)."""
        if self._rendered:
            events_insert_sqlite(cursor, self.run.pk, self._rendered)

    async def close(self) -> None:
        return None


def _log_write(run: PipelineRun, store: FileStore, events: list[Event]) -> list[StoredEvent]:
    rendered = events_render(events, store)
    events_insert(run.pk, rendered)
    return [row for row, _ in rendered]


_log_write_in_thread = db(_log_write)


def _log_write_on_loop(run: PipelineRun, events: list[Event]) -> list[StoredEvent] | None:
    """:func:`_log_write` on the event loop through :mod:`pipelines.loop_sqlite`; None,
    with nothing written, when it has to be done in a thread (not SQLite, the database
    busy, a file too large to store inline)."""
    if loop_sqlite.unavailable():
        return None
    try:
        # A throw-away inline store renders small files as the run's store does; a
        # large one is left to the thread path, which writes it once.
        rendered = events_render(events, InlineFileStore(run.uid))
    except NeedsDisk:
        return None
    if loop_sqlite.write(lambda cursor: events_insert_sqlite(cursor, run.pk, rendered)):
        return [row for row, _ in rendered]
    return None


class RunEventLog:
    """Events of a stored run, written in group commits and broadcast after each; their
    files go through the run's ``store``."""

    def __init__(self, run: PipelineRun, store: FileStore) -> None:
        self.run = run
        self.store = store
        self.last_seq = 0
        self._pending: list[Event] = []
        self._writing: asyncio.Task | None = None

    def append(self, event: Event) -> None:
        self._pending.append(event)
        self.last_seq = event.seq
        if self._writing is None or self._writing.done():
            self._writing = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                rows = _log_write_on_loop(self.run, batch)
                if rows is None:
                    rows = await _log_write_in_thread(self.run, self.store, batch)
            except Exception:  # noqa: BLE001 - the run goes on; its history lacks these events
                logger.exception("could not store %d event(s) of run %s", len(batch), self.run.uid)
                continue
            try:
                await realtime.events_broadcast(run_uid=self.run.uid, events=rows)
            except Exception:  # noqa: BLE001 - followers re-read the log on their next wake-up
                logger.exception("could not broadcast events of run %s", self.run.uid)

    async def close(self) -> None:
        """Wait until every appended event is stored and broadcast."""
        while self._writing is not None and not self._writing.done():
            await asyncio.shield(self._writing)
        if self._pending:
            await self._drain()


_state_in_thread = db(run_state)


async def run_end_broadcast(run_uid) -> None:
    """Tell followers how the run ended, as stored: an executor whose result was not
    written (the run was failed elsewhere meanwhile) must not announce its own."""
    state = run_state_on_loop(run_uid)
    if state is False:
        state = await _state_in_thread(run_uid)
    if state is not None and state[0]:
        await realtime.end_broadcast(run_uid=run_uid, status=state[1], error=state[2])


async def _announce(run_uid, rows: list[StoredEvent], status: str, error: str) -> None:
    await realtime.events_broadcast(run_uid=run_uid, events=rows)
    await realtime.end_broadcast(run_uid=run_uid, status=status, error=error)


def run_end_announce(run: PipelineRun, *, message: str) -> None:
    """A run that ended away from its executor (cancelled while queued, its worker
    gone): store each row's failure events after what the log has, and tell the
    followers after commit. Call after the run's end is saved, in its transaction."""
    last = RunEvent.objects.filter(run_id=run.pk).aggregate(last=Max("seq"))["last"] or 0
    events = failure_events(message=message, rows=max(1, len(run.inputs or [])), last_seq=last, now=timezone.now())
    rendered = events_render(events, FileStore(run.uid))  # failure events hold no files
    try:
        with transaction.atomic():  # a savepoint: a late event of a live executor may hold these seqs
            events_insert(run.pk, rendered)
    except IntegrityError:
        rendered = []
    rows = [row for row, _ in rendered]
    uid, status, error = run.uid, run.status, run.error
    transaction.on_commit(lambda: async_to_sync(_announce)(uid, rows, status, error))
