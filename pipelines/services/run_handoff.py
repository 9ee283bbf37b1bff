"""Async runs of the in-process executor without a thread hop: enqueued on the event
loop's SQLite connection, handed to the executor in memory, claimed with one update.

The general path (:mod:`pipelines.services.operations`) stores a queued run in a
thread, and the executor reads it back in a thread: the run with its pipeline, its
release and its requester, its recipe parsed again, its secrets resolved, its inputs
turned back into rows. For the common async trigger — a pipeline whose recipe needs no
namespace secrets or connections, inputs stored inline, the in-process executor, on
SQLite — all of that is what the enqueuing request already held. So the request
stores the run on the loop (:mod:`pipelines.loop_sqlite`) and keeps what the executor
needs by uid (:func:`run_enqueue_on_loop`); the executor claims the run with the same
conditional ``QUEUED → PROCESSING`` update as the general path, on its own loop, and
takes the rest from memory (:func:`run_claim_kept`). The database stays the truth: a
run is executed only by whoever claimed it there, a run cancelled while queued fails
the claim (the general path then ends it), and a run whose kept copy is gone
(too many queued, a restart) is read back from the database as before.
"""

from __future__ import annotations

import copy
import functools
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from pipelines import loop_sqlite
from pipelines.engine import to_json
from pipelines.models import PipelineRun
from pipelines.models import run_uid as new_run_uid
from pipelines.services.bulk import rows_insert_sqlite, sqlite_adapters
from pipelines.services.run_files import InlineFileStore, NeedsDisk
from pipelines.services.run_inputs import TriggerRow, bind_rows
from pipelines.services.run_targets import TriggerTarget
from pipelines.services.secrets import encrypt


@dataclass
class Claimed:
    """A run claimed for execution by this process, with what it runs."""

    run: PipelineRun
    target: TriggerTarget
    rows: list[TriggerRow]


# Queued runs this process stored and will execute, by uid. Bounded, so that a flood
# of async triggers queues in the database rather than in memory: past the bound, the
# executor reads the runs back from the database.
_kept: dict[uuid.UUID, Claimed] = {}
KEPT_MAX = 1000


def handoff_possible(target: TriggerTarget) -> bool:
    """Whether an async trigger of ``target`` may take this path (see the module)."""
    raw = target.release.raw_recipe if target.release is not None else target.pipeline.raw_recipe
    return (
        settings.PIPELINE_EXECUTOR == "inprocess"
        and not target.draft
        and not target.namespace_secrets
        # The general path resolves secrets and connections when the run starts.
        and "secret" not in raw
        and "connection" not in raw
        and not loop_sqlite.unavailable()
    )


def run_enqueue_on_loop(
    *, target: TriggerTarget, rows: list[TriggerRow], requester: Any, source: str, submit
) -> PipelineRun | None:
    """Store the run QUEUED on the loop and ``submit(uid)`` it after commit, keeping what
    its execution needs. None, with nothing stored, when the general path (in a
    thread) has to do it: see :func:`handoff_possible`, the database busy, a file input
    too large to store inline. Bad input raises as on the general path."""
    if not handoff_possible(target):
        return None
    bound = bind_rows(target, rows)
    overrides = [row.secret for row in rows]
    run_uid = new_run_uid()
    try:
        inputs = [to_json(row, InlineFileStore(run_uid)) for row in bound]
    except NeedsDisk:
        return None
    run = queued_run(
        run_uid=run_uid, target=target, requester=requester, source=source, inputs=inputs, overrides=overrides
    )
    if not loop_sqlite.write(lambda cursor: rows_insert_sqlite(cursor, [run])):
        return None
    if len(_kept) < KEPT_MAX:
        # The rows as the general path reads them back (the stored inputs, inline
        # only, with their secrets), and a copy of the run: the executor's thread
        # changes its own while the caller answers from this one.
        kept_rows = [
            TriggerRow(variable=values or {}, secret=secret or {})
            for values, secret in zip(inputs, overrides, strict=True)
        ]
        _kept[run_uid] = Claimed(run=copy.copy(run), target=target, rows=kept_rows)
    submit(run_uid)
    return run


def queued_run(
    *,
    run_uid: uuid.UUID,
    target: TriggerTarget,
    requester: Any,
    source: str,
    inputs: list[Any],
    overrides: list[dict[str, str]],
) -> PipelineRun:
    """An async trigger's run as it is stored QUEUED (not saved): its inputs as stored,
    its rows' secret overrides encrypted until it runs."""
    return PipelineRun(
        uid=run_uid,
        pipeline=target.pipeline,
        release=target.release,
        pipeline_version=target.version,
        status=PipelineRun.Status.QUEUED,
        source=source,
        requester=requester if getattr(requester, "is_authenticated", False) else None,
        inputs=inputs,
        recipe_snapshot=target.recipe.raw,
        draft=target.draft,
        pending_secrets=encrypt(json.dumps(overrides)) if any(overrides) else "",
    )


def run_claim_kept(*, run_uid: uuid.UUID | str, worker: str) -> Claimed | None:
    """Claim a run this process enqueued on the loop (:func:`run_enqueue_on_loop`) from
    the executor's loop: ``QUEUED → PROCESSING`` for ``worker`` if no one took it and
    no cancel was asked, as the general claim does. None when the general claim has
    to decide (not kept, not claimed here, the database busy)."""
    key = run_uid if isinstance(run_uid, uuid.UUID) else uuid.UUID(str(run_uid))
    kept = _kept.pop(key, None)
    if kept is None:
        return None
    now = timezone.now()
    sql, adapt_time = _claim_statement()
    values = (worker, adapt_time(now), adapt_time(now), key.hex)
    claimed = []

    def claim(cursor: Any) -> None:
        cursor.execute(sql, values)
        claimed.append(cursor.rowcount == 1)

    if not loop_sqlite.write(claim) or not claimed[0]:
        return None
    run = kept.run
    run.transition(PipelineRun.Status.PROCESSING)
    run.worker, run.heartbeat_time, run.start_time = worker, now, now
    return kept


@functools.cache
def _claim_statement() -> tuple[str, Any]:
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    adapt_time = dict(sqlite_adapters(PipelineRun, connection))["start_time"]
    sql = (
        f"UPDATE {quote(PipelineRun._meta.db_table)} SET {quote('status')} = '{PipelineRun.Status.PROCESSING}', "
        f"{quote('worker')} = ?, {quote('heartbeat_time')} = ?, {quote('start_time')} = ? "
        f"WHERE {quote('uid')} = ? AND {quote('status')} = '{PipelineRun.Status.QUEUED}' "
        f"AND {quote('cancel_requested')} = 0"
    )
    return sql, adapt_time


def kept_clear() -> None:
    """Forget every kept run (tests; the runs are read back from the database)."""
    _kept.clear()
