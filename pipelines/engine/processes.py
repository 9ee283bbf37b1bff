"""Task processes: where CPU-bound component tasks run, so they can be killed.

A thread cannot be stopped from outside, and C code such as libjq never returns to
Python to notice a cancellation, so a task that may run away (``Task.blocking``)
runs in a small pool of worker processes instead of on the event loop or in a
thread. When the run awaiting a task is cancelled, or passes its time limit, the
process running that task is killed (SIGKILL) and replaced; the other processes and
their tasks are untouched. A process that dies by itself (a segfault, the OOM killer)
fails only the task it was running, with a component error saying how it died.

How the loop talks to a process: each process holds one end of a ``socketpair``;
the awaiting coroutine writes the pickled call and reads the pickled answer with the
loop's own socket methods (``sock_sendall`` / ``sock_recv``), so a task costs no
thread hop, just two small writes and two wake-ups. A process is checked out by one
task at a time and may serve tasks from any event loop of this process (the server's,
the async executor's, Celery's ``asyncio.run``): the pool itself is guarded by a lock
and only waiting for a free process is per loop.

Processes start lazily, on the first task that needs one (an idle server has none),
from a *zygote*: a clean single-threaded interpreter started once per pool (a plain
``python -c``, never a fork of the server), which imports the component modules and
then forks each worker on request. Forking the threaded server itself (daphne, the
executor's thread) would copy locks held by other threads; a fresh interpreter per
worker would pay the imports again on each replacement. multiprocessing's forkserver
does the same but re-runs the server's main script in every worker. The zygote kills
its workers and exits when this process closes its control socket (``shutdown``,
``atexit``, or this process dying), and workers die with the zygote
(``PR_SET_PDEATHSIG``), so no task process outlives the server.

Only the picklable part of the :class:`TaskContext` crosses: ``component_id``,
``task``, ``setup`` and ``config``. A task in a process cannot ``publish`` partial
output nor watch ``cancelled`` (it is killed instead). Its ``run`` must be a
module-level function (pickled by reference); inputs and outputs travel as pickles,
:class:`~pipelines.engine.values.File` values included (a file on disk travels as its
path, one in memory as its bytes).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib
import json
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .components import ComponentError, TaskContext

__all__ = ["TaskFailed", "TaskProcesses", "shared", "shutdown_shared"]

_HEADER = struct.Struct("!Q")
_CONTROL = struct.Struct("!cq")  # zygote request: operation, pid
_ANSWER = struct.Struct("!q")
_RUNNING = 1 << 40  # a status answer: the process has not ended (yet)
# A task waiting while every process has been on one task this long may start an
# extra process (up to twice the pool's size): long tasks do not starve short ones.
_LONG_TASK_SECONDS = 1.0
_OVERFLOW = 2
_OOM_SCORE_ADJ = 800  # of -1000 (never) .. 1000 (first): task processes go first
_CHUNK = 1 << 16
_PR_SET_PDEATHSIG = 1


class TaskFailed(Exception):
    """A task raised something other than :class:`ComponentError` in its process;
    ``str()`` is the original error's message."""


def _frame(message: Any) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


class _Worker:
    """One task process and this side of its socket."""

    __slots__ = ("busy_since", "pid", "sock", "zygote")

    def __init__(self, pid: int, sock: socket.socket, zygote: _Zygote) -> None:
        self.pid = pid
        self.sock = sock
        self.zygote = zygote
        self.busy_since = time.monotonic()  # taken by whoever started it


