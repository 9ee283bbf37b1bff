"""Celery tasks: thin wrappers over services."""

from __future__ import annotations

import asyncio

from celery import shared_task


@shared_task(name="pipelines.execute_run", acks_late=True, reject_on_worker_lost=True)
def execute_run(run_uid: str) -> str:
    """Execute one queued run. Late ack: if this worker dies, the broker redelivers the
    message and the next worker takes the run over once its heartbeat is stale."""
    from pipelines.services.operations import run_execute

    run = asyncio.run(run_execute(run_uid=run_uid, take_over_stale=True))
    return run.status if run is not None else "not-claimed"
