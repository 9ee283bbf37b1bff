"""Real mail servers for the email component's tests, started by the tests.

- SMTP: aiosmtpd (a real SMTP server in Python) on a free loopback port, with login
  (AUTH PLAIN/LOGIN, only over TLS) and either STARTTLS or TLS from the first byte.
- IMAP: Debian's Dovecot (``dovecot-imapd``, installed by scripts/install-system-deps.sh)
  run as an unprivileged user with a configuration, a password file, a Maildir and a
  self-signed certificate in a temporary directory, on two free loopback ports: one
  that speaks TLS from the first byte, one plain with STARTTLS. When the tests run as
  root, Dovecot runs as its package's ``dovecot`` user (it refuses to serve as root).

The certificate is made by the tests (``cryptography``) for ``localhost``/127.0.0.1;
clients trust it through ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import datetime
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.scale.services import free_port

__all__ = ["Dovecot", "Smtp", "free_port", "make_certificate", "start_dovecot", "start_smtp"]

USER = "alice@example.com"
PASSWORD = "app-password-0123456789"
DOVECOT = "/usr/sbin/dovecot"


def make_certificate(directory: Path, name: str = "localhost") -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` and 127.0.0.1: (cert.pem, key.pem)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


# --- SMTP -----------------------------------------------------------------------------


@dataclass
class Smtp:
    port: int
    certificate: tuple[Path, Path]
    received: list[Any] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    controller: Any = None

    def stop(self) -> None:
        self.controller.stop()


def start_smtp(cert: Path, key: Path, *, implicit_tls: bool) -> Smtp:
    """aiosmtpd with login over TLS only; ``implicit_tls``: TLS from the first byte,
    else STARTTLS (required before MAIL)."""
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = Smtp(free_port(), (cert, key))

    class Handler:
        async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
            server.received.append(envelope)
            return "250 OK"

    def authenticator(smtp: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            login, password = data.login.decode(), data.password.decode()
            server.logins.append((login, password))
            if (login, password) == (USER, PASSWORD):
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    options: dict[str, Any] = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": True}
    if implicit_tls:
        # aiosmtpd does not count TLS from the first byte as TLS for auth_require_tls.
        options.update(ssl_context=context, auth_require_tls=False)
    else:
        options["tls_context"] = context
        options["require_starttls"] = True
    server.controller = Controller(
        Handler(), hostname="127.0.0.1", port=server.port, server_hostname="localhost", **options
    )
    server.controller.start()
    return server


# --- IMAP -----------------------------------------------------------------------------


@dataclass
class Dovecot:
    directory: Path
    tls_port: int
    starttls_port: int
    process_user: str

    def maildir(self) -> Path:
        return self.directory / "home" / USER / "Maildir"

    def deliver(self, raw: bytes, name: str) -> None:
        """Put one message into the INBOX (Maildir's ``new``), owned by Dovecot's user."""
        new = self.maildir() / "new"
        new.mkdir(parents=True, exist_ok=True)
        for sub in ("cur", "tmp"):
            (self.maildir() / sub).mkdir(exist_ok=True)
        path = new / f"{int(time.time())}.{name}.test"
        path.write_bytes(raw)
        self._own(self.directory / "home")

    def _own(self, path: Path) -> None:
        if os.geteuid() == 0:
            user = pwd.getpwnam(self.process_user)
            for root, dirs, files in os.walk(path):
                for entry in [root, *(os.path.join(root, n) for n in dirs + files)]:
                    os.chown(entry, user.pw_uid, user.pw_gid)

    def stop(self) -> None:
        pid_file = self.directory / "run" / "master.pid"
        if pid_file.exists():
            _end(int(pid_file.read_text().strip()))
        shutil.rmtree(self.directory, ignore_errors=True)


def _end(pid: int) -> None:
    """Stop the Dovecot master this module started (its children follow it)."""
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def dovecot_available() -> bool:
    return os.path.exists(DOVECOT)


def start_dovecot(certificate: tuple[Path, Path]) -> Dovecot:
    """Dovecot serving IMAP for :data:`USER` / :data:`PASSWORD` from a Maildir in a new
    temporary directory (one Dovecot's user can enter: pytest's are the caller's only)."""
    directory = Path(tempfile.mkdtemp(prefix="pipeline-dovecot-"))
    directory.chmod(0o755)
    cert, key = directory / "cert.pem", directory / "key.pem"
    shutil.copyfile(certificate[0], cert)
    shutil.copyfile(certificate[1], key)
    run_as = "dovecot" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    user = pwd.getpwnam(run_as)
    group = _group_name(user.pw_gid)
    server = Dovecot(directory, free_port(), free_port(), run_as)
    for sub in ("run", "state", "home"):
        (directory / sub).mkdir(exist_ok=True)
    (directory / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    (directory / "dovecot.conf").write_text(
        f"""\
base_dir = {directory}/run
state_dir = {directory}/state
instance_name = pipeline-test-{server.tls_port}
listen = 127.0.0.1
protocols = imap
default_internal_user = {run_as}
default_internal_group = {group}
default_login_user = {run_as}
first_valid_uid = 1
first_valid_gid = 1
log_path = {directory}/dovecot.log
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
auth_mechanisms = plain login
disable_plaintext_auth = yes
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {directory}/passwd
}}
userdb {{
  driver = static
  args = uid={user.pw_uid} gid={user.pw_gid} home={directory}/home/%u
}}
mail_location = maildir:~/Maildir
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {server.starttls_port}
  }}
  inet_listener imaps {{
    port = {server.tls_port}
    ssl = yes
  }}
}}
"""
    )
    server.deliver(b"", "placeholder")  # makes the Maildir
    for path in (server.maildir() / "new").iterdir():
        path.unlink()
    server._own(directory)
    command = [DOVECOT, "-c", str(directory / "dovecot.conf")]
    if os.geteuid() == 0:
        command = [
            shutil.which("setpriv") or "setpriv",
            f"--reuid={run_as}",
            f"--regid={group}",
            "--init-groups",
            *command,
        ]
    # Dovecot forks into the background; its children inherit no pipe of ours to wait on.
    with open(directory / "start.log", "wb") as log:
        subprocess.run(command, check=True, stdin=subprocess.DEVNULL, stdout=log, stderr=log, timeout=30)
    _wait_for(server.tls_port)
    _wait_for(server.starttls_port)
    return server


def _group_name(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"dovecot did not listen on {port}")
