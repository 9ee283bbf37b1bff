"""The in-process executor (pipelines/executors.py) on its own: runs handed to it from
several threads at once, as the request threads of a ``serve --workers`` process do
with the first async triggers it receives."""

from __future__ import annotations

import asyncio
import threading
import uuid

from pipelines.executors import InProcessExecutor


def _first_runs_from_threads_at_once(count: int) -> tuple[list[BaseException], bool]:
    """A fresh pool given ``count`` runs by ``count`` threads released together: the errors
    the threads met, and whether every run executed."""
    uids = [uuid.uuid4() for _ in range(count)]
    executed: list[uuid.UUID] = []
    done = threading.Event()

    async def execute(run_uid: uuid.UUID) -> None:
        executed.append(run_uid)
        if len(executed) == count:
            done.set()

    pool = InProcessExecutor(2, execute=execute, recover=lambda: 0, queued=list)
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def submit(run_uid: uuid.UUID) -> None:
        barrier.wait()
        try:
            pool.submit(run_uid)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(uid,)) for uid in uids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    all_executed = done.wait(5) and sorted(executed) == sorted(uids)
    _stop(pool)
    return errors, all_executed


def _stop(pool: InProcessExecutor) -> None:
    """Cancel the pool's workers, stop its loop and thread, close the loop."""
    loop, thread = pool._loop, pool._thread
    if loop is None or thread is None:
        return

    async def cancel_all() -> None:
        for task in pool._tasks:
            task.cancel()
        await asyncio.gather(*pool._tasks, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_the_first_runs_submitted_from_many_threads_at_once_all_execute() -> None:
    for _ in range(10):  # a fresh pool each time: the race was in its start
        errors, all_executed = _first_runs_from_threads_at_once(8)
        assert errors == []
        assert all_executed
