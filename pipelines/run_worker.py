"""Run workers: processes beside ``serve`` that execute its plain sync triggers.

One Python process runs one thread of Python at a time (the GIL). Serving a trigger
over HTTP (the ASGI server, Django, authentication) and executing it (the engine, the run
history) each cost about as much CPU, so a single ``serve`` process left every core
but one idle and triggered at about half the rate it answers a bare request. ``serve``
therefore has ``PIPELINE_RUN_WORKERS`` worker processes (``manage.py run_worker``,
started and restarted by ``serve`` itself, never by hand). A lone trigger still runs
in ``serve``, where it is answered soonest; while ``serve`` is answering another sync
trigger, the next plain one — JSON inputs, answered when done — goes to the least
busy worker, which runs it exactly as ``serve`` would
(:func:`pipelines.services.run_execution.run_trigger`: same engine, same run history, same
errors) and sends back the answer. Everything else stays in ``serve``:
authentication and permissions (checked before anything is handed over), streamed
and async triggers (their events go to the channel layer of ``serve``), triggers
with uploaded files, gRPC (its own event loop), and every trigger while no worker is
ready.

Workers start the first time ``serve`` has two sync triggers at once, not with
``serve``: one that is never busy (one user, a console session) never holds their
memory (~50 MB each). They take about half a second to be ready; until then that
first burst runs in ``serve``, as everything does while no worker is ready. Once
started they stay, and are restarted when they die.

Each worker is connected by a ``socketpair`` inherited at start: it has no name
anyone else could connect to, so the two ends exchange pickles (length-prefixed). A
trigger's secrets travel over it in memory, as they would inside one process. When
a worker dies, the triggers it was running fail with 503 (``UNAVAILABLE``: the run
may not have been recorded) and ``serve`` starts another; meanwhile triggers run
in ``serve``. When ``serve`` stops, workers finish what they are running and exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from pipelines.errors import ServiceError, Unavailable

logger = logging.getLogger("pipelines.run_worker")

_HEADER = struct.Struct("!I")
READY = "ready"
MANAGE_PY = Path(__file__).resolve().parent.parent / "manage.py"


def _frame(message: Any) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


class Frames(asyncio.Protocol):
    """Length-prefixed pickles over a stream socket, in both directions."""

    def __init__(self, on_message: Callable[[Any], None], on_lost: Callable[[Exception | None], None]) -> None:
        self._buffer = bytearray()
        self._on_message = on_message
        self._on_lost = on_lost
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def send(self, message: Any) -> bool:
        if self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(_frame(message))
        return True

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while len(buffer) >= 4:
            (size,) = _HEADER.unpack_from(buffer)
            if len(buffer) < 4 + size:
                break
            message = pickle.loads(memoryview(buffer)[4 : 4 + size])
            del buffer[: 4 + size]
            self._on_message(message)

    def connection_lost(self, exc) -> None:
        self.transport = None
        self._on_lost(exc)


# --- serve's side ------------------------------------------------------------------------


class _Worker:
    """One worker process and its connection, as ``serve`` sees it."""

    def __init__(self, index: int, process: subprocess.Popen, sock: socket.socket) -> None:
        self.index = index
        self.process = process
        self.sock = sock
        self.protocol: Frames | None = None
        self.ready = False
        self.pending: dict[int, asyncio.Future] = {}

    def connect(self, loop: asyncio.AbstractEventLoop, on_lost: Callable[[_Worker], None]) -> None:
        """Attach the socket to ``loop``; the worker is ready when it says so."""
        protocol = self.protocol = Frames(self._answered, lambda exc: on_lost(self))
        loop.create_task(loop.create_unix_connection(lambda: protocol, sock=self.sock))

    def _answered(self, message) -> None:
        if message[0] == READY:
            self.ready = True
            logger.info("run worker %d ready (pid %d)", self.index, message[1])
            return
        request_id, ok, value = message
        future = self.pending.pop(request_id, None)
        if future is not None and not future.done():
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)


class RunWorkers:
    """``serve``'s worker processes: started, fed, restarted, stopped."""

    RESTART_DELAYS = (0.5, 1, 2, 5, 10, 30)

    def __init__(self, count: int, loop: asyncio.AbstractEventLoop) -> None:
        self.count = count
        self.loop = loop  # serve's (its ASGI server's) event loop: the one place workers are fed from
        self.in_flight = 0  # sync triggers being answered by serve, here or in a worker
        self.workers: list[_Worker | None] = [None] * count
        self._ids = itertools.count(1)
        self._restarts = [0] * count
        self._started_at = [0.0] * count
        self._starting: asyncio.Task | None = None  # set once, when serve is first busy: workers start on demand
        self._stopping = False

    def start(self) -> None:
        """Start the workers (once; in the background, from serve's loop)."""
        if self._starting is not None or self._stopping:
            return
        self._starting = self.loop.create_task(self._start_all())  # held: a task only weakly referenced may vanish

    async def _start_all(self) -> None:
        for index in range(self.count):
            await self._start_one(index)

    async def _start_one(self, index: int) -> None:
        """Start worker ``index`` off the event loop and connect it (not once stopping)."""
        if self._stopping:
            return
        try:
            worker = await asyncio.to_thread(self._spawn, index)
        except OSError:
            logger.exception("could not start run worker %d", index)
            return
        if self._stopping:
            _stop_process(worker.process)
            return
        self.workers[index] = worker
        worker.connect(self.loop, self._lost)

    def _spawn(self, index: int) -> _Worker:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            process = subprocess.Popen(
                [sys.executable, str(MANAGE_PY), "run_worker", "--fd", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                # Out of serve's process group, so a Ctrl-C meant for serve does not kill
                # runs mid-way: serve alone tells workers to stop (by closing the socket).
                start_new_session=True,
            )
        finally:
            theirs.close()
        ours.setblocking(False)
        self._started_at[index] = time.monotonic()
        return _Worker(index, process, ours)

    @contextlib.contextmanager
    def hold(self) -> Iterator[bool]:
        """Whether the sync trigger about to run should go to a worker (``as`` value), held
        while it runs. Only when serve is answering another sync trigger at the same time:
        a lone trigger runs here, where it is answered sooner (no hand-over, no second
        process to wake); under load, serve keeps to HTTP and the workers execute."""
        if asyncio.get_running_loop() is not self.loop:
            yield False  # gRPC has its own event loop: its triggers run where they arrive
            return
        self.in_flight += 1
        busy = self.in_flight > 1
        if busy and self._starting is None:
            self.start()  # this trigger runs here; later ones go to the workers once ready
        try:
            yield busy
        finally:
            self.in_flight -= 1

    async def hand_over(self, request: dict[str, Any], values: Iterable[Any]) -> Any | None:
        """Send a plain sync trigger's ``request`` to the least busy worker and give its
        answer; ``None`` when it is to run here instead (no worker ready, or ``values`` —
        the trigger's variables — not plain JSON)."""
        worker = self.pick()
        if worker is None or not all(_plain(value) for value in values):
            return None
        return await self.call(worker, request)

    def pick(self) -> _Worker | None:
        """The ready worker with the fewest triggers in flight."""
        best = None
        for worker in self.workers:
            if worker is None or not worker.ready:
                continue
            if best is None or len(worker.pending) < len(best.pending):
                best = worker
        return best

    async def call(self, worker: _Worker, request: dict) -> Any:
        request_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        worker.pending[request_id] = future
        if not worker.protocol or not worker.protocol.send((request_id, request)):
            worker.pending.pop(request_id, None)
            raise Unavailable("the run worker is not connected; try again")
        return await future

    def _lost(self, worker: _Worker) -> None:
        worker.ready = False
        code = worker.process.poll()
        for future in worker.pending.values():
            if not future.done():
                future.set_exception(
                    Unavailable(
                        "the process running this trigger stopped"
                        + (f" (exit code {code})" if code is not None else "")
                        + "; the run may not have been recorded. Try again."
                    )
                )
        worker.pending.clear()
        if self._stopping:
            return
        index = worker.index
        self.workers[index] = None
        quick = time.monotonic() - self._started_at[index] < 60
        self._restarts[index] = self._restarts[index] + 1 if quick else 0
        delay = self.RESTART_DELAYS[min(self._restarts[index], len(self.RESTART_DELAYS) - 1)]
        logger.warning("run worker %d stopped (exit code %s); starting another in %gs", index, code, delay)
        loop = asyncio.get_running_loop()
        loop.call_later(delay, lambda: loop.create_task(self._restart(index, worker.process)))

    async def _restart(self, index: int, dead: subprocess.Popen) -> None:
        if self._stopping:
            return
        await asyncio.to_thread(_stop_process, dead)  # long dead: reaped at once
        await self._start_one(index)

    def stop(self, timeout: float = 10.0) -> None:
        """Close every connection (workers finish what they run, then exit), then wait."""
        self._stopping = True
        workers = [w for w in self.workers if w is not None]
        for worker in workers:
            # serve's event loop has stopped by now: transports would close only on its
            # next turn, so the socket is shut down directly; the worker reads EOF.
            try:
                worker.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for worker in workers:
            _stop_process(worker.process, max(0.1, deadline - time.monotonic()))


def _stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_workers: RunWorkers | None = None


def start(count: int, loop: asyncio.AbstractEventLoop) -> RunWorkers | None:
    """``count`` workers fed from ``loop`` (serve's, before it runs), started the first
    time serve is busy; none for 0."""
    global _workers
    if count <= 0:
        return None
    _workers = RunWorkers(count, loop)
    return _workers


def stop() -> None:
    global _workers
    workers, _workers = _workers, None
    if workers is not None:
        workers.stop()


def _plain(value: Any) -> bool:
    """JSON values only (a File stays in serve: it may be a spooled upload)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


# --- the worker's side -------------------------------------------------------------------

# What a worker does with a request: given by its start-up (``manage.py run_worker``),
# so this transport knows nothing of what a trigger is.
Execute = Callable[[dict[str, Any]], Awaitable[Any]]


async def _answer(protocol: Frames, request_id: int, request: dict[str, Any], execute: Execute) -> None:
    message: tuple[int, bool, Any]
    try:
        message = (request_id, True, await execute(request))
    except ServiceError as exc:
        message = (request_id, False, exc)
    except Exception:  # noqa: BLE001 - serve answers 500, as for its own failures
        logger.exception("a trigger failed in the run worker")
        message = (request_id, False, ServiceError("internal error while running the trigger"))
    protocol.send(message)


async def worker_main(fd: int, execute: Execute) -> None:
    """The worker: answer serve's requests with ``execute`` until serve closes the
    connection (or SIGTERM), then finish the runs in flight — they are recorded either way."""
    loop = asyncio.get_running_loop()
    closed = loop.create_future()
    running: set[asyncio.Task] = set()
    protocol: Frames

    def on_message(message) -> None:
        request_id, request = message
        task = loop.create_task(_answer(protocol, request_id, request, execute))
        running.add(task)
        task.add_done_callback(running.discard)

    def on_lost(exc) -> None:
        if not closed.done():
            closed.set_result(None)

    protocol = Frames(on_message, on_lost)
    sock = socket.socket(fileno=fd)
    await loop.create_unix_connection(lambda: protocol, sock=sock)

    def stop() -> None:
        if protocol.transport:
            protocol.transport.close()

    loop.add_signal_handler(signal.SIGTERM, stop)
    protocol.send((READY, os.getpid()))
    await closed
    if running:
        await asyncio.wait(running)
