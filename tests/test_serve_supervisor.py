"""The parent of ``serve --workers`` (pipelines/serve_workers.py) on its own, with small
children instead of servers: it restarts a child that dies, gives up on one that keeps
failing at start, and stops every child on SIGTERM."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from pipelines import serve_workers


def _log(path: Path, line: str) -> None:
    with open(path, "a") as file:
        file.write(line + "\n")


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _signal_self_when(predicate, sig: int = signal.SIGTERM, timeout: float = 10.0) -> threading.Thread:
    """Send ``sig`` to this process (the supervisor) once ``predicate()`` holds."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not predicate():
            time.sleep(0.02)
        os.kill(os.getpid(), sig)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_dead_child_is_replaced_and_sigterm_stops_them_all(tmp_path: Path) -> None:
    starts = tmp_path / "starts"

    def child(index: int, restarted: bool) -> int:
        _log(starts, f"{index} {restarted} {os.getpid()}")
        if index == 1 and not restarted:
            return 7  # the first child 1 dies at once: it is replaced
        time.sleep(60)  # until SIGTERM
        return 0

    supervisor = serve_workers.Supervisor(2, child)
    _signal_self_when(lambda: len(_lines(starts)) >= 3)
    started = time.monotonic()
    assert supervisor.run() == 0
    assert time.monotonic() - started < 10
    seen = sorted(line.rsplit(" ", 1)[0] for line in _lines(starts))
    assert seen == ["0 False", "1 False", "1 True"]
    for line in _lines(starts):
        pid = int(line.rsplit(" ", 1)[1])
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped: none is left running or a zombie


def test_a_child_that_keeps_failing_at_start_stops_serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve_workers, "FAST_FAILURES_ALLOWED", 3)
    starts = tmp_path / "starts"

    def child(index: int, restarted: bool) -> int:
        _log(starts, str(index))
        if index == 0:
            raise RuntimeError("cannot start")  # printed by the child, exit code 1
        time.sleep(60)
        return 0

    started = time.monotonic()
    assert serve_workers.Supervisor(2, child).run() == 1  # and child 1 was stopped with it
    assert time.monotonic() - started < 10
    assert sorted(_lines(starts)) == ["0", "0", "0", "1"]


def test_every_child_gets_a_socket_on_the_one_port() -> None:
    sockets = serve_workers.listening_sockets("127.0.0.1", 0, 1)
    port = sockets[0].getsockname()[1]
    sockets[0].close()
    sockets = serve_workers.listening_sockets("127.0.0.1", port, 3)
    try:
        assert len(sockets) == 3 and {sock.getsockname()[1] for sock in sockets} == {port}
        distinct = len({sock.fileno() for sock in sockets})
        assert distinct == (3 if serve_workers.reuse_port() else 1)
    finally:
        for sock in set(sockets):
            sock.close()
