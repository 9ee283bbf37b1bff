"""Asynchronous runs: enqueue, execute on an executor, cancel, poll as operations.

An async trigger is validated exactly like a sync one, stored as ``QUEUED`` and handed
to the executor after commit. Whoever executes it (the serving process's worker pool
or a Celery worker) first *claims* it with a conditional update, so a run executes
at most once at a time; while executing it writes a heartbeat, and watches for a
cancel request. Runs whose heartbeat went stale (their process died) are failed, or
re-queued when the executor redelivers (Celery with late acknowledgement).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from pipelines import executors
from pipelines.aio import db
from pipelines.components import default_registry
from pipelines.engine import parse_recipe, to_json
from pipelines.errors import ABORTED, INTERNAL, AlreadyExists, Cancelled, InvalidArgument, NotFound, ServiceError
from pipelines.models import IdempotencyKey, PipelineRun
from pipelines.models import run_uid as new_run_uid
from pipelines.services.run_events import run_end_announce
from pipelines.services.run_execution import local_cancels, run_stored, run_trigger, worker_id
from pipelines.services.run_files import FileStore, as_data_uris, as_files
from pipelines.services.run_handoff import Claimed, queued_run, run_claim_kept
from pipelines.services.run_inputs import TriggerRow, bind_rows
from pipelines.services.run_records import RunState, run_record_failure
from pipelines.services.run_targets import TriggerTarget, run_secrets
from pipelines.services.secrets import decrypt

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger("pipelines.runs")


INTERRUPTED = "interrupted by a restart: the process executing this run stopped before it finished"


# --- idempotency --------------------------------------------------------------------


def request_fingerprint(*, target: TriggerTarget, rows: list[TriggerRow], mode: str) -> str:
    """What an Idempotency-Key is compared against: the request, per-row secret overrides
    included. Keyed with SECRET_KEY (HMAC), so a stored fingerprint cannot confirm a
    guess of an override offline."""
    body = json.dumps(
        {"p": str(target.pipeline.uid), "v": target.version, "m": mode, "rows": [[r.variable, r.secret] for r in rows]},
        sort_keys=True,
        default=str,
    )
    key = hashlib.sha256(b"pipeline-idempotency:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


MAX_IDEMPOTENCY_KEY_LENGTH = 255  # IdempotencyKey.key's column


def idempotency_key_checked(key: str | None) -> str | None:
    """A trigger's ``Idempotency-Key`` as sent (None for none or an empty one); 400 naming
    the header when it is longer than the keys we keep."""
    if key and len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise InvalidArgument(
            f"Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters (this one has {len(key)})",
            field="Idempotency-Key",
        )
    return key or None


def idempotent_run(*, user: User, key: str, fingerprint: str) -> PipelineRun | None:
    """The run an earlier request with this key made, or None; 409 when the body differs."""
    idempotency_key_checked(key)
    since = timezone.now() - timedelta(seconds=settings.PIPELINE_IDEMPOTENCY_SECONDS)
    IdempotencyKey.objects.filter(user=user, key=key, create_time__lt=since).delete()
    row = IdempotencyKey.objects.filter(user=user, key=key).select_related("run").first()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise AlreadyExists(
            "this Idempotency-Key was already used with a different request; use a new key for a new request",
            field="Idempotency-Key",
        )
    return row.run


def idempotency_remember(*, user: User, key: str, fingerprint: str, run: PipelineRun) -> None:
    try:
        with transaction.atomic():
            IdempotencyKey.objects.create(user=user, key=key, request_hash=fingerprint, run=run)
    except IntegrityError as exc:  # a concurrent twin won; the caller retries and finds it
        raise AlreadyExists("a request with this Idempotency-Key is in progress", field="Idempotency-Key") from exc


def idempotency_remember_quietly(*, user: User, key: str, fingerprint: str, run_uid) -> None:
    """After a sync run: remember the key; a concurrent twin that got there first wins."""
    run = PipelineRun.objects.get(uid=run_uid)
    try:
        idempotency_remember(user=user, key=key, fingerprint=fingerprint, run=run)
    except AlreadyExists:
        pass


def sync_response(run: PipelineRun, *, full: bool) -> dict[str, Any]:
    """A sync trigger's answer rebuilt from a recorded run (idempotent repeats)."""
    if not run.is_terminal:
        raise AlreadyExists("the request with this Idempotency-Key is still running", field="Idempotency-Key")
    traces = (
        as_data_uris(run.traces, run_uid=run.uid)
        if full
        else {cid: {**trace, "inputs": [], "outputs": []} for cid, trace in (run.traces or {}).items()}
    )
    return {"outputs": as_data_uris(run.outputs, run_uid=run.uid), "metadata": {"traces": traces}}


