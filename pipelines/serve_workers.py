"""``serve --workers N``: N HTTP server processes on one port, under one parent.

One Python process runs one thread of Python at a time, so one ``serve`` keeps about
one core busy. With ``--workers N`` the parent does everything that must happen once
(migrations, the admin and the demos, static files, failing the runs a previous
process left ``PROCESSING``), listens, and then forks N children that each run the
whole server — the same application, event loop and in-process executor as a lone
``serve`` — on that port. The parent serves nothing: it restarts a child that dies,
passes SIGTERM and SIGINT on to the children, waits for them and exits.

Sharing the port: on Linux the parent opens one listening socket per child, all with
``SO_REUSEPORT`` on the same port, and the kernel spreads new connections over them;
a child restarted after a crash takes over its predecessor's socket, whose queued
connections wait for it instead of being refused. Elsewhere the children share one
listening socket. The parent keeps its copies open while it runs, so the port stays
ours between a child's death and its restart.

A child never outlives the parent: on Linux it asks the kernel for SIGTERM when the
parent dies (``PR_SET_PDEATHSIG``), even when the parent was killed with SIGKILL.

The parent waits for its own children by pid (never ``waitpid(-1)``, which would take
the exit status of any other process it started), checks on every turn of its loop that
each worker has a process or a restart due (a worker with neither is restarted, with an
error in the log), and retries a ``fork`` that fails (no memory, the process limit)
instead of dying. Each restart is logged with the new pid. SIGUSR1 makes the parent
(and a child) write where each of its threads is to stderr (``faulthandler``).
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger("pipelines.serve")

# A child that dies within this many seconds of its start failed to start; after this
# many such failures in a row serve gives up (a child that cannot start would otherwise
# be restarted for ever), waiting a little longer before each retry.
FAST_FAILURE_SECONDS = 5.0
FAST_FAILURES_ALLOWED = 5
# After SIGTERM, children get this long to finish their requests (uvicorn's graceful
# shutdown is 5 s; run workers finish their runs) before they are killed.
STOP_GRACE_SECONDS = 15.0
BACKLOG = 2048  # uvicorn's default


def reuse_port() -> bool:
    """Whether each child gets a socket of its own (``SO_REUSEPORT``, balanced by the
    kernel: Linux), rather than all sharing one."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """A listening socket on ``host:port`` for each of ``count`` children: one each with
    ``SO_REUSEPORT``, or the same one ``count`` times. Raises ``OSError`` when the port
    cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    opened: list[socket.socket] = []
    try:
        for _ in range(count if reuse_port() else 1):
            sock = socket.socket(family, socket.SOCK_STREAM)
            opened.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port():
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.listen(BACKLOG)
            sock.set_inheritable(True)
    except OSError:
        for sock in opened:
            sock.close()
        raise
    return [opened[index % len(opened)] for index in range(count)]


