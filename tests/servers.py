"""Real database servers for component tests: PostgreSQL, MariaDB and Redis.

Session-scoped pytest fixtures (registered for the whole suite by tests/conftest.py),
each started on first use — a run that selects no test needing one never starts it —
in a private temporary directory on a free 127.0.0.1 port, and stopped at the end of
the session. PostgreSQL and Redis are started as tests/scale/services.py starts them
for the scale-out pass; MariaDB (Debian's ``mariadb-server``, installed by
scripts/install-system-deps.sh) the same way: ``mariadb-install-db`` into a temporary
datadir and ``mariadbd`` as the ``mysql`` user when we are root. A server whose
binaries are missing skips its tests with the reason (never a silent pass).

Each fixture yields a :class:`Database`: where to connect, and a user with a password
(the component's setup), so tests cover password authentication too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.scale.services import (
    Postgres,
    ServiceUnavailable,
    _stop_process,
    _tail,
    _wait_port,
    free_port,
    start_postgres,
    start_redis,
)

USER = "pipeline"
PASSWORD = "s3cret-db-password"
DATABASE = "pipeline"


@dataclass(frozen=True)
class Database:
    engine: str  # the sql component's setup.engine
    host: str
    port: int
    username: str = USER
    password: str = PASSWORD
    database: str = DATABASE

    def setup(self, **changes: object) -> dict[str, object]:
        """The sql component's setup for this server (``changes`` override fields)."""
        return {
            "engine": self.engine,
            "username": self.username,
            "password": self.password,
            "database-name": self.database,
            "host": self.host,
            "port": self.port,
            "ssl-tls": {"ssl-tls-type": "NO TLS"},
            **changes,
        }


def _skip_if_unavailable(start):  # type: ignore[no-untyped-def]
    try:
        return start()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))


# --- PostgreSQL -----------------------------------------------------------------------


def _postgres_user(pg: Postgres) -> None:
    """A password-authenticated user owning the database (the cluster trusts loopback,
    so the password is sent but not needed; MariaDB's tests check a wrong one)."""
    sql = f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'; ALTER DATABASE {DATABASE} OWNER TO {USER};"
    sql += f" GRANT ALL ON SCHEMA public TO {USER};"
    done = subprocess.run(
        [
            *pg.run_as,
            str(pg.bindir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(pg.port),
            "-U",
            pg.user,
            "-d",
            DATABASE,
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"psql failed:\n{done.stderr}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Database]:
    pg = _skip_if_unavailable(lambda: start_postgres(DATABASE))
    try:
        _postgres_user(pg)
        yield Database("PostgreSQL", "127.0.0.1", pg.port)
    finally:
        pg.stop()


# --- MariaDB --------------------------------------------------------------------------


@dataclass
class MariaDB:
    proc: subprocess.Popen[bytes]
    directory: Path
    port: int

    def stop(self) -> None:
        _stop_process(self.proc, timeout=20)
        shutil.rmtree(self.directory, ignore_errors=True)


def _mariadb_binaries() -> tuple[str, str]:
    server = shutil.which("mariadbd") or ("/usr/sbin/mariadbd" if os.path.exists("/usr/sbin/mariadbd") else None)
    install = shutil.which("mariadb-install-db")
    if not server or not install:
        raise ServiceUnavailable(
            "MariaDB is not installed (Debian package mariadb-server; scripts/install-system-deps.sh installs it)"
        )
    return server, install


def _mysql_identity() -> list[str]:
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    try:
        import pwd

        pwd.getpwnam("mysql")
    except KeyError as exc:
        raise ServiceUnavailable("running as root and there is no 'mysql' user to run MariaDB as") from exc
    if not runuser:
        raise ServiceUnavailable("running as root and runuser(1) is missing: cannot run MariaDB as 'mysql'")
    return [runuser, "-u", "mysql", "--"]


def start_mariadb() -> MariaDB:
    server, install = _mariadb_binaries()
    run_as = _mysql_identity()
    # In memory where there is /dev/shm: every CREATE and DROP TABLE syncs files.
    directory = Path(
        tempfile.mkdtemp(prefix="pipeline-mariadb-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    )
    if run_as:
        shutil.chown(directory, user="mysql", group=None)
    datadir = directory / "data"
    socket_path = directory / "mariadb.sock"
    init = subprocess.run(
        [
            *run_as,
            install,
            "--no-defaults",
            f"--datadir={datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if init.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        raise RuntimeError(f"mariadb-install-db failed:\n{init.stdout}\n{init.stderr}")
    log = directory / "error.log"
    last_error = ""
    for _ in range(3):  # a free port can be taken between finding and binding it
        port = free_port()
        options = [
            f"--datadir={datadir}", f"--socket={socket_path}", f"--port={port}", "--bind-address=127.0.0.1",
            "--skip-name-resolve", "--skip-log-bin", f"--log-error={log}", f"--pid-file={directory / 'mariadb.pid'}",
            # Throw-away data: small, and no durability.
            "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M", "--innodb-flush-log-at-trx-commit=0",
            "--innodb-doublewrite=0", "--performance-schema=OFF",
        ]  # fmt: skip
        proc = subprocess.Popen(
            [*run_as, server, "--no-defaults", *options],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_port(port, proc, "mariadbd", log, timeout=60)
            break
        except RuntimeError as exc:
            last_error = str(exc)
            _stop_process(proc)
    else:
        shutil.rmtree(directory, ignore_errors=True)
        raise RuntimeError(f"could not start mariadbd: {last_error}")
    db = MariaDB(proc=proc, directory=directory, port=port)
    statements = (
        f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4; "
        f"CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'; "
        f"GRANT ALL ON {DATABASE}.* TO '{USER}'@'%';"
    )
    deadline = time.monotonic() + 30
    while True:
        done = subprocess.run(
            ["mariadb", "--no-defaults", "-S", str(socket_path), "-u", "root", "-e", statements],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode == 0:
            return db
        if time.monotonic() > deadline:
            db.stop()
            raise RuntimeError(f"could not create the MariaDB user:\n{done.stderr}\n{_tail(log)}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[Database]:
    db = _skip_if_unavailable(start_mariadb)
    try:
        yield Database("MariaDB", "127.0.0.1", db.port)
    finally:
        db.stop()


# --- Redis ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Database]:
    """A redis-server on a free port; its ``port`` is what the redis component's setup takes."""
    redis = _skip_if_unavailable(start_redis)
    try:
        yield Database("Redis", "127.0.0.1", redis.port, username="", password="", database="0")
    finally:
        redis.stop()


__all__ = ["Database", "mariadb_server", "postgres_server", "redis_server", "start_mariadb"]
