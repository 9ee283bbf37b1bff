"""Start ``manage.py serve`` as a real subprocess on a free loopback port.

Shared by the end-to-end tests (``tests/e2e/conftest.py``) and the benchmarks
(``benchmarks/*.py``) so that both measure and test the server exactly as a user runs
it, with the few measuring helpers the benchmarks share (process tree, resident
memory, percentiles). Standard library and httpx only: no Django in this process.
"""

from __future__ import annotations

import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
LIVENESS = "/v1beta/__liveness"


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile of ``values`` (nearest rank); NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))]


def print_verdicts(verdicts: list[tuple[str, str, bool]]) -> bool:
    """Print one line per (measured, target, met) with PASS or MISS; True when all are met."""
    width = max(len(text) for text, _, _ in verdicts) + 2
    target_width = max(len(target) for _, target, _ in verdicts) + 2
    for text, target, ok in verdicts:
        print(f"  {text:<{width}}target {target:<{target_width}}{'PASS' if ok else 'MISS'}")
    return all(ok for _, _, ok in verdicts)


def rss_kb(pid: int) -> int:
    """Resident memory (VmRSS) of a live process, in kB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _started(pid: int) -> int | None:
    """The process's start time in clock ticks (tells a pid from its reuse); None when
    it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat.rpartition(")")[2].split()
    return None if fields[0] == "Z" else int(fields[19])


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the live processes ``pids`` have used so far (Linux)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its live descendants (serve's run workers and whatever they start),
    parents first; empty when ``pid`` is gone. Read from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    if _started(pid) is None:
        return []
    tree, pending = [], [pid]
    while pending:
        current = pending.pop(0)
        tree.append(current)
        pending.extend(sorted(children.get(current, ())))
    return tree


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerError(RuntimeError):
    """The server died or never answered; the message carries its output."""


class Server:
    """One ``manage.py serve`` process with its own data dir, admin password and key.

    Its stdout and stderr go to ``log_path`` (a file, not a pipe, so a chatty server
    can never block on a full pipe); ``output()`` reads them back for error messages.
    """

    def __init__(
        self,
        *,
        data_dir: Path,
        admin_password: str,
        log_path: Path,
        port: int | None = None,
        grpc_port: int | None = None,
        env: dict[str, str] | None = None,
        python: str = sys.executable,
        server: str | None = None,
        root: Path = ROOT,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.admin_password = admin_password
        self.log_path = Path(log_path)
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.grpc_port = grpc_port or free_port()
        while self.grpc_port == self.port:  # two free ports asked in a row can be the same one
            self.grpc_port = free_port()
        self.grpc_target = f"127.0.0.1:{self.grpc_port}"
        self.python = python
        # The ASGI server (`serve --server`); None: serve's default (PIPELINE_SERVER).
        self.server = server
        # The checkout whose manage.py runs (benchmarks/lcp.py compares an older one).
        self.root = Path(root)
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 60.0) -> str:
        """Start the server and wait until liveness answers 200; returns the base URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "PIPELINE_DATA_DIR": str(self.data_dir),
            "PIPELINE_ADMIN_USER": "admin",
            "PIPELINE_ADMIN_PASSWORD": self.admin_password,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        command = [
            self.python,
            str(self.root / "manage.py"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--grpc-port",
            str(self.grpc_port),
            *(["--server", self.server] if self.server else []),
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=self.root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self.process.poll() is not None:
                    raise ServerError(
                        f"manage.py serve exited with code {self.process.returncode} before answering "
                        f"{LIVENESS}. Its output:\n{self.output()}"
                    )
                try:
                    if client.get(self.base_url + LIVENESS).status_code == 200:
                        return self.base_url
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise ServerError(
                        f"manage.py serve did not answer {LIVENESS} within {timeout:.0f} s. Its output:\n{self.output()}"
                    )
                time.sleep(0.1)

    def stop(self, *, grace: float = 10.0) -> list[str]:
        """SIGTERM, then SIGKILL if it is still there after ``grace`` seconds; then
        SIGKILL whatever it started that outlived it (a run worker stuck in C code
        never reads that serve closed its socket, and is in a session of its own).
        Returns what had to be killed ("serve 123", "child 456"), usually nothing."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return []
        killed = []
        descendants = [(pid, _started(pid)) for pid in process_tree(process.pid)[1:]]
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace)
            killed.append(f"serve {process.pid}")
        deadline = time.monotonic() + 2.0
        for pid, started in descendants:
            while _started(pid) == started and time.monotonic() < deadline:
                time.sleep(0.05)
            if _started(pid) == started:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(f"child {pid}")
                except ProcessLookupError:
                    pass
        return killed

    def processes(self) -> list[int]:
        """The pids of serve and of every process it started that is still running."""
        return process_tree(self.process.pid) if self.process is not None else []

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def create_token(self, token_id: str) -> str:
        """Create a never-expiring API token for the admin with Basic auth; returns it."""
        response = httpx.post(
            self.base_url + "/v1beta/tokens",
            json={"id": token_id, "ttl": -1},
            auth=("admin", self.admin_password),
            timeout=10.0,
        )
        if response.status_code != 201:
            raise ServerError(f"POST /v1beta/tokens answered {response.status_code}: {response.text}")
        return response.json()["token"]["accessToken"]

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextmanager
def bench_server(
    prefix: str, *, keep_log: bool = False, grace: float = 10.0, root: Path = ROOT, asgi_server: str | None = None
) -> Iterator[Server]:
    """A started server for a benchmark: its own temporary data dir, log at WARNING,
    DEBUG off; ``asgi_server`` picks the ASGI server (default: serve's). On exit it is
    stopped (with whatever it started) and its data dir
    removed, or, with ``keep_log``, kept and the log's path printed."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    server = Server(
        data_dir=workdir / "data",
        admin_password="bench-admin-password",
        log_path=workdir / "server.log",
        env={"LOG_LEVEL": "WARNING", "DEBUG": "false"},
        server=asgi_server,
        root=root,
    )
    shown = f" --server {asgi_server}" if asgi_server else ""
    print(f"Starting manage.py serve{shown} on {server.base_url} (data in {workdir}) ...", flush=True)
    try:
        server.start(timeout=60)
        yield server
    finally:
        if killed := server.stop(grace=grace):
            print(f"  not stopped {grace:g} s after SIGTERM, killed: {', '.join(killed)}", flush=True)
        if keep_log:
            print(f"Server log: {server.log_path}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