class _Zygote:
    """The process that forks task processes, and this side of its control socket.
    Requests are short blocking exchanges, made from threads, never on a loop."""

    def __init__(self, preload: Sequence[str]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        setup = json.dumps({"path": sys.path, "preload": list(preload)})
        code = "from pipelines.engine.processes import _zygote_main; _zygote_main()"
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    f"import json, sys; sys.path[:0] = json.loads(sys.argv[2])['path']; {code}",
                    str(theirs.fileno()),
                    setup,
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.control = ours
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.process.poll() is None and self.control.fileno() >= 0

    def _ask(self, operation: bytes, pid: int = 0, fds: Sequence[int] = ()) -> int:
        with self.lock:
            message = _CONTROL.pack(operation, pid)
            if fds:
                socket.send_fds(self.control, [message], list(fds))
            else:
                self.control.sendall(message)
            answer = _recv_exactly(self.control, _ANSWER.size)
        if answer is None:
            raise ConnectionError("the task processes' zygote stopped")
        value: int = _ANSWER.unpack(answer)[0]
        return value

    def fork(self, fd: int) -> int:
        pid = self._ask(b"f", fds=[fd])
        if pid < 0:
            raise OSError(-pid, f"could not start a task process: {os.strerror(-pid)}")
        return pid

    def kill(self, pid: int) -> None:
        """SIGKILL (a task in C code ignores anything gentler) and reap."""
        with contextlib.suppress(OSError):
            self._ask(b"k", pid)

    def status(self, pid: int) -> int | None:
        """How ``pid`` ended (exit code, or minus the signal); None while it runs."""
        try:
            status = self._ask(b"s", pid)
        except OSError:
            return None
        return None if status == _RUNNING else status

    def close(self, timeout: float = 10.0) -> None:
        """The zygote kills its task processes and exits when its socket closes."""
        with contextlib.suppress(OSError):
            self.control.shutdown(socket.SHUT_RDWR)
        self.control.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class TaskProcesses:
    """``size`` task processes (twice that while long tasks hold them all), started on
    demand; see the module docstring.

    ``preload``: modules the pool's zygote imports once, so that every task process
    starts with them loaded (the component modules).
    """

    def __init__(self, size: int = 2, *, preload: Sequence[str] = ()) -> None:
        self.size = max(1, size)
        self.preload = tuple(preload)
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._workers: set[_Worker] = set()
        self._starting = 0
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[_Worker | None]]] = deque()
        self._closed = False
        self._exit_hook = False
        self._zygote: _Zygote | None = None
        self._zygote_lock = threading.Lock()

    @property
    def pids(self) -> list[int]:
        """The process ids of the live task processes (for tests and diagnostics)."""
        with self._lock:
            return sorted(w.pid for w in self._workers)

    @property
    def zygote_pid(self) -> int | None:
        zygote = self._zygote
        return zygote.process.pid if zygote is not None else None

    async def run(self, function: Callable[..., Any], inputs: Mapping[str, Any], context: TaskContext) -> Any:
        """``function(inputs, context)`` in a task process; its return value.

        Raises :class:`ComponentError` for the task's own component errors, for a call
        or answer that cannot be pickled and for a process that died; :class:`TaskFailed`
        for any other exception of the task. Cancelling the awaiting coroutine kills the
        process running the task.
        """
        try:
            request = _frame(
                (function, inputs, context.component_id, context.task, dict(context.setup), dict(context.config))
            )
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise ComponentError(f"the task cannot be handed to a task process: {exc}") from None
        loop = asyncio.get_running_loop()
        worker = await self._acquire(loop)
        try:
            await loop.sock_sendall(worker.sock, request)
            reply = await _receive(loop, worker.sock)
        except OSError:  # the process died while we wrote or read (connection reset)
            reply = None
        except BaseException:
            # Cancelled (the run was cancelled or is over its time limit) or the socket
            # broke: the task may still be running, and only killing stops it.
            self._discard(worker)
            raise
        if reply is None:
            try:
                message = await _death(worker)
            finally:
                self._discard(worker)
            raise ComponentError(f"the task's worker process {message}; only this task failed")
        self._release(worker)
        try:
            ok, value = pickle.loads(reply)
        except Exception as exc:  # noqa: BLE001 - e.g. a class the server cannot import
            raise ComponentError(f"the task's answer could not be read: {exc}") from None
        if ok:
            return value
        component_error, message = value
        raise ComponentError(message) if component_error else TaskFailed(message)

    # the pool ---------------------------------------------------------------------

    async def _acquire(self, loop: asyncio.AbstractEventLoop) -> _Worker:
        while True:
            with self._lock:
                if self._closed:
                    raise ComponentError("task processes are shut down (the server is stopping)")
                if self._idle:
                    worker = self._idle.pop()
                    worker.busy_since = time.monotonic()
                    return worker
                if self._room_locked():
                    self._starting += 1
                    waiter = None
                else:
                    waiter = loop.create_future()
                    self._waiters.append((loop, waiter))
            if waiter is None:
                worker = await self._start_here(loop)
            else:
                found = await self._wait(waiter)
                if found is None:
                    continue  # a replacement could not start: try starting one here
                worker = found
            worker.busy_since = time.monotonic()
            return worker

    def _room_locked(self) -> bool:
        """Whether a task that finds no idle process may start one."""
        count = len(self._workers) + self._starting
        if count < self.size:
            return True
        if count >= self.size * _OVERFLOW or self._starting:
            return False
        long_ago = time.monotonic() - _LONG_TASK_SECONDS
        return all(worker.busy_since <= long_ago for worker in self._workers)

    async def _wait(self, waiter: asyncio.Future[_Worker | None]) -> _Worker | None:
        """A process handed over by ``_release``; or, when every process stays busy on
        long tasks, a new one (see ``_LONG_TASK_SECONDS``)."""
        while True:
            try:
                await asyncio.wait((waiter,), timeout=_LONG_TASK_SECONDS)
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and waiter.result() is not None:
                    self._release(waiter.result())  # type: ignore[arg-type]
                waiter.cancel()
                raise
            if waiter.done():
                return waiter.result()
            with self._lock:
                if not self._room_locked():
                    continue
                waiter.cancel()  # a hand-over already on its way goes back to the pool
                self._starting += 1
            return await self._start_here(asyncio.get_running_loop())

    async def _start_here(self, loop: asyncio.AbstractEventLoop) -> _Worker:
        """Start a process (in a thread: forking is a blocking exchange with the
        zygote); if the caller is cancelled meanwhile, the process joins the pool."""
        starting = asyncio.ensure_future(loop.run_in_executor(None, self._start))
        try:
            return await asyncio.shield(starting)
        except asyncio.CancelledError:
            starting.add_done_callback(self._adopt)
            raise
        except BaseException:
            self._wake(None)  # a waiter may try again
            raise

    def _adopt(self, starting: asyncio.Future[_Worker]) -> None:
        if starting.cancelled() or starting.exception() is not None:
            self._wake(None)
        else:
            self._release(starting.result())

    def _start(self) -> _Worker:
        """Start one process; called with ``_starting`` counting it, which this ends."""
        try:
            worker = self._spawn()
        except BaseException:
            with self._lock:
                self._starting -= 1
            raise
        with self._lock:
            self._starting -= 1
            closed = self._closed
            if not closed:
                self._workers.add(worker)
                if not self._exit_hook:
                    self._exit_hook = True
                    atexit.register(self.shutdown)
        if closed:
            _kill(worker)
            raise ComponentError("task processes are shut down (the server is stopping)")
        return worker

    def _spawn(self) -> _Worker:
        with self._zygote_lock:
            zygote = self._zygote
            if zygote is None or not zygote.alive():
                if zygote is not None:
                    zygote.close()
                zygote = self._zygote = _Zygote(self.preload)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            pid = zygote.fork(theirs.fileno())
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        return _Worker(pid, ours, zygote)

    def _release(self, worker: _Worker) -> None:
        """Give an idle process to the oldest waiter, or back to the pool."""
        with self._lock:
            if worker not in self._workers:
                return
            worker.busy_since = time.monotonic()  # if a waiter takes it
            if self._wake_locked(worker):
                return
            if len(self._workers) <= self.size:
                self._idle.append(worker)
                return
            self._workers.discard(worker)  # an extra process, no longer needed
        worker.sock.close()
        threading.Thread(
            target=worker.zygote.kill, args=(worker.pid,), name="pipeline-task-retire", daemon=True
        ).start()

    def _wake(self, worker: _Worker | None) -> None:
        with self._lock:
            self._wake_locked(worker)

    def _wake_locked(self, worker: _Worker | None) -> bool:
        while self._waiters:
            loop, waiter = self._waiters.popleft()
            if waiter.done():
                continue
            try:
                loop.call_soon_threadsafe(self._hand_over, waiter, worker)
            except RuntimeError:  # that loop is closed
                continue
            return True
        return False

    def _hand_over(self, waiter: asyncio.Future[_Worker | None], worker: _Worker | None) -> None:
        if not waiter.done():
            waiter.set_result(worker)
        elif worker is not None:
            self._release(worker)

    def _discard(self, worker: _Worker) -> None:
        """Kill a process whose task will not finish (or that died) and start its
        replacement in the background, so the next task finds one ready."""
        # The loop has already stopped watching the socket (a cancelled sock_recv
        # unregisters before the task resumes), so it can close here, in its thread.
        worker.sock.close()
        with self._lock:
            self._workers.discard(worker)
            replace = not self._closed
            if replace:
                self._starting += 1
        threading.Thread(
            target=self._replace, args=(worker, replace), name="pipeline-task-replace", daemon=True
        ).start()

    def _replace(self, dead: _Worker, replace: bool) -> None:
        _kill(dead)
        if not replace:
            return
        try:
            worker = self._start()
        except BaseException:  # noqa: BLE001 - a waiter will try again and see the error
            self._wake(None)
            return
        self._release(worker)

    def shutdown(self) -> None:
        """Kill every task process and wait for them; tasks in flight fail. Idempotent."""
        with self._lock:
            self._closed = True
            idle = list(self._idle)
            self._workers.clear()
            self._idle.clear()
            waiters = list(self._waiters)
            self._waiters.clear()
        for loop, waiter in waiters:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._hand_over, waiter, None)
        # A busy process's socket stays open: its loop is watching it, and sees it close
        # when the zygote kills the process.
        for worker in idle:
            worker.sock.close()
        with self._zygote_lock:
            zygote, self._zygote = self._zygote, None
        if zygote is not None:
            zygote.close()


