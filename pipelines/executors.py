"""Where async runs execute: in the serving process (default) or on Celery workers.

Both take a run uid after its row is committed (``transaction.on_commit``) and end by
calling the ``execute`` they were given: :func:`pipelines.services.operations.run_execute`,
which builds this process's executor (:func:`pipelines.services.operations.executor`).
This module knows no service, so services import it and never the other way round.
Switching is the ``PIPELINE_EXECUTOR`` setting only.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import Any

from django.conf import settings

from pipelines.aio import db

logger = logging.getLogger("pipelines.executors")


class InProcessExecutor:
    """A bounded pool of workers on a private event loop in a daemon thread.

    ``PIPELINE_WORKER_CONCURRENCY`` runs execute at once; the rest wait in FIFO order
    in an unbounded queue of uids (a uid is tiny, the run's data stays in the database),
    so a flood of async triggers queues instead of exhausting memory. The pool's own
    loop keeps async runs from competing with request handling on the server's loop.
    """

    def __init__(
        self,
        concurrency: int,
        *,
        execute: Callable[[uuid.UUID], Awaitable[Any]],
        recover: Callable[[], int],
        queued: Callable[[], list[uuid.UUID]],
    ) -> None:
        """``execute`` runs a queued run to its end; ``recover`` fails runs whose executor
        died (every few seconds, in a thread); ``queued`` lists the runs still queued."""
        self.concurrency = max(1, concurrency)
        self._execute = execute
        self._recover = recover
        self._queued = queued
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None
        self._started = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # The loop holds its tasks weakly: these references keep the pool's workers alive.
        self._tasks: list[asyncio.Task] = []
        # Uids submitted from any thread, taken by the pool's loop in order.
        self._incoming: collections.deque[uuid.UUID] = collections.deque()
        self._waking = False

    def start(self) -> None:
        """Start the pool once; every caller returns only once it runs (two threads
        submitting the first runs at once both wait for it)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pipeline-executor", daemon=True)
                self._thread.start()
        self._started.wait()  # also when another thread started it a moment ago

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._queue = asyncio.Queue()
        self._tasks = [loop.create_task(self._worker(index)) for index in range(self.concurrency)]
        self._tasks.append(loop.create_task(self._reaper()))
        self._started.set()
        loop.run_forever()

    async def _worker(self, index: int) -> None:
        assert self._queue is not None
        while True:
            run_uid = await self._queue.get()
            try:
                await self._execute(run_uid)
            except Exception:  # noqa: BLE001 - one bad run must not kill the worker
                logger.exception("executing run %s failed", run_uid)
            finally:
                self._queue.task_done()

    async def _reaper(self) -> None:
        """Fail runs whose executor died elsewhere (stale heartbeat), every few seconds."""
        recover = db(self._recover)
        while True:
            await asyncio.sleep(max(1, settings.PIPELINE_RUN_STALE_SECONDS // 3))
            try:
                await recover()
            except Exception:  # noqa: BLE001 - keep reaping
                logger.exception("recovering interrupted runs failed")

    def submit(self, run_uid: uuid.UUID) -> None:
        self.start()
        assert self._loop is not None
        self._incoming.append(run_uid)
        # One wake-up of the pool's loop for all the uids that arrive before it takes
        # them: each wake-up is a write to its self-pipe and a GIL hand-over.
        if not self._waking:
            self._waking = True
            self._loop.call_soon_threadsafe(self._take_incoming)

    def _take_incoming(self) -> None:
        assert self._queue is not None
        self._waking = False  # before taking: a uid appended from now on wakes it again
        while self._incoming:
            self._queue.put_nowait(self._incoming.popleft())

    def resume_queued(self) -> int:
        """Hand every QUEUED run to the pool, oldest first (start-up after a restart)."""
        uids = self._queued()
        for uid in uids:
            self.submit(uid)
        return len(uids)


class CeleryExecutor:
    """Sends each run to the Celery task ``pipelines.execute_run`` (Redis broker)."""

    def __init__(self, *, unqueued: Callable[[uuid.UUID, Exception], None]) -> None:
        """``unqueued`` ends a run the broker did not take (its error names why)."""
        self._unqueued = unqueued

    @cached_property
    def _app(self) -> Any:
        # A producer configured like instill_site.celery's app (the CELERY_* settings):
        # Celery's *default* app would publish to amqp://localhost instead of Redis.
        from celery import Celery

        app = Celery("instill_site", set_as_current=False)
        app.config_from_object("django.conf:settings", namespace="CELERY")
        return app

    def submit(self, run_uid: uuid.UUID) -> None:
        try:
            self._app.send_task("pipelines.execute_run", args=[str(run_uid)])
        except Exception as exc:  # noqa: BLE001 - broker down: the run must not stay QUEUED unseen
            logger.exception("could not queue run %s on the Celery broker", run_uid)
            self._unqueued(run_uid, exc)

    def start(self) -> None:
        return None

    def resume_queued(self) -> int:
        return 0