async def run_trigger_once(
    *,
    target: TriggerTarget,
    rows: list[TriggerRow],
    requester: User,  # async triggers are API calls: always signed in
    source: str,
    return_traces: bool,
    idempotency_key: str | None,
) -> dict[str, Any]:
    """A sync trigger's answer; with an ``Idempotency-Key``, a repeat within the window
    answers from the recorded run instead of running again (409 for another body)."""
    if not idempotency_key:
        outcome = await run_trigger(
            target=target, rows=rows, requester=requester, source=source, return_traces=return_traces
        )
        return outcome.response
    fingerprint = request_fingerprint(target=target, rows=rows, mode="sync")
    earlier = await _idempotent_run_in_thread(user=requester, key=idempotency_key, fingerprint=fingerprint)
    if earlier is not None:
        return sync_response(earlier, full=return_traces)
    outcome = await run_trigger(
        target=target, rows=rows, requester=requester, source=source, return_traces=return_traces
    )
    await _remember_in_thread(user=requester, key=idempotency_key, fingerprint=fingerprint, run_uid=outcome.run_uid)
    return outcome.response


_idempotent_run_in_thread = db(idempotent_run)
_remember_in_thread = db(idempotency_remember_quietly)


# --- enqueue ------------------------------------------------------------------------


def run_enqueue(
    *,
    target: TriggerTarget,
    rows: list[TriggerRow],
    requester: User,  # async triggers are API calls: always signed in
    source: str = PipelineRun.Source.API,
    idempotency_key: str | None = None,
) -> PipelineRun:
    """Validate like a sync trigger, store the run QUEUED, hand it to the executor after commit."""
    fingerprint = request_fingerprint(target=target, rows=rows, mode="async") if idempotency_key else ""
    if idempotency_key:
        earlier = idempotent_run(user=requester, key=idempotency_key, fingerprint=fingerprint)
        if earlier is not None:
            return earlier
    bound = bind_rows(target, rows)
    overrides = [row.secret for row in rows]
    run_uid = new_run_uid()
    store = FileStore(run_uid)
    inputs = [to_json(row, store) for row in bound]
    run = queued_run(
        run_uid=run_uid, target=target, requester=requester, source=source, inputs=inputs, overrides=overrides
    )
    with transaction.atomic():
        run.save(force_insert=True)
        if idempotency_key:
            idempotency_remember(user=requester, key=idempotency_key, fingerprint=fingerprint, run=run)
        chosen = executor()
        transaction.on_commit(lambda: chosen.submit(run.uid))
    return run


# --- executors ----------------------------------------------------------------------


class Executor(Protocol):
    """Where queued runs execute (:mod:`pipelines.executors`)."""

    def submit(self, run_uid: uuid.UUID) -> None:
        """Execute the committed QUEUED run ``run_uid`` (later, elsewhere)."""
        ...

    def start(self) -> None: ...

    def resume_queued(self) -> int:
        """Take every run still QUEUED (start-up after a restart); how many."""
        ...


def executor() -> Executor:
    """This process's executor (``PIPELINE_EXECUTOR``), given this module's functions
    to execute, recover and resume runs with."""
    return _executor_for(settings.PIPELINE_EXECUTOR, settings.PIPELINE_WORKER_CONCURRENCY)


@cache
def _executor_for(kind: str, concurrency: int) -> Executor:
    if kind == "celery":
        return executors.CeleryExecutor(unqueued=_fail_unqueued)
    if kind == "inprocess":
        return executors.InProcessExecutor(
            concurrency,
            execute=lambda run_uid: run_execute(run_uid=run_uid),
            recover=runs_recover,
            queued=queued_run_uids,
        )
    raise ValueError(f"PIPELINE_EXECUTOR must be 'inprocess' or 'celery', not {kind!r}")


