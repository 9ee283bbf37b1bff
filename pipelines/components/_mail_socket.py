"""Connections to mail servers for the ``email`` component: TCP only to an address that
passed the outbound guard, then TLS as the port calls for.

How TLS is chosen (Instill's setup has only ``server-address`` and ``server-port``):

- port 465 (SMTPS) and 993 (IMAPS): TLS from the first byte;
- port 25, 587, 2525 (SMTP submission) and 143 (IMAP): plain, then ``STARTTLS``;
- any other port: TLS is tried first, and a server that answers the TLS hello with a
  plain-text greeting (``220 ...``, ``* OK ...``: mail servers speak first) is taken
  as a plain one and asked for ``STARTTLS``.

The password is never sent over a connection that is not encrypted, except to a
loopback address (a local relay), as Go's ``net/smtp`` (which Instill uses) allows.
Certificates are verified against ``server-address`` with the system's trust store
(``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` name another, e.g. a private CA's).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from dataclasses import dataclass

from pipelines.engine.components import ComponentError

__all__ = [
    "IMPLICIT_TLS_PORTS",
    "STARTTLS_PORTS",
    "Endpoint",
    "MailConnection",
    "clear_text_refused",
    "open_connection",
]

IMPLICIT_TLS_PORTS = frozenset({465, 993})
STARTTLS_PORTS = frozenset({25, 143, 587, 2525})


@dataclass(frozen=True)
class Endpoint:
    """Where to connect: the name to verify the certificate against, the port, and the
    addresses the outbound guard vetted for it."""

    host: str
    port: int
    addresses: tuple[str, ...]
    timeout: float

    @property
    def loopback(self) -> bool:
        return all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in self.addresses)

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context()


@dataclass
class MailConnection:
    """An open socket and whether it is encrypted yet."""

    sock: socket.socket
    encrypted: bool


def _connect(endpoint: Endpoint) -> socket.socket:
    last: OSError | None = None
    for address in endpoint.addresses:
        try:
            return socket.create_connection((address, endpoint.port), timeout=endpoint.timeout)
        except OSError as exc:
            last = exc
    reason = last.strerror if last is not None and last.strerror else str(last)
    raise ComponentError(f"could not connect to {endpoint.host}:{endpoint.port}: {reason}")


def _wrap(sock: socket.socket, endpoint: Endpoint) -> socket.socket:
    try:
        return endpoint.tls_context().wrap_socket(sock, server_hostname=endpoint.host)
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        raise ComponentError(
            f"the certificate of {endpoint.host}:{endpoint.port} is not trusted: {exc.verify_message}"
        ) from None


def open_connection(endpoint: Endpoint) -> MailConnection:
    """A connection to ``endpoint``, encrypted from the start when the port (or the
    server's answer to a TLS hello) says so."""
    if endpoint.port in STARTTLS_PORTS:
        return MailConnection(_connect(endpoint), False)
    sock = _connect(endpoint)
    if endpoint.port in IMPLICIT_TLS_PORTS:
        return MailConnection(_wrap(sock, endpoint), True)
    try:
        return MailConnection(_wrap(sock, endpoint), True)
    except ComponentError:
        raise
    except ssl.SSLError:
        # A plain-text server greeted us instead of answering the hello: start again
        # in plain text, and upgrade with STARTTLS.
        sock.close()
        return MailConnection(_connect(endpoint), False)
    except OSError as exc:
        sock.close()
        raise ComponentError(f"TLS with {endpoint.host}:{endpoint.port} failed: {exc}") from None


def clear_text_refused(endpoint: Endpoint, protocol: str) -> ComponentError:
    return ComponentError(
        f"{endpoint.host}:{endpoint.port} offers neither TLS nor STARTTLS for {protocol}: "
        "the password is only sent over an encrypted connection (or to a loopback address)"
    )
