"""``manage.py serve``: migrate, make sure the admin and the demos exist, then serve
HTTP and websockets with daphne, and the gRPC API beside them on the same event loop."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from pipelines.demo import demo_ensure
from pipelines.engine import processes
from pipelines.services.users import admin_ensure, user_namespace

if TYPE_CHECKING:
    from twisted.internet.interfaces import ITCPTransport

DEFAULT_ADMIN_PASSWORD = "password"  # settings.PIPELINE_ADMIN_PASSWORD's default


def _proxy_headers() -> dict[str, str]:
    """daphne's options to take the client's address and scheme from the proxy's
    X-Forwarded-* headers (``PIPELINE_TRUST_PROXY_HEADERS``)."""
    if not settings.PIPELINE_TRUST_PROXY_HEADERS:
        return {}
    return {"proxy_forwarded_address_header": "X-Forwarded-For", "proxy_forwarded_proto_header": "X-Forwarded-Proto"}


def _http_port_check(host: str, port: int) -> None:
    """Fail with a message naming the port when ``host:port`` is taken.

    daphne only logs a failed listen and returns; checked first, ``serve`` stops before
    migrating or printing that it serves. Same socket options as Twisted's listen
    (``SO_REUSEADDR``: a port left in TIME_WAIT by a stopped server is free).
    """
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise CommandError(
                f"could not listen for HTTP on {host}:{port}: {exc.strerror}. Is another server using port {port}? "
                "Choose another with --port (`make run PORT=...`)."
            ) from exc


def _request_class():
    import json

    from daphne.http_protocol import WebRequest

    from pipelines.api.errors import error_body, too_big_message

    limit = settings.PIPELINE_MAX_REQUEST_BYTES

    class PipelineRequest(WebRequest):
        """daphne's request, with two changes at the HTTP layer:

        - bodies over ``PIPELINE_MAX_REQUEST_BYTES`` are refused (413 in the API's error
          shape) as soon as the Content-Length says so, or as soon as a chunked body
          passes the limit — before the rest is received or written to disk;
        - Twisted does not parse form bodies, which Django parses itself (Twisted would
          read a multipart upload whole into memory, and runs every POST's
          Content-Type through the email package).
        """

        def __init__(self, *args, **kwargs):
            kwargs["parsePOSTFormSubmission"] = False
            super().__init__(*args, **kwargs)
            self._received = 0
            self._refused = False

        def gotLength(self, length):
            super().gotLength(length)
            if length is not None and length > limit:
                self._refuse()

        def handleContentChunk(self, data):
            if self._refused:
                return
            self._received += len(data)
            if self._received > limit:
                self._refuse()
                return
            super().handleContentChunk(data)

        def requestReceived(self, command, path, version):
            if not self._refused:
                super().requestReceived(command, path, version)

        def _refuse(self):
            self._refused = True
            body = json.dumps(error_body(8, too_big_message(limit))).encode()
            head = (
                b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
            )
            self.channel.transport.write(head + body)
            self.channel.transport.loseConnection()

    return PipelineRequest


def _channel_protocol():
    """The protocol factory for daphne's HTTP factory: Twisted's, with
    :class:`PipelineChannel` as the channel.

    Twisted refuses a request line or header line over 16,384 bytes by closing the
    connection without a word, and a request whose headers pass 16,384 bytes in all (or
    500 headers, or that it cannot parse) with a bare ``400 Bad Request``. The channel
    answers those with a 400 in the API's error shape that names the header (or the
    request line) and the limit, so a client that sends, say, a 100 KB Idempotency-Key
    learns what to fix.
    """
    import json
    import re

    from twisted.internet import reactor
    from twisted.web.http import HTTPChannel, _GenericHTTPChannelProtocol

    from pipelines.api.errors import error_body

    header_name = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}):")
    # After the answer the connection lingers this long, reading and dropping what the
    # client is still sending: closing with unread data makes the kernel send a reset,
    # and a reset can destroy the answer before the client has read it.
    linger_seconds = 2.0
    linger_bytes = 1024 * 1024

    class PipelineChannel(HTTPChannel):
        _line = b""
        _refused = False
        _dropped = 0

        def lineReceived(self, line):
            if self._refused:
                return
            self._line = line
            super().lineReceived(line)

        def lineLengthExceeded(self, line):
            self._refuse(f"{self._what(line)} is longer than {self.MAX_LENGTH} bytes, the server's limit for one line")

        def _respondToBadRequestAndDisconnect(self):
            if self._receivedHeaderSize > self.totalHeadersSize:
                message = (
                    f"the request's headers are larger than {self.totalHeadersSize} bytes in all, the server's limit "
                    f"(passed at {self._what(self._line)})"
                )
            elif self._receivedHeaderCount > self.maxHeaders:
                message = f"the request has more than {self.maxHeaders} headers, the server's limit"
            else:
                message = "malformed HTTP request: the request line or a header could not be parsed"
            self._refuse(message)

        def _what(self, line: bytes) -> str:
            # A request line starts with a method and a space, never with "name:".
            found = header_name.match(line)
            return f"the {found.group(1).decode()} header" if found else "the request line (method and URL)"

        def _refuse(self, message: str):
            """Answer 400 and stop reading requests from this connection."""
            if self._refused:
                return
            self._refused = True
            self._buffer = b""  # LineReceiver stops at once: no more lines of this request
            body = json.dumps(error_body(3, message)).encode()
            transport = cast("ITCPTransport", self.transport)  # a connection being read has one
            transport.write(
                b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
            )
            self.setTimeout(None)
            transport.loseWriteConnection()
            reactor.callLater(linger_seconds, transport.abortConnection)

        def dataReceived(self, data):
            if self._refused:
                self._dropped += len(data)
                if self._dropped > linger_bytes:
                    cast("ITCPTransport", self.transport).abortConnection()
                return
            super().dataReceived(data)

    def protocol(factory):
        return _GenericHTTPChannelProtocol(PipelineChannel())

    return protocol


class Command(BaseCommand):
    help = "Run Pipeline: migrations, admin user, demo pipelines, then the HTTP/websocket server."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
        parser.add_argument("--port", type=int, default=8080, help="HTTP port (default 8080)")
        parser.add_argument(
            "--grpc-port",
            type=int,
            default=None,
            help="gRPC port (default PIPELINE_GRPC_PORT, 8081; 0: no gRPC server)",
        )
        parser.add_argument("--no-demo", action="store_true", help="do not install the demo pipelines")
        parser.add_argument(
            "--run-workers",
            type=int,
            default=None,
            help="processes that execute sync triggers beside the server (default: PIPELINE_RUN_WORKERS, 1; 0: none)",
        )

    def handle(
        self, *args, host: str, port: int, grpc_port: int | None, no_demo: bool, run_workers: int | None, **options
    ):
        _http_port_check(host, port)
        settings.PIPELINE_DATA_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        # Hashed, gzipped copies of static/ for the pages to link (pipelines/staticfiles.py);
        # only new or changed files are copied and compressed again.
        call_command("collectstatic", interactive=False, verbosity=0)
        username = settings.PIPELINE_ADMIN_USER
        user, created = admin_ensure(username=username, password=settings.PIPELINE_ADMIN_PASSWORD)
        if created:
            # The default password is public anyway (and must be changed); one the operator
            # chose is a secret and never goes to a log.
            if settings.PIPELINE_ADMIN_PASSWORD == DEFAULT_ADMIN_PASSWORD:
                self.stdout.write(f"Created the admin user {username!r} with password {DEFAULT_ADMIN_PASSWORD!r}.")
                self.stderr.write(
                    self.style.WARNING(
                        "WARNING: the admin password is the default 'password'. Change it (manage.py changepassword "
                        f"{username}) or set PIPELINE_ADMIN_PASSWORD before the first start."
                    )
                )
            else:
                self.stdout.write(
                    f"Created the admin user {username!r} with the password set in PIPELINE_ADMIN_PASSWORD."
                )
        if not no_demo:
            for pipeline_id in demo_ensure(namespace=user_namespace(user)):
                self.stdout.write(f"Installed demo pipeline {username}/{pipeline_id}.")
        self._recover()
        self._serve(
            host,
            port,
            settings.PIPELINE_GRPC_PORT if grpc_port is None else grpc_port,
            settings.PIPELINE_RUN_WORKERS if run_workers is None else run_workers,
        )

    def _recover(self) -> None:
        """Runs left PROCESSING by a dead process are failed; queued ones resume here."""
        from pipelines.services.operations import executor, runs_recover
        from pipelines.services.run_files import cleanup_run_files

        cleanup_run_files()
        failed = runs_recover()
        if failed:
            self.stdout.write(f"Marked {failed} run(s) interrupted by a restart as failed.")
        resumed = executor().resume_queued()
        if resumed:
            self.stdout.write(f"Resumed {resumed} queued run(s).")

    def _serve(self, host: str, port: int, grpc_port: int, run_workers: int) -> None:
        # serve listens on plain TCP: TLS, where there is any, ends at a proxy in front.
        # Twisted imports pyOpenSSL and service_identity for TLS endpoints whenever they
        # are installed (~5 MB); a None entry makes that optional import fail, as it does
        # without them, and Twisted runs without TLS support.
        sys.modules.setdefault("OpenSSL", None)  # type: ignore[arg-type]  # None: not importable
        from daphne import http_protocol
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server

        http_protocol.WebRequest = _request_class()
        http_protocol.HTTPFactory.protocol = _channel_protocol()

        from instill_site.asgi import application

        shown = "localhost" if host in ("0.0.0.0", "::") else host
        if grpc_port:
            from pipelines.grpc.server import serve_beside_daphne

            try:
                grpc_port = serve_beside_daphne(host=host, port=grpc_port)
            except OSError as exc:
                raise CommandError(
                    f"{exc} Choose another with --grpc-port (default PIPELINE_GRPC_PORT; `make run GRPC_PORT=...`), "
                    "or 0 for no gRPC."
                ) from exc
        self.stdout.write(f"Pipeline is serving on http://{shown}:{port}/ (API under /v1beta/, docs at /v1beta/docs)")
        if grpc_port:
            self.stdout.write(f"gRPC API (Instill SDK) on {shown}:{grpc_port}")
        from twisted.internet import reactor

        from pipelines import run_worker
        from pipelines.services import run_execution

        # daphne runs its asyncio loop inside Twisted's reactor; workers are fed from it.
        workers = run_worker.start(run_workers, reactor._asyncioEventloop)  # type: ignore[attr-defined]  # AsyncioSelectorReactor's, untyped
        if workers is not None:
            run_execution.placement_set(workers)
            self.stdout.write(
                f"Sync triggers run in {run_workers} worker process(es) beside the server, "
                "started the first time two arrive at once."
            )
        self.stdout.flush()
        from pipelines.aio import freeze_startup_heap

        freeze_startup_heap()
        try:
            server = Server(
                application=application,
                endpoints=build_endpoint_description_strings(host=host, port=port),
                http_timeout=None,
                websocket_handshake_timeout=10,
                application_close_timeout=10,
                server_name="pipeline",
                verbosity=0,
                **_proxy_headers(),
            )
            server.run()
            if not server.listening_addresses:  # taken since _http_port_check: daphne logged why
                raise CommandError(f"could not listen for HTTP on {host}:{port}")
        finally:
            run_execution.placement_set(None)
            run_worker.stop()
            processes.shutdown_shared()
