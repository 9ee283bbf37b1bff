"""Throw-away Redis and PostgreSQL servers for the scale-out tests and the benchmark.

Each starts Debian's own binaries (``redis-server``; ``initdb``/``pg_ctl`` from
/usr/lib/postgresql/*/bin) in a private temporary directory, on a free 127.0.0.1
port, and is stopped (and the directory removed) by ``stop()``. Nothing touches the
system services or their data.

PostgreSQL refuses to run as root, so when we are root the cluster belongs to the
``postgres`` user the Debian package creates and every command runs through
``runuser -u postgres``. Authentication is ``trust`` on loopback only.

Also a small Celery worker launcher (``start_celery_worker``) shared by the tests
and the benchmark.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class ServiceUnavailable(RuntimeError):
    """The binaries are not installed here: callers skip (with this message), never pass."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, what: str, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s:\n{_tail(log)}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


# --- Redis --------------------------------------------------------------------------


@dataclass
class Redis:
    proc: subprocess.Popen
    port: int
    directory: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        _stop_process(self.proc)
        shutil.rmtree(self.directory, ignore_errors=True)


def redis_binary() -> str:
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )
    if not binary:
        raise ServiceUnavailable(
            "redis-server is not installed (Debian package redis-server; scripts/install-system-deps.sh installs it)"
        )
    return binary


def start_redis(tls: tuple[Path, Path, Path] | None = None) -> Redis:
    """A redis-server on a free port; with ``tls`` (certificate, key and CA files) it
    speaks only TLS there (tests/servers.py's ``redis_tls_server``)."""
    binary = redis_binary()
    directory = Path(tempfile.mkdtemp(prefix="pipeline-redis-"))
    last_error: Exception | None = None
    for _ in range(3):  # a free port can be taken between finding and binding it
        port = free_port()
        log = directory / "redis.log"
        ports = ["--port", str(port)]
        if tls is not None:
            cert, key, ca = (str(path) for path in tls)
            ports = ["--port", "0", "--tls-port", str(port), "--tls-auth-clients", "no"]
            ports += ["--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", ca]
        args = [
            binary,
            *ports,
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            str(log),
            "--protected-mode",
            "yes",
            "--maxclients",
            "1000",
        ]
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            _wait_port(port, proc, "redis-server", log)
            return Redis(proc=proc, port=port, directory=directory)
        except RuntimeError as exc:
            last_error = exc
            _stop_process(proc)
    shutil.rmtree(directory, ignore_errors=True)
    raise RuntimeError(f"could not start redis-server: {last_error}")


# --- PostgreSQL ---------------------------------------------------------------------


def postgres_bindir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise ServiceUnavailable(
        "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (Debian package postgresql; "
        "scripts/install-system-deps.sh installs it)"
    )


@dataclass
class Postgres:
    bindir: Path
    directory: Path
    port: int
    run_as: list[str] = field(default_factory=list)
    user: str = "postgres"

    @property
    def datadir(self) -> Path:
        return self.directory / "data"

    def url(self, database: str = "pipeline") -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "immediate", "-w", "-t", "30", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)


def _postgres_identity() -> tuple[list[str], str | None]:
    """The command prefix that runs PostgreSQL programs as a non-root user, and its name."""
    if os.geteuid() != 0:
        return [], None
    runuser = shutil.which("runuser")
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ServiceUnavailable("running as root and there is no 'postgres' user to run PostgreSQL as") from exc
    if runuser:
        return [runuser, "-u", "postgres", "--"], "postgres"
    raise ServiceUnavailable("running as root and runuser(1) is missing: cannot run PostgreSQL as 'postgres'")


def start_postgres(database: str = "pipeline") -> Postgres:
    bindir = postgres_bindir()
    run_as, owner = _postgres_identity()
    directory = Path(tempfile.mkdtemp(prefix="pipeline-postgres-"))
    if owner:
        shutil.chown(directory, user=owner, group=None)
    pg = Postgres(bindir=bindir, directory=directory, port=0, run_as=run_as)
    init = subprocess.run(
        [
            *run_as,
            str(bindir / "initdb"),
            "-D",
            str(pg.datadir),
            "-U",
            pg.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if init.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    log = directory / "postgres.log"
    last_error = ""
    for _ in range(3):
        pg.port = free_port()
        # Durability is worthless for a throw-away test cluster; speed is not.
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={pg.port} -c unix_socket_directories={directory} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
            "-c shared_buffers=64MB"
        )
        started = pg._pg_ctl("start", "-w", "-t", "60", "-l", str(log), "-o", options, check=False)
        if started.returncode == 0:
            break
        last_error = f"{started.stdout}\n{started.stderr}\n{_tail(log)}"
    else:
        pg.stop()
        raise RuntimeError(f"pg_ctl start failed:\n{last_error}")
    created = subprocess.run(
        [*run_as, str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", pg.user, database],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if created.returncode != 0:
        pg.stop()
        raise RuntimeError(f"createdb failed:\n{created.stderr}")
    return pg


# --- Celery workers -------------------------------------------------------------------


def start_celery_worker(
    env: dict[str, str], *, concurrency: int = 2, log: Path | None = None, name: str = "w1", cwd: Path = ROOT
) -> subprocess.Popen:
    """``celery -A instill_site worker`` (prefork) in its own process group; returns once ready."""
    celery = Path(sys.executable).with_name("celery")
    args = [
        str(celery),
        "-A",
        "instill_site",
        "worker",
        "--concurrency",
        str(concurrency),
        "--pool",
        "prefork",
        "-l",
        "info",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"{name}@%h",
    ]
    log = log or Path(tempfile.mkstemp(prefix=f"celery-{name}-", suffix=".log")[1])
    with open(log, "ab") as out:  # the worker keeps its own descriptor
        proc = subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    proc.log_path = log  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited with {proc.returncode}:\n{_tail(log, 60)}")
        if b" ready." in log.read_bytes():
            return proc
        time.sleep(0.1)
    stop_celery_worker(proc)
    raise RuntimeError(f"celery worker not ready within 60 s:\n{_tail(log, 60)}")


def stop_celery_worker(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """Warm shutdown (TERM), then KILL the whole process group if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: only this worker's children
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait(5)
