"""The parent of ``serve --workers`` (pipelines/serve_workers.py) on its own, with small
children instead of servers: it restarts a child that dies (even when a fork fails),
gives up on one that keeps failing at start, stops every child on SIGTERM, and leaves
the exit status of processes it did not start to whoever started them.

Each supervisor runs in a Python process of its own, as ``serve`` does: forking this
test process, which has threads, could deadlock a child."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from pipelines import serve_workers

ROOT = Path(__file__).resolve().parent.parent

# argv: the file each child logs "index restarted pid" to. Child 1 dies at once the first
# time; then every child sleeps until SIGTERM. FAILING makes child 0 fail at every start;
# FORKFAILS makes the first fork that would replace child 1 fail (EAGAIN, as at the
# process limit). Beside the supervisor runs a process the script itself started (it
# exits with 3): its status must reach the script's Popen, not the supervisor.
SUPERVISE = """
import errno, logging, os, subprocess, sys, time
from pipelines import serve_workers

logging.basicConfig(level=logging.INFO)

serve_workers.FAST_FAILURES_ALLOWED = 3
log, failing = sys.argv[1], sys.argv[2] == "failing"
other = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
forks = []
if sys.argv[2] == "forkfails":
    real_fork = os.fork

    def fork():
        forks.append(1)
        if len(forks) == 3:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        return real_fork()

    os.fork = fork

def child(index, restarted):
    with open(log, "a") as file:
        file.write(f"{index} {restarted} {os.getpid()}\\n")
    if failing and index == 0:
        raise RuntimeError("cannot start")
    if not failing and index == 1 and not restarted:
        return 7
    time.sleep(60)
    return 0

code = serve_workers.Supervisor(2, child).run()
print("the other process exited with", other.wait(), file=sys.stderr)
sys.exit(code)
"""


def _supervise(tmp_path: Path, mode: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / "starts"
    process = subprocess.Popen(
        [sys.executable, "-c", SUPERVISE, str(log), mode],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, log


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def _replaced_then_stopped(tmp_path: Path, mode: str) -> tuple[list[str], str]:
    """Supervise in ``mode`` until child 1 has been replaced, then SIGTERM: the children's
    log lines and the supervisor's stderr."""
    process, log = _supervise(tmp_path, mode)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(_lines(log)) < 3:
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=20)
    assert process.returncode == 0, errors
    lines = _lines(log)
    assert sorted(line.rsplit(" ", 1)[0] for line in lines) == ["0 False", "1 False", "1 True"], errors
    return lines, errors


def test_a_dead_child_is_replaced_and_sigterm_stops_them_all(tmp_path: Path) -> None:
    lines, errors = _replaced_then_stopped(tmp_path, "replace")
    assert "serve worker 1 (pid" in errors and "exited with code 7; starting another" in errors
    restarted = next(line for line in lines if line.startswith("1 True")).split()[2]
    assert f"serve worker 1 started again (pid {restarted})" in errors
    assert "the other process exited with 3" in errors, "the supervisor took a status that was not its own"
    deadline = time.monotonic() + 5
    pids = [int(line.rsplit(" ", 1)[1]) for line in lines]
    while time.monotonic() < deadline and not all(_gone(pid) for pid in pids):
        time.sleep(0.02)
    assert all(_gone(pid) for pid in pids), "no child outlives the supervisor"


def test_a_fork_that_fails_is_tried_again(tmp_path: Path) -> None:
    """A fork refused (EAGAIN at the process limit, ENOMEM) does not end serve nor leave
    the worker without a process: the restart is tried again a moment later."""
    _, errors = _replaced_then_stopped(tmp_path, "forkfails")
    assert "could not start serve worker 1 ([Errno 11] Resource temporarily unavailable); trying again in" in errors
    assert "Traceback" not in errors, errors


def test_a_child_that_keeps_failing_at_start_stops_serve(tmp_path: Path) -> None:
    process, log = _supervise(tmp_path, "failing")
    _, errors = process.communicate(timeout=30)
    assert process.returncode == 1, errors  # and child 1 was stopped with it
    assert sorted(line.split()[0] for line in _lines(log)) == ["0", "0", "0", "1"]
    assert errors.count("RuntimeError: cannot start") == 3


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


def test_the_supervisor_module_needs_no_django() -> None:
    """What the parent runs between forks imports nothing that starts threads."""
    code = "import sys; import pipelines.serve_workers; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
