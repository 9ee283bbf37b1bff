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
from collections.abc import Sequence
from datetime import datetime

import orjson
from django.db import DEFAULT_DB_ALIAS, connections

from pipelines import realtime
from pipelines.aio import db
from pipelines.engine import Event, PipelineErrorUpdated, PipelineStatusUpdated
from pipelines.models import PipelineRun, RunEvent
from pipelines.services.run_files import FileStore

logger = logging.getLogger("pipelines.runs")

StoredEvent = tuple[int, str, str]


def file_store(run: PipelineRun) -> FileStore:
    """The run's one FileStore, shared by its events and its outputs (each File written once)."""
    store = getattr(run, "_file_store", None)
    if store is None:
        store = run._file_store = FileStore(run.uid)
    return store


def events_render(events: Sequence[Event], store: FileStore) -> list[StoredEvent]:
    return [(e.seq, e.name, orjson.dumps(e.payload(store)).decode()) for e in events]


_INSERT = None


def events_insert(run_pk: int, rows: Sequence[StoredEvent], times: Sequence[datetime]) -> None:
    """One ``executemany`` for a batch: the ORM's per-object cost would double a small
    trigger's write."""
    global _INSERT
    connection = connections[DEFAULT_DB_ALIAS]
    if _INSERT is None:
        table = connection.ops.quote_name(RunEvent._meta.db_table)
        _INSERT = f"INSERT INTO {table} (run_id, seq, name, payload, time) VALUES (%s, %s, %s, %s, %s)"
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(_INSERT, [(run_pk, seq, name, payload, adapt(t)) for (seq, name, payload), t in zip(rows, times)])


def failure_events(*, message: str, rows: int, last_seq: int, now: datetime) -> list[Event]:
    """A run stopped outside its components (time limit, cancel, internal error): each
    row gets ``PIPELINE_ERROR_UPDATED`` then a final errored ``PIPELINE_STATUS_UPDATED``."""
    events: list[Event] = []
    for row in range(rows):
        last_seq += 1
        events.append(PipelineErrorUpdated(batch_index=row, seq=last_seq, update_time=now, message=message))
        last_seq += 1
        events.append(PipelineStatusUpdated(batch_index=row, seq=last_seq, update_time=now, errored=True, completed=True))
    return events


class RunEventBuffer:
    """Events of a run kept in memory until the run itself is written."""

    def __init__(self, run: PipelineRun) -> None:
        self.run = run
        self.events: list[Event] = []
        self.last_seq = 0

    def append(self, event: Event) -> None:
        self.events.append(event)
        self.last_seq = event.seq

    def store(self) -> None:
        """Write the buffered events (inside the caller's transaction, after the run row)."""
        if self.events:
            events_insert(self.run.pk, events_render(self.events, file_store(self.run)), [e.update_time for e in self.events])

    async def close(self) -> None:
        return None


def _log_write(run: PipelineRun, events: list[Event]) -> list[StoredEvent]:
    rows = events_render(events, file_store(run))
    events_insert(run.pk, rows, [e.update_time for e in events])
    return rows


_log_write_in_thread = db(_log_write)


class RunEventLog:
    """Events of a stored run, written in group commits and broadcast after each."""

    def __init__(self, run: PipelineRun) -> None:
        self.run = run
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
                rows = await _log_write_in_thread(self.run, batch)
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