def _die_with_parent(parent: int) -> None:
    """Ask Linux to send this process SIGTERM when its parent dies (no orphans)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(0)


@dataclass
class _Child:
    index: int
    pid: int
    started: float


class Supervisor:
    """Forks ``count`` children that each call ``child(index, restarted)`` and exit with
    what it returns; restarts those that die until SIGTERM or SIGINT, then stops them all.
    """

    def __init__(self, count: int, child: Callable[[int, bool], int]) -> None:
        self.count = count
        self._child = child
        self._children: dict[int, _Child] = {}  # by pid
        self._failures = [0] * count  # fast failures in a row, per index
        self._due: dict[int, float] = {}  # index → when to start it again
        self._signalled: int | None = None

    def run(self) -> int:
        """Start the children, supervise them; 0 once stopped by a signal, 1 when a
        child kept failing at start (the others are stopped too)."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        dumps = _dump_on_sigusr1()
        try:
            for index in range(self.count):
                self._start(index, restarted=False)
            return self._supervise()
        finally:
            if dumps:
                faulthandler.unregister(signal.SIGUSR1)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def pids(self) -> list[int]:
        return [child.pid for child in sorted(self._children.values(), key=lambda child: child.index)]

    def _on_signal(self, signum: int, frame: object) -> None:
        self._signalled = signum

    def _start(self, index: int, *, restarted: bool) -> None:
        parent = os.getpid()
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as exc:  # EAGAIN (process limit), ENOMEM: try again in a while
            self._failures[index] += 1
            delay = _backoff(self._failures[index]) or 0.25
            logger.error("could not start serve worker %d (%s); trying again in %g s", index, exc, delay)
            self._due[index] = time.monotonic() + delay
            return
        if pid == 0:  # the child
            code = 1
            try:
                for sig in (signal.SIGTERM, signal.SIGCHLD):
                    signal.signal(sig, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                _die_with_parent(parent)
                code = self._child(index, restarted)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # noqa: BLE001 - whatever it was, say it and exit non-zero
                traceback.print_exc()
            finally:
                logging.shutdown()
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self._children[pid] = _Child(index=index, pid=pid, started=time.monotonic())
        if restarted:
            logger.info("serve worker %d started again (pid %d)", index, pid)

    def _supervise(self) -> int:
        stop_deadline: float | None = None
        failed = False
        while True:
            self._reap(stopping=stop_deadline is not None)
            if any(count >= FAST_FAILURES_ALLOWED for count in self._failures) and stop_deadline is None:
                failed = True
                self._signalled = self._signalled or signal.SIGTERM
            if self._signalled is not None and stop_deadline is None:
                stop_deadline = time.monotonic() + STOP_GRACE_SECONDS
                self._due.clear()
                self._signal_all(signal.SIGTERM)
            if stop_deadline is not None:
                if not self._children:
                    return 1 if failed else 0
                if time.monotonic() > stop_deadline:
                    self._signal_all(signal.SIGKILL)
            else:
                self._check_every_worker_has_a_process()
                now = time.monotonic()
                for index, when in list(self._due.items()):
                    if when <= now:
                        del self._due[index]
                        self._start(index, restarted=True)
            time.sleep(0.05)

    def _reap(self, *, stopping: bool) -> None:
        """Take the exit status of each of our children that ended, by pid: a
        ``waitpid(-1)`` would also take that of any other process this one started."""
        for pid in list(self._children):
            try:
                found, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # not ours to wait for any more: gone, status unknown
                found, status = pid, -1
            if found == 0:
                continue
            child = self._children.pop(pid)
            if stopping:
                continue
            lived = time.monotonic() - child.started
            if lived < FAST_FAILURE_SECONDS:
                self._failures[child.index] += 1
            else:
                self._failures[child.index] = 0
            delay = _backoff(self._failures[child.index])
            logger.error(
                "serve worker %d (pid %d) %s; starting another%s",
                child.index,
                pid,
                _how_it_ended(status),
                f" in {delay:g} s" if delay else "",
            )
            self._due[child.index] = time.monotonic() + delay

    def _check_every_worker_has_a_process(self) -> None:
        """Each worker has a process or a restart due; one with neither would never be
        started again (and serve would go on with one process fewer, silently)."""
        running = {child.index for child in self._children.values()}
        for index in range(self.count):
            if index not in running and index not in self._due:
                logger.error("serve worker %d has no process and no restart due; starting another", index)
                self._due[index] = time.monotonic()

    def _signal_all(self, sig: int) -> None:
        for pid in list(self._children):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


def _backoff(failures: int) -> float:
    """Seconds to wait before restarting a worker after ``failures`` fast failures in a
    row: none after the first, then 1, 2, 4, 5, 5... s."""
    return 0.0 if failures <= 1 else min(5.0, 0.25 * 2**failures)


def _dump_on_sigusr1() -> bool:
    """``kill -USR1`` writes every thread's stack to stderr (a stuck process says where
    it is); False where that cannot be registered (no SIGUSR1, or stderr has no fd)."""
    if not hasattr(signal, "SIGUSR1"):
        return False
    try:
        faulthandler.register(signal.SIGUSR1, all_threads=True, chain=False)
    except (OSError, ValueError, RuntimeError, AttributeError):  # io.UnsupportedOperation: no fileno
        return False
    return True


def _how_it_ended(status: int) -> str:
    if status < 0:
        return "ended (its exit status was lost)"
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"
