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
(the component's setup), so tests cover password authentication too. PostgreSQL and
MariaDB also speak TLS with a certificate for ``localhost`` and 127.0.0.1 issued by a
throw-away CA (:func:`tls_material`); ``redis_tls_server`` is a Redis that speaks only
TLS.
"""

from __future__ import annotations

import base64
import datetime
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
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


# --- TLS ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TLSMaterial:
    """PEM files of a CA, a server certificate for localhost/127.0.0.1 and a client
    certificate, all signed by the CA."""

    directory: Path
    ca: bytes
    server_cert: bytes
    server_key: bytes
    client_cert: bytes
    client_key: bytes

    def path(self, name: str) -> Path:
        return self.directory / name

    @staticmethod
    def b64(pem: bytes) -> str:
        return base64.b64encode(pem).decode()


def _certificate(subject: str, issuer_key, issuer_name, key, *, ca: bool = False, server: bool = False):  # type: ignore[no-untyped-def]
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


@cache
def tls_material() -> TLSMaterial:
    """A throw-away CA and the certificates it signs, as files readable by the servers."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    def pem_key(key) -> bytes:  # type: ignore[no-untyped-def]
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def pem_cert(cert) -> bytes:  # type: ignore[no-untyped-def]
        return cert.public_bytes(serialization.Encoding.PEM)

    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _certificate("pipeline test CA", ca_key, None, ca_key, ca=True)
    server = _certificate("localhost", ca_key, ca.subject, server_key, server=True)
    client = _certificate(USER, ca_key, ca.subject, client_key)
    directory = Path(tempfile.mkdtemp(prefix="pipeline-tls-"))
    directory.chmod(0o755)
    material = TLSMaterial(
        directory=directory,
        ca=pem_cert(ca),
        server_cert=pem_cert(server),
        server_key=pem_key(server_key),
        client_cert=pem_cert(client),
        client_key=pem_key(client_key),
    )
    for name in ("ca", "server_cert", "server_key"):
        path = directory / f"{name}.pem"
        path.write_bytes(getattr(material, name))
        path.chmod(0o644)  # test keys: the servers run as other users and must read them
    return material


def _own_copy(source: Path, directory: Path, user: str | None, mode: int) -> Path:
    """A copy of ``source`` in ``directory`` owned by ``user`` (PostgreSQL wants its key
    file private to it)."""
    target = directory / source.name
    shutil.copyfile(source, target)
    if user:
        shutil.chown(target, user=user, group=None)
    target.chmod(mode)
    return target


@dataclass(frozen=True)
class Database:
    engine: str  # the sql component's setup.engine
    host: str
    port: int
    username: str = USER
    password: str = PASSWORD
    database: str = DATABASE
    tls: TLSMaterial | None = field(default=None, repr=False)

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


def _postgres_user(pg: Postgres, tls: TLSMaterial) -> None:
    """A password-authenticated user owning the database (the cluster trusts loopback,
    so the password is sent but not needed; MariaDB's tests check a wrong one), and TLS
    switched on (client certificates signed by the test CA are checked when sent)."""
    owner = "postgres" if pg.run_as else None
    files = {
        name: _own_copy(tls.path(f"{name}.pem"), pg.directory, owner, 0o600)
        for name in ("ca", "server_cert", "server_key")
    }
    statements = [
        f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'",
        f"ALTER DATABASE {DATABASE} OWNER TO {USER}",
        f"GRANT ALL ON SCHEMA public TO {USER}",
        f"ALTER SYSTEM SET ssl_cert_file = '{files['server_cert']}'",
        f"ALTER SYSTEM SET ssl_key_file = '{files['server_key']}'",
        f"ALTER SYSTEM SET ssl_ca_file = '{files['ca']}'",
        "ALTER SYSTEM SET ssl = on",
        "SELECT pg_reload_conf()",
    ]
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
            *(arg for statement in statements for arg in ("-c", statement)),
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
        _postgres_user(pg, tls_material())
        yield Database("PostgreSQL", "127.0.0.1", pg.port, tls=tls_material())
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
    tls = tls_material()
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
            f"--ssl-cert={tls.path('server_cert.pem')}", f"--ssl-key={tls.path('server_key.pem')}",
            f"--ssl-ca={tls.path('ca.pem')}",
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
        yield Database("MariaDB", "127.0.0.1", db.port, tls=tls_material())
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


@pytest.fixture(scope="session")
def redis_tls_server() -> Iterator[Database]:
    """A redis-server that speaks only TLS (the test CA's certificate for localhost)."""
    tls = tls_material()
    files = (tls.path("server_cert.pem"), tls.path("server_key.pem"), tls.path("ca.pem"))
    redis = _skip_if_unavailable(lambda: start_redis(tls=files))
    try:
        yield Database("Redis", "localhost", redis.port, username="", password="", database="0", tls=tls)
    finally:
        redis.stop()


__all__ = [
    "Database",
    "TLSMaterial",
    "mariadb_server",
    "postgres_server",
    "redis_server",
    "redis_tls_server",
    "start_mariadb",
    "tls_material",
]
