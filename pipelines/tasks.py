"""Celery tasks: thin wrappers over services."""

from __future__ import annotations

import asyncio

from celery import shared_task
from django.conf import settings


async def _execute(run_uid: str):
    from pipelines.services.operations import run_execute

    # The run's database work goes through pipelines.aio.db, whose threads refresh
    # broken or expired connections (e.g. after a database restart) before each call.
    return await run_execute(run_uid=run_uid, take_over_stale=True)


@shared_task(bind=True, name="pipelines.execute_run", acks_late=True, reject_on_worker_lost=True, max_retries=20)
def execute_run(self, run_uid: str) -> str:
    """Execute one queued run. Late ack: if this worker dies, the broker redelivers the
    message and the next worker takes the run over once its heartbeat is stale (at
    once when the dead executor was a process of this host)."""
    run = asyncio.run(_execute(run_uid))
    if run is not None:
        return run.status
    from pipelines.selectors import run_processing

    if run_processing(run_uid):
        # Another executor holds the run: alive (a duplicate delivery; we look again
        # later, cheaply) or dead on another host (its heartbeat goes stale, then we
        # take over). Workers' reapers fail it anyway if nobody does.
        raise self.retry(countdown=max(1, settings.PIPELINE_RUN_STALE_SECONDS // 2))
    return "not-claimed"
