"""Running ORM code from async code.

Django's ASGI handler gives every request its own one-thread executor for
``thread_sensitive`` calls, so each request would start a thread and open a new
database connection — profiling put that at a third of a small trigger. Database
work of the async paths instead goes to the event loop's shared pool
(``thread_sensitive=False``): its threads live on and keep their connections,
refreshed here the way Django refreshes them per request. When the caller is sync
code that went through ``async_to_sync`` (the test client, management commands), the
work goes back to that calling thread, as Django would do, so it sees the caller's
transaction.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import gc
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import AsyncToSync, sync_to_async
from django.db import close_old_connections, connections

_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """A small pool: database calls are short, and more threads than cores only add
    GIL hand-offs (SQLite has one writer anyway)."""
    global _executor
    if _executor is None:
        from django.conf import settings

        _executor = ThreadPoolExecutor(max_workers=settings.PIPELINE_DB_THREADS, thread_name_prefix="pipeline-db")
    return _executor


def pool_close() -> None:
    """Close every pooled thread's database connection and stop the pool (tests drop
    their database afterwards; a connection left open would block that)."""
    global _executor
    executor, _executor = _executor, None
    if executor is None:
        return
    workers = executor._max_workers
    barrier = threading.Barrier(workers)

    def close_mine() -> None:
        barrier.wait(timeout=10)  # one task per thread: each closes its own connection
        connections.close_all()

    for future in [executor.submit(close_mine) for _ in range(workers)]:
        future.result()
    executor.shutdown(wait=True)


def db[**P, R](fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``await db(fn)(...)`` runs ``fn`` in a thread with a usable database connection.

    Wrapping costs tens of microseconds: on hot paths wrap once, at import.
    """

    @functools.wraps(fn)
    def pooled_run(*args: P.args, **kwargs: P.kwargs) -> R:
        close_old_connections()
        return fn(*args, **kwargs)

    pooled = sync_to_async(pooled_run, thread_sensitive=False, executor=_pool())
    in_caller_thread = sync_to_async(fn, thread_sensitive=True)

    @functools.wraps(fn)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        if getattr(AsyncToSync.executors, "current", None) is not None:
            return await in_caller_thread(*args, **kwargs)
        return await pooled(*args, **kwargs)

    return call


# Tasks that must finish even if whoever awaited them goes away (a client hanging up).
_detached: set[asyncio.Task] = set()


def _forget(task: asyncio.Task) -> None:
    _detached.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: the caller saw it, or it was recorded on the run


def detached(coro) -> asyncio.Task:
    """Run ``coro`` as a task that outlives its caller's cancellation; ``await
    asyncio.shield(detached(...))`` waits for it without tying its fate to the waiter."""
    task = asyncio.ensure_future(coro)
    _detached.add(task)
    task.add_done_callback(_forget)
    return task


def freeze_startup_heap(*, collect: bool = True) -> None:
    """Put everything a server process has allocated so far (Django, the apps, the
    URLconf, models, the component registry) out of the garbage collector's reach
    (CPython's ``gc.freeze``). Those objects live as long as the process; every full
    collection walked them all — pauses of ~120 ms every few thousand requests under
    load, the trigger's p99.9 (profiled). Collections now walk only what requests
    allocate.

    Then hands the heap start-up freed (migrations, parsing, imports' temporaries) back
    to the system with glibc's ``malloc_trim``: ~1–3 MB of RSS per process that would
    otherwise stay resident for the process's life. Elsewhere than glibc, nothing.

    ``collect=False`` freezes without the full collection first: serve's start on a
    migrated database leaves a few dozen unreachable objects (35 measured), not worth a
    walk of the whole heap (~40 ms) on the way to the first answer; a start that applied
    migrations leaves thousands, and collects."""
    if collect:
        gc.collect()
    gc.freeze()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl, macOS): its allocator keeps it
        pass
