"""Where async runs execute: in the serving process (default) or on Celery workers.

Both take a run uid after its row is committed (``transaction.on_commit``) and end by
calling :func:`pipelines.services.operations.run_execute`. Switching is the
``PIPELINE_EXECUTOR`` setting only.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from functools import cache

from django.conf import settings

logger = logging.getLogger("pipelines.executors")


class InProcessExecutor:
    """A bounded pool of workers on a private event loop in a daemon thread.

    ``PIPELINE_WORKER_CONCURRENCY`` runs execute at once; the rest wait in FIFO order
    in an unbounded queue of uids (a uid is tiny, the run's data stays in the database),
    so a flood of async triggers queues instead of exhausting memory. The pool's own
    loop keeps async runs from competing with request handling on the server's loop.
    """

    def __init__(self, concurrency: int) -> None:
        self.concurrency = max(1, concurrency)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None
        self._started = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="pipeline-executor", daemon=True)
            self._thread.start()
        self._started.wait()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._queue = asyncio.Queue()
        for index in range(self.concurrency):
            loop.create_task(self._worker(index))
        loop.create_task(self._reaper())
        self._started.set()
        loop.run_forever()

    async def _worker(self, index: int) -> None:
        from pipelines.services.operations import run_execute

        assert self._queue is not None
        while True:
            run_uid = await self._queue.get()
            try:
                await run_execute(run_uid=run_uid)
            except Exception:  # noqa: BLE001 - one bad run must not kill the worker
                logger.exception("executing run %s failed", run_uid)
            finally:
                self._queue.task_done()

    async def _reaper(self) -> None:
        """Fail runs whose executor died elsewhere (stale heartbeat), every few seconds."""
        from pipelines.aio import db
        from pipelines.services.operations import runs_recover

        while True:
            await asyncio.sleep(max(1, settings.PIPELINE_RUN_STALE_SECONDS // 3))
            try:
                await db(runs_recover)()
            except Exception:  # noqa: BLE001 - keep reaping
                logger.exception("recovering interrupted runs failed")

    def submit(self, run_uid) -> None:
        self.start()
        assert self._loop is not None and self._queue is not None
        self._loop.call_soon_threadsafe(self._queue.put_nowait, run_uid)

    def resume_queued(self) -> int:
        """Hand every QUEUED run to the pool, oldest first (start-up after a restart)."""
        from pipelines.services.operations import queued_run_uids

        uids = queued_run_uids()
        for uid in uids:
            self.submit(uid)
        return len(uids)


class CeleryExecutor:
    """Sends each run to the Celery task ``pipelines.tasks.execute_run`` (Redis broker)."""

    def submit(self, run_uid) -> None:
        # The web process never imports instill_site.celery by itself (instill_site/__init__
        # does not), so ``execute_run.delay`` would publish through Celery's *default* app
        # (amqp://localhost) instead of Redis. Send through our configured app explicitly.
        from instill_site.celery import app

        try:
            app.send_task("pipelines.execute_run", args=[str(run_uid)])
        except Exception as exc:  # noqa: BLE001 - broker down: the run must not stay QUEUED unseen
            logger.exception("could not queue run %s on the Celery broker", run_uid)
            _fail_unqueued(run_uid, exc)

    def start(self) -> None:
        return None

    def resume_queued(self) -> int:
        return 0


def _fail_unqueued(run_uid, exc: Exception) -> None:
    from pipelines.errors import ServiceError
    from pipelines.models import PipelineRun
    from pipelines.services.run_records import run_record_failure

    run = PipelineRun.objects.filter(uid=run_uid, status=PipelineRun.Status.QUEUED).first()
    if run is not None:
        error = ServiceError(f"the run could not be queued: the task broker is unreachable ({type(exc).__name__})")
        run_record_failure(run=run, error=error, announce=True)


@cache
def _executor(kind: str, concurrency: int):
    if kind == "celery":
        return CeleryExecutor()
    if kind == "inprocess":
        return InProcessExecutor(concurrency)
    raise ValueError(f"PIPELINE_EXECUTOR must be 'inprocess' or 'celery', not {kind!r}")


def get_executor():
    return _executor(settings.PIPELINE_EXECUTOR, settings.PIPELINE_WORKER_CONCURRENCY)