def _fail_unqueued(run_uid: uuid.UUID, exc: Exception) -> None:
    """A run the task broker did not take ends failed, its followers told."""
    run = PipelineRun.objects.filter(uid=run_uid, status=PipelineRun.Status.QUEUED).first()
    if run is not None:
        error = ServiceError(f"the run could not be queued: the task broker is unreachable ({type(exc).__name__})")
        run_record_failure(run=run, error=error, announce=True)


# --- execute ------------------------------------------------------------------------


def run_claim(*, run_uid: uuid.UUID | str, worker: str | None = None, take_over_stale: bool = False) -> Claimed | None:
    """Mark a queued run PROCESSING for ``worker``; None when it is not ours to run.

    With ``take_over_stale`` a PROCESSING run whose heartbeat is stale, or whose
    executor is a process of this host that no longer exists, is taken over too (a
    redelivered Celery task whose first worker process died).
    """
    worker = worker or worker_id()
    now = timezone.now()
    queryset = PipelineRun.objects.filter(uid=run_uid)
    claimed = queryset.filter(status=PipelineRun.Status.QUEUED, cancel_requested=False).update(
        status=PipelineRun.Status.PROCESSING, worker=worker, heartbeat_time=now, start_time=now
    )
    if not claimed and take_over_stale:
        stale = now - timedelta(seconds=settings.PIPELINE_RUN_STALE_SECONDS)
        claimed = queryset.filter(status=PipelineRun.Status.PROCESSING, heartbeat_time__lt=stale).update(
            worker=worker, heartbeat_time=now, start_time=now
        )
        if not claimed:
            # The first worker process was killed (e.g. OOM, kill -9) and Celery redelivered
            # the task at once: no need to wait for the heartbeat to go stale.
            current = queryset.filter(status=PipelineRun.Status.PROCESSING).values_list("worker", flat=True).first()
            if current and current != worker and not _process_alive(current):
                claimed = queryset.filter(status=PipelineRun.Status.PROCESSING, worker=current).update(
                    worker=worker, heartbeat_time=now, start_time=now
                )
    if not claimed:
        _cancel_if_requested(run_uid)
        return None
    run = PipelineRun.objects.select_related("pipeline__namespace", "release", "requester").get(uid=run_uid)
    recipe = parse_recipe(run.recipe_snapshot or {}, registry=default_registry())
    snapshot_text = json.dumps(run.recipe_snapshot)
    namespace_secrets = run_secrets(
        namespace_id=run.pipeline.namespace_id, recipe=recipe, raw=snapshot_text, strict=False
    )
    overrides = json.loads(decrypt(run.pending_secrets)) if run.pending_secrets else [{} for _ in run.inputs]
    target = TriggerTarget(
        pipeline=run.pipeline, release=run.release, recipe=recipe, permission=None, namespace_secrets=namespace_secrets
    )
    inputs = as_files(run.inputs, run_uid=run.uid)
    rows = [
        TriggerRow(variable=values or {}, secret=secret or {}) for values, secret in zip(inputs, overrides, strict=True)
    ]
    return Claimed(run=run, target=target, rows=rows)


_claim_in_thread = db(run_claim)


def _cancel_if_requested(run_uid) -> None:
    """A queued run cancelled before anyone claimed it ends here."""
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().filter(uid=run_uid).first()
        if run is not None and run.status == PipelineRun.Status.QUEUED and run.cancel_requested:
            run_record_failure(run=run, error=Cancelled("the run was cancelled"), announce=True)


async def run_execute(*, run_uid, worker: str | None = None, take_over_stale: bool = False) -> PipelineRun | None:
    """Execute a queued run to its end and record it. Returns None when it was not ours."""
    worker = worker or worker_id()
    claimed = None if take_over_stale else run_claim_kept(run_uid=run_uid, worker=worker)
    if claimed is None:
        claimed = await _claim_in_thread(run_uid=run_uid, worker=worker, take_over_stale=take_over_stale)
    if claimed is None:
        return None
    run, target = claimed.run, claimed.target
    bound = bind_rows(target, claimed.rows)
    secrets = [{**target.namespace_secrets, **row.secret} for row in claimed.rows]
    try:
        await run_stored(state=RunState.of(run, bound), target=target, secrets=secrets)
    except ServiceError:
        pass  # recorded on the run: the operation reports it
    return run


# --- cancel, recovery, polling --------------------------------------------------------