async def _receive(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> bytes | None:
    """One framed message; ``None`` when the process closed its end (it died)."""
    data = await loop.sock_recv(sock, _CHUNK)
    if not data:
        return None
    buffer = bytearray(data)
    while len(buffer) < _HEADER.size:
        more = await loop.sock_recv(sock, _CHUNK)
        if not more:
            return None
        buffer += more
    (size,) = _HEADER.unpack_from(buffer)
    end = _HEADER.size + size
    while len(buffer) < end:
        more = await loop.sock_recv(sock, max(_CHUNK, end - len(buffer)))
        if not more:
            return None
        buffer += more
    return bytes(memoryview(buffer)[_HEADER.size : end])


async def _death(worker: _Worker) -> str:
    """How a process whose socket closed ended, as a phrase."""
    for _ in range(100):  # its exit status follows the closed socket within moments
        if not worker.zygote.alive():
            return "was stopped with the server"
        code = await asyncio.to_thread(worker.zygote.status, worker.pid)
        if code is not None:
            if code < 0:
                try:
                    name = signal.Signals(-code).name
                except ValueError:
                    name = f"signal {-code}"
                return f"was killed by {name}"
            return f"exited with code {code}"
        await asyncio.sleep(0.01)
    return "stopped unexpectedly"


def _kill(worker: _Worker) -> None:
    worker.sock.close()
    worker.zygote.kill(worker.pid)


# --- the zygote's side ---------------------------------------------------------------


def _zygote_main() -> None:
    """Preload, then fork task processes on request until the server closes the socket;
    then kill them. Single-threaded, so forking it is safe."""
    control = socket.socket(fileno=int(sys.argv[1]))
    for name in json.loads(sys.argv[2])["preload"]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a task process imports it again, and reports why
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # When memory runs out, the kernel's OOM killer should pick a runaway task (it fails
    # alone, and is replaced) rather than the server. Its workers inherit this.
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as adjust:
        adjust.write(str(_OOM_SCORE_ADJ))
    children: dict[int, int | None] = {}  # pid -> how it ended, once reaped

    def reap(pid: int = -1, flags: int = os.WNOHANG) -> None:
        while True:
            try:
                found, status = os.waitpid(pid, flags)
            except ChildProcessError:
                return
            if found == 0:
                return
            children[found] = os.waitstatus_to_exitcode(status)
            if pid != -1:
                return

    def answer(value: int) -> None:
        control.sendall(_ANSWER.pack(value))

    try:
        while True:
            try:
                message, fds, _, _ = socket.recv_fds(control, _CONTROL.size, 1)
            except OSError:
                break
            if len(message) < _CONTROL.size:
                break
            operation, pid = _CONTROL.unpack(message)
            reap()
            if operation == b"f":
                try:
                    pid = os.fork()
                except OSError as exc:
                    os.close(fds[0])
                    answer(-(exc.errno or 1))
                    continue
                if pid == 0:
                    control.close()
                    try:
                        _child_main(socket.socket(fileno=fds[0]))
                    finally:
                        os._exit(0)
                os.close(fds[0])
                children[pid] = None
                answer(pid)
            elif operation == b"k":
                if pid in children and children[pid] is None:
                    os.kill(pid, signal.SIGKILL)
                    reap(pid, 0)
                status = children.pop(pid, None)
                answer(status if status is not None else _RUNNING)
            else:
                status = children.get(pid)
                if status is not None:
                    del children[pid]
                answer(status if status is not None else _RUNNING)
    except OSError:  # the server closed its end while we answered: it stopped
        pass
    for pid, status in children.items():
        if status is None:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    reap(-1, 0)
    while children and any(status is None for status in children.values()):
        try:
            found, status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        children[found] = os.waitstatus_to_exitcode(status)


# --- the task process's side ------------------------------------------------------


def _child_main(sock: socket.socket) -> None:
    """Answer calls until the server closes the socket."""
    # Ctrl-C reaches the whole process group; the server alone decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    sock.setblocking(True)
    while True:
        header = _recv_exactly(sock, _HEADER.size)
        if header is None:
            return
        body = _recv_exactly(sock, _HEADER.unpack(header)[0])
        if body is None:
            return
        sock.sendall(_answer(body))


def _answer(body: bytes | bytearray) -> bytes:
    try:
        function, inputs, component_id, task, setup, config = pickle.loads(body)
        context = TaskContext(component_id=component_id, task=task, setup=setup, config=config)
        reply: tuple[bool, Any] = (True, function(inputs, context))
    except ComponentError as exc:
        reply = (False, (True, str(exc)))
    except BaseException as exc:  # noqa: BLE001 - any task bug is that task's error
        reply = (False, (False, str(exc) or type(exc).__name__))
    try:
        return _frame(reply)
    except Exception as exc:  # noqa: BLE001 - an output that cannot be pickled
        return _frame((False, (True, f"the task's output cannot leave its process: {exc}")))


def _recv_exactly(sock: socket.socket, size: int) -> bytearray | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            return None
        got += n
    return buffer


def _die_with_parent() -> None:
    """Be killed when the zygote (our parent) exits, as it does when the server does:
    a task stuck in C code would otherwise outlive it."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


# --- one pool per process -----------------------------------------------------------

_shared: TaskProcesses | None = None
_shared_lock = threading.Lock()


def shared(size: int = 2, preload: Sequence[str] = ()) -> TaskProcesses:
    """This process's pool, created by the first call (its ``size`` and ``preload``
    win). Every event loop of the process uses it."""
    global _shared
    pool = _shared
    if pool is not None:
        return pool
    with _shared_lock:
        if _shared is None:
            _shared = TaskProcesses(size, preload=preload)
        return _shared


def shutdown_shared() -> None:
    """Stop this process's pool, if it has one (a server process on its way out; the
    pool's ``atexit`` hook would do it too, later)."""
    global _shared
    with _shared_lock:
        pool, _shared = _shared, None
    if pool is not None:
        pool.shutdown()
