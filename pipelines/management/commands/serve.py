"""``manage.py serve``: migrate, make sure the admin and the demos exist, then serve
HTTP and websockets with uvicorn or daphne (``--server``, ``PIPELINE_SERVER``), and
the gRPC API beside them on the same event loop; with ``--workers N``, in N processes
on the one port (:mod:`pipelines.serve_workers`)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from pipelines import http_limits
from pipelines.demo import demo_ensure
from pipelines.engine import processes
from pipelines.management.commands.migrate import nothing_to_apply
from pipelines.services.users import admin_ensure, user_namespace
from pipelines.staticfiles import collect_if_changed

if TYPE_CHECKING:
    import socket

    from twisted.internet.interfaces import ITCPTransport

DEFAULT_ADMIN_PASSWORD = "password"  # settings.PIPELINE_ADMIN_PASSWORD's default
SERVERS = ("uvicorn", "daphne")  # settings.PIPELINE_SERVER


def _proxy_headers() -> dict[str, str]:
    """daphne's options to take the client's address and scheme from the proxy's
    X-Forwarded-* headers (``PIPELINE_TRUST_PROXY_HEADERS``)."""
    if not settings.PIPELINE_TRUST_PROXY_HEADERS:
        return {}
    return {"proxy_forwarded_address_header": "X-Forwarded-For", "proxy_forwarded_proto_header": "X-Forwarded-Proto"}


HTTP_PORT_HINT = "Choose another with --port (`make run PORT=...`)."
GRPC_PORT_HINT = (
    "Choose another with --grpc-port (default PIPELINE_GRPC_PORT; `make run GRPC_PORT=...`), or 0 for no gRPC."
)


def _http_port_check(host: str, port: int, *, protocol: str = "HTTP", hint: str = HTTP_PORT_HINT) -> None:
    """Fail with a message naming the port when ``host:port`` is taken.

    daphne only logs a failed listen and returns; checked first, ``serve`` stops before
    migrating or printing that it serves. Same socket options as Twisted's listen
    (``SO_REUSEADDR``: a port left in TIME_WAIT by a stopped server is free). Without
    ``SO_REUSEPORT``, so a port that another server shares with ``SO_REUSEPORT`` counts
    as taken too (``--workers`` never joins a stranger's port).
    """
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise CommandError(
                f"could not listen for {protocol} on {host}:{port}: {exc.strerror}. "
                f"Is another server using port {port}? {hint}"
            ) from exc


def _request_class():
    from daphne.http_protocol import WebRequest

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
            self.channel.transport.write(http_limits.too_big(limit))
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
    from twisted.internet import reactor
    from twisted.web.http import HTTPChannel, _GenericHTTPChannelProtocol

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
            self._refuse(http_limits.line_too_long(line, self.MAX_LENGTH))

        def _respondToBadRequestAndDisconnect(self):
            if self._receivedHeaderSize > self.totalHeadersSize:
                message = http_limits.headers_too_large(self._line, self.totalHeadersSize)
            elif self._receivedHeaderCount > self.maxHeaders:
                message = http_limits.too_many_headers(self.maxHeaders)
            else:
                message = http_limits.MALFORMED
            self._refuse(message)

        def _refuse(self, message: str):
            """Answer 400 and stop reading requests from this connection."""
            if self._refused:
                return
            self._refused = True
            self._buffer = b""  # LineReceiver stops at once: no more lines of this request
            transport = cast("ITCPTransport", self.transport)  # a connection being read has one
            transport.write(http_limits.bad_request(message))
            self.setTimeout(None)
            transport.loseWriteConnection()
            reactor.callLater(http_limits.LINGER_SECONDS, transport.abortConnection)

        def dataReceived(self, data):
            if self._refused:
                self._dropped += len(data)
                if self._dropped > http_limits.LINGER_BYTES:
                    cast("ITCPTransport", self.transport).abortConnection()
                return
            super().dataReceived(data)

    def protocol(factory):
        return _GenericHTTPChannelProtocol(PipelineChannel())

    return protocol


class Command(BaseCommand):
    help = "Run Pipeline: migrations, admin user, demo pipelines, then the HTTP/websocket server."
    migrated = False  # whether this start applied migrations

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
            help="processes that execute sync triggers beside the server (default: PIPELINE_RUN_WORKERS, 1; 0 on one usable CPU; 0: none)",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="HTTP server processes on the port, under one supervising parent (default: PIPELINE_SERVE_WORKERS, 1)",
        )
        parser.add_argument(
            "--server",
            choices=SERVERS,
            default=None,
            help="the ASGI server (default: PIPELINE_SERVER, uvicorn)",
        )

    def handle(
        self,
        *args,
        host: str,
        port: int,
        grpc_port: int | None,
        no_demo: bool,
        run_workers: int | None,
        server: str | None,
        workers: int | None,
        **options,
    ):
        server = server or settings.PIPELINE_SERVER
        if server not in SERVERS:
            raise CommandError(f"PIPELINE_SERVER is {server!r}: it must be one of {', '.join(SERVERS)}.")
        workers = settings.PIPELINE_SERVE_WORKERS if workers is None else workers
        if workers < 1:
            raise CommandError(f"--workers (PIPELINE_SERVE_WORKERS) must be 1 or more, not {workers}.")
        if workers > 1 and not hasattr(os, "fork"):
            raise CommandError("--workers above 1 needs os.fork (Linux, macOS): run one serve per port instead.")
        if workers > 1 and server == "daphne" and ":" in host:
            raise CommandError("--workers above 1 with daphne listens on IPv4 only: use --server uvicorn for IPv6.")
        _http_port_check(host, port)
        settings.PIPELINE_DATA_DIR.mkdir(parents=True, exist_ok=True)
        # On a migrated database (most starts) neither migrate nor the full garbage
        # collection before freezing the heap has anything to do: ~60 ms of CPU skipped.
        self.migrated = not nothing_to_apply()
        if self.migrated:
            call_command("migrate", interactive=False, verbosity=0)
        # Hashed, gzipped copies of static/ for the pages to link (pipelines/staticfiles.py),
        # made again only when a static file changed, in a child process.
        try:
            collect_if_changed()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
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
        grpc_port = settings.PIPELINE_GRPC_PORT if grpc_port is None else grpc_port
        if workers > 1:
            if run_workers is None and "PIPELINE_RUN_WORKERS" not in os.environ:
                run_workers = 0  # N processes already keep N cores busy
            self._recover_interrupted()
            self._serve_workers(
                server,
                host,
                port,
                grpc_port,
                settings.PIPELINE_RUN_WORKERS if run_workers is None else run_workers,
                workers,
            )
            return
        self._recover_interrupted()
        self._resume_queued()
        self._serve(
            server, host, port, grpc_port, settings.PIPELINE_RUN_WORKERS if run_workers is None else run_workers
        )

    def _recover_interrupted(self) -> None:
        """Runs left PROCESSING by a dead process are failed; old run files go."""
        from pipelines.services.operations import runs_recover
        from pipelines.services.run_files import cleanup_run_files

        cleanup_run_files()
        failed = runs_recover()
        if failed:
            self.stdout.write(f"Marked {failed} run(s) interrupted by a restart as failed.")

    def _resume_queued(self) -> None:
        """Queued runs resume here, oldest first."""
        from pipelines.services.operations import executor

        resumed = executor().resume_queued()
        if resumed:
            self.stdout.write(f"Resumed {resumed} queued run(s).")

    def _serve_workers(self, server: str, host: str, port: int, grpc_port: int, run_workers: int, workers: int) -> None:
        """Serve in ``workers`` forked processes on one port until SIGINT/SIGTERM
        (:mod:`pipelines.serve_workers`). Worker 0 also serves gRPC (a restarted one
        binds it again); each runs its own in-process executor, which claims a queued run
        before executing it, so a run executes once whichever process holds it."""
        from django.db import connections

        from pipelines import loop_sqlite, serve_workers
        from pipelines.aio import freeze_startup_heap

        if grpc_port:
            _http_port_check(host, grpc_port, protocol="gRPC", hint=GRPC_PORT_HINT)
        try:
            sockets = serve_workers.listening_sockets(host, port, workers)
        except OSError as exc:
            raise CommandError(f"could not listen for HTTP on {host}:{port}: {exc.strerror}. {HTTP_PORT_HINT}") from exc
        settings.PIPELINE_SERVE_WORKERS = workers  # what the children see (pipelines/realtime.py)
        shown = "localhost" if host in ("0.0.0.0", "::") else host
        self.stdout.write(
            f"Pipeline is serving on http://{shown}:{port}/ in {workers} processes "
            "(API under /v1beta/, docs at /v1beta/docs)"
        )
        if grpc_port:
            self.stdout.write(f"gRPC API (Instill SDK) on {shown}:{grpc_port}, in the first of them")
        if run_workers:
            self.stdout.write(f"Sync triggers run in {run_workers} worker process(es) beside each of them.")
        self.stdout.flush()
        # Nothing the parent opened may be shared with a child: a database connection
        # used from two processes corrupts both.
        connections.close_all()
        loop_sqlite.close()
        freeze_startup_heap()

        def child(index: int, restarted: bool) -> int:
            from pipelines.services.operations import executor, runs_recover

            if restarted:  # fail what the dead one was running, take over what it had queued
                runs_recover()
            if restarted or index == 0:
                executor().resume_queued()
            self._serve(
                server, host, port, grpc_port if index == 0 else 0, run_workers, sock=sockets[index], announce=False
            )
            return 0

        code = serve_workers.Supervisor(workers, child).run()
        for sock in set(sockets):
            sock.close()
        if code:
            raise CommandError("a serve worker process kept failing at start; see the errors above")

    def _serve(
        self,
        server: str,
        host: str,
        port: int,
        grpc_port: int,
        run_workers: int,
        *,
        sock: socket.socket | None = None,
        announce: bool = True,
    ) -> None:
        """Serve until SIGINT/SIGTERM: the same application, gRPC server and run workers
        on either server's event loop; then stop the workers (they finish their runs).
        ``sock``: a listening socket to serve on instead of binding ``host:port``."""
        if server == "daphne":
            loop, start_grpc = self._daphne_loop(host, grpc_port)
        else:
            from pipelines import uvicorn_server

            loop = uvicorn_server.new_loop()
            start_grpc = self._grpc_bind
        from instill_site.asgi import application

        grpc_server = None
        if grpc_port:
            try:
                grpc_server, grpc_port = start_grpc(host, grpc_port)
            except OSError as exc:
                raise CommandError(f"{exc} {GRPC_PORT_HINT}") from exc
        shown = "localhost" if host in ("0.0.0.0", "::") else host
        if announce:
            self.stdout.write(
                f"Pipeline is serving on http://{shown}:{port}/ (API under /v1beta/, docs at /v1beta/docs)"
            )
        if grpc_port and announce:
            self.stdout.write(f"gRPC API (Instill SDK) on {shown}:{grpc_port}")
        from pipelines import run_worker
        from pipelines.services import run_execution

        # Workers are fed from the server's event loop.
        workers = run_worker.start(run_workers, loop)
        if workers is not None:
            run_execution.placement_set(workers)
        if workers is not None and announce:
            self.stdout.write(
                f"Sync triggers run in {run_workers} worker process(es) beside the server, "
                "started the first time two arrive at once."
            )
        self.stdout.flush()
        from pipelines.aio import freeze_startup_heap

        freeze_startup_heap(collect=self.migrated)
        try:
            if server == "daphne":
                self._run_daphne(application, host, port, sock)
            else:
                try:
                    uvicorn_server.serve(
                        application, host=host, port=port, loop=loop, grpc_server=grpc_server, sock=sock
                    )
                except OSError as exc:  # taken since _http_port_check: uvicorn logged why
                    raise CommandError(str(exc)) from exc
        finally:
            run_execution.placement_set(None)
            run_worker.stop()
            processes.shutdown_shared()

    @staticmethod
    def _grpc_bind(host: str, port: int):
        """The gRPC server bound on the current event loop (started by the server's run)."""
        from pipelines.grpc.server import build_server

        return build_server(host=host, port=port)

    @staticmethod
    def _daphne_loop(host: str, grpc_port: int):
        """daphne's event loop (inside Twisted's reactor), with its HTTP layer patched
        (:func:`_request_class`, :func:`_channel_protocol`), and how to bind gRPC on it."""
        # serve listens on plain TCP: TLS, where there is any, ends at a proxy in front.
        # Twisted imports pyOpenSSL and service_identity for TLS endpoints whenever they
        # are installed (~5 MB); a None entry makes that optional import fail, as it does
        # without them, and Twisted runs without TLS support.
        sys.modules.setdefault("OpenSSL", None)  # type: ignore[arg-type]  # None: not importable
        from daphne import http_protocol, server  # noqa: F401  # daphne.server installs the asyncio reactor

        http_protocol.WebRequest = _request_class()
        http_protocol.HTTPFactory.protocol = _channel_protocol()
        from twisted.internet import reactor

        def start_grpc(host: str, port: int):
            from pipelines.grpc.server import serve_beside_daphne

            return None, serve_beside_daphne(host=host, port=port)

        # daphne runs its asyncio loop inside Twisted's reactor.
        return reactor._asyncioEventloop, start_grpc  # type: ignore[attr-defined]  # AsyncioSelectorReactor's, untyped

    @staticmethod
    def _run_daphne(application, host: str, port: int, sock: socket.socket | None = None) -> None:
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server

        if sock is not None:  # Twisted adopts the listening socket (IPv4: handle refuses IPv6 here)
            endpoints = build_endpoint_description_strings(file_descriptor=sock.fileno())
        else:
            endpoints = build_endpoint_description_strings(host=host, port=port)
        server = Server(
            application=application,
            endpoints=endpoints,
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
