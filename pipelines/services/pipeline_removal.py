"""Deleting a pipeline: its runs still in flight are cancelled first.

Apart from :mod:`pipelines.services.pipelines` because it needs the operations service
(``run_cancel``), which reaches that module through the run targets: here, neither
imports the other in a cycle (tests/test_layering.py)."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import transaction

from pipelines.errors import NotFound
from pipelines.models import Pipeline, PipelineRun
from pipelines.services.operations import run_cancel
from pipelines.services.run_files import remove_run_files

__all__ = ["pipeline_delete"]


def pipeline_delete(*, pipeline: Pipeline) -> None:
    """Delete a pipeline with its releases and runs, and (once that is committed) the
    files its runs kept on disk. Runs still queued or running are cancelled first, and
    the delete waits (up to ``PIPELINE_DELETE_WAIT_SECONDS``) until their executors
    have recorded them as cancelled, events and all: an executor still writing for a
    run whose rows are gone would lose what it writes."""
    if pipeline.pk is None:
        raise NotFound("pipeline not found")
    _runs_stopped(pipeline)
    run_uids = list(pipeline.runs.values_list("uid", flat=True))
    pipeline.delete()
    transaction.on_commit(lambda: remove_run_files(run_uids))


def _runs_stopped(pipeline: Pipeline) -> None:
    def live():
        return pipeline.runs.exclude(status__in=PipelineRun.TERMINAL)

    def cancel_new() -> None:
        for run in live().filter(cancel_requested=False):
            run_cancel(run=run)

    # A trigger may still land while the delete waits: its run is cancelled too.
    cancel_new()
    deadline = time.monotonic() + settings.PIPELINE_DELETE_WAIT_SECONDS
    while live().exists() and time.monotonic() < deadline:
        time.sleep(0.05)
        cancel_new()