def run_cancel(*, run: PipelineRun) -> PipelineRun:
    """Ask a queued or running run to stop; a queued one is cancelled at once."""
    if run.is_terminal:
        return run
    with transaction.atomic():
        locked = PipelineRun.objects.select_for_update().get(pk=run.pk)
        locked.cancel_requested = True
        locked.save(update_fields=["cancel_requested"])
        if locked.status == PipelineRun.Status.QUEUED:
            run_record_failure(run=locked, error=Cancelled("the run was cancelled"), announce=True)
    event = local_cancels.get(str(run.uid))
    if event is not None:
        event.set()
    return PipelineRun.objects.select_related("pipeline__namespace", "requester").get(pk=run.pk)


def _process_alive(worker: str) -> bool:
    """Whether ``host:pid`` names a live process on this host (other hosts: assume alive)."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def runs_recover(*, dead_processes: bool = True) -> int:
    """Fail PROCESSING runs whose executor is gone; returns how many.

    Gone means: a process on this host that no longer exists (found at once, e.g.
    right after a restart; skipped with ``dead_processes=False``, which leaves such
    runs to a redelivered Celery task for a while), or any executor whose heartbeat
    is older than ``PIPELINE_RUN_STALE_SECONDS`` (another host died).
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.PIPELINE_RUN_STALE_SECONDS)
    processing = PipelineRun.objects.filter(status=PipelineRun.Status.PROCESSING)
    gone = [
        run
        for run in processing.only("pk", "uid", "worker", "heartbeat_time", "start_time", "status")
        if (run.heartbeat_time is not None and run.heartbeat_time < stale)
        or (dead_processes and not _process_alive(run.worker))
    ]
    count = 0
    for run in gone:
        duration = round((now - run.start_time).total_seconds() * 1000) if run.start_time else None
        with transaction.atomic():
            updated = PipelineRun.objects.filter(
                pk=run.pk, status=PipelineRun.Status.PROCESSING, worker=run.worker
            ).update(
                status=PipelineRun.Status.FAILED,
                complete_time=now,
                error=INTERRUPTED,
                error_code=ABORTED,
                pending_secrets="",
                total_duration_ms=duration,
            )
            if updated:
                run.status, run.error = PipelineRun.Status.FAILED, INTERRUPTED
                run_end_announce(run, message=INTERRUPTED)
        count += updated
    if count:
        logger.warning("marked %d interrupted run(s) as failed", count)
    return count


def queued_run_uids(limit: int = 1000) -> list[uuid.UUID]:
    return list(
        PipelineRun.objects.filter(status=PipelineRun.Status.QUEUED)
        .order_by("create_time", "id")
        .values_list("uid", flat=True)[:limit]
    )


def operation_get(*, operation_id: str, user: User) -> PipelineRun:
    """The run behind an operation, for its requester or the pipeline's owner; else NotFound."""
    from pipelines.selectors import run_for_follower

    try:
        uuid.UUID(operation_id)
    except ValueError as exc:
        # Not echoed: the id can be anything a client sent (10,000 characters over gRPC).
        raise NotFound("operation not found: operation ids are the UUIDs that async triggers answer") from exc
    try:
        return run_for_follower(requester=user, run_uid=operation_id)
    except NotFound as exc:
        raise NotFound(f'operation "{operation_id}" not found') from exc


@dataclass(frozen=True)
class OperationState:
    """An async trigger's run as an operation, before any wire shapes it: done or not,
    then failed (a google.rpc code and message) or answered (outputs and traces, files
    as data URIs)."""

    run_uid: uuid.UUID
    done: bool
    error_code: int | None = None
    error: str = ""
    outputs: Any = None
    traces: Any = None

    @property
    def name(self) -> str:
        return f"operations/{self.run_uid}"


def operation_state(run: PipelineRun) -> OperationState:
    if not run.is_terminal:
        return OperationState(run_uid=run.uid, done=False)
    if run.status == PipelineRun.Status.CANCELLED or (run.status == PipelineRun.Status.FAILED and run.error_code):
        return OperationState(run_uid=run.uid, done=True, error_code=run.error_code or INTERNAL, error=run.error)
    return OperationState(
        run_uid=run.uid,
        done=True,
        outputs=as_data_uris(run.outputs, run_uid=run.uid),
        traces=as_data_uris(run.traces, run_uid=run.uid),
    )
