"""``manage.py serve --server uvicorn``: the same ASGI application, gRPC server and run
workers as on daphne, on uvicorn (uvloop, httptools, websockets).

:class:`PipelineHttpToolsProtocol` makes uvicorn's HTTP layer answer as daphne's does
in ``serve`` (:mod:`pipelines.http_limits`): head lines and headers within Twisted's
limits, bodies within ``PIPELINE_MAX_REQUEST_BYTES`` refused from the Content-Length
or as a chunked body passes it, each with an answer in the API's error shape. On its
own uvicorn bounds neither the request line nor the headers (httptools buffers them
without limit) and never times out a request whose head is still arriving.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from django.conf import settings
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pipelines import http_limits

# An idle keep-alive connection is closed after this long (Twisted's idle timeout).
KEEP_ALIVE_SECONDS = 60
# In-flight requests get this long to finish after SIGINT/SIGTERM; then they are
# cancelled (a sync trigger cancelled there is marked failed at the next start).
GRACEFUL_SHUTDOWN_SECONDS = 5


class PipelineHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with ``serve``'s HTTP-layer limits and answers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limit = settings.PIPELINE_MAX_REQUEST_BYTES
        # A request's head must have arrived this long after its first byte: a client that
        # trickles one (slowloris) is disconnected. Twisted's idle timeout under daphne is
        # also 60 s, though it restarts with every byte.
        self._head_timeout = settings.PIPELINE_HTTP_HEAD_TIMEOUT_SECONDS
        self._head = bytearray()  # the raw head read so far, while one is arriving
        self._in_head = True
        self._head_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._header_count = 0
        self._received = 0
        self._refused = False
        self._dropped = 0

    # -- reading -------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._refused:
            self._dropped += len(data)
            if self._dropped > http_limits.LINGER_BYTES:
                self.transport.abort()
            return
        if self._in_head:
            self._head += data
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(self._head_timeout, self._head_timed_out)
        super().data_received(data)
        if self._in_head and not self._refused:
            # The line still arriving is seen by no parser callback until it ends.
            line = bytes(self._head[self._head.rfind(b"\n") + 1 :])
            if len(line) > http_limits.MAX_LINE_BYTES:
                self._refuse(http_limits.bad_request(http_limits.line_too_long(line)))
            elif len(self._head) > http_limits.MAX_LINE_BYTES + http_limits.MAX_HEADERS_BYTES + 4:
                self._refuse(http_limits.bad_request(http_limits.headers_too_large(line)))

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if not self._refused and len(self.url) > http_limits.MAX_LINE_BYTES:
            self._refuse(http_limits.bad_request(http_limits.line_too_long(self.url[:64])))

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refused:
            return
        line = name + b": " + value
        self._header_bytes += len(line)
        self._header_count += 1
        if len(line) > http_limits.MAX_LINE_BYTES:
            self._refuse(http_limits.bad_request(http_limits.line_too_long(line)))
        elif self._header_bytes > http_limits.MAX_HEADERS_BYTES:
            self._refuse(http_limits.bad_request(http_limits.headers_too_large(line)))
        elif self._header_count > http_limits.MAX_HEADERS:
            self._refuse(http_limits.bad_request(http_limits.too_many_headers()))
        else:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._end_head()
        for name, value in self.headers:
            if name == b"content-length":
                try:
                    too_big = int(value) > self._limit
                except ValueError:
                    too_big = False  # httptools refuses a malformed length itself
                if too_big:
                    self._refuse(http_limits.too_big(self._limit))
                    return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        self._received += len(body)
        if self._received > self._limit:  # a chunked body passing the limit
            if self.cycle is not None:
                self.cycle.disconnected = True  # the view reads a disconnect; its answer goes nowhere
                self.cycle.message_event.set()
            self._refuse(http_limits.too_big(self._limit))
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        # The next request on this connection starts its own head and count.
        self._in_head = True
        self._head.clear()
        self._header_bytes = self._header_count = self._received = 0

    def send_400_response(self, msg: str) -> None:
        """httptools could not parse the request: say so in the API's error shape."""
        self._refuse(http_limits.bad_request(http_limits.MALFORMED))

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    # -- refusing ------------------------------------------------------------------------

    def _end_head(self) -> None:
        self._in_head = False
        self._head.clear()
        self._cancel_head_timer()

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self._refused and not self.transport.is_closing():
            self.transport.abort()

    def _refuse(self, answer: bytes) -> None:
        """Write ``answer``, stop reading requests, and close once the client has had
        time to read it (what it still sends meanwhile is dropped)."""
        if self._refused:
            return
        self._refused = True
        self._end_head()
        self._unset_keepalive_if_required()
        if self.transport.is_closing():
            return
        self.transport.write(answer)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(http_limits.LINGER_SECONDS, self.transport.abort)


class PipelineServer(uvicorn.Server):
    """uvicorn's server, stopped by SIGINT/SIGTERM without re-raising the signal after:
    ``serve`` still has its run workers and gRPC server to stop (as under daphne)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop (asyncio's where uvloop is not installed: Windows), made the
    current one (grpc.aio and the run workers bind to it)."""
    try:
        import uvloop
    except ImportError:
        loop = asyncio.new_event_loop()
    else:
        loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop


def serve(
    application: Callable,
    *,
    host: str,
    port: int,
    loop: asyncio.AbstractEventLoop,
    grpc_server: Any = None,
    sock: socket.socket | None = None,
) -> None:
    """Serve ``application`` on ``host:port`` (or on the listening socket ``sock``: ``serve
    --workers``) until SIGINT/SIGTERM, with ``grpc_server`` (bound, not started) started
    beside it on ``loop`` and stopped after it (5 s grace)."""
    trust = settings.PIPELINE_TRUST_PROXY_HEADERS
    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        loop="none",  # ``loop`` is ours, made before the gRPC server and run workers
        http=PipelineHttpToolsProtocol,
        ws="websockets-sansio",
        ws_ping_interval=20,  # daphne's ping interval and timeout
        ws_ping_timeout=30,
        lifespan="off",  # Django answers no lifespan events: daphne sends none
        # X-Forwarded-For/-Proto from any peer when PIPELINE_TRUST_PROXY_HEADERS is on (as
        # daphne's proxy options), from none otherwise: uvicorn's default would trust them
        # from loopback, where a local client picks its own address.
        proxy_headers=trust,
        forwarded_allow_ips="*" if trust else "",
        server_header=False,
        headers=[("server", "pipeline")],
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        log_config=None,  # Django's logging configuration stays
        access_log=False,
    )
    server = PipelineServer(config)

    async def main() -> None:
        if grpc_server is not None:
            await grpc_server.start()
        try:
            await server.serve(sockets=None if sock is None else [sock])
        finally:
            if grpc_server is not None:
                await grpc_server.stop(5)

    try:
        loop.run_until_complete(main())
    except SystemExit as exc:  # uvicorn exits 3 when it cannot listen
        raise OSError(f"could not listen for HTTP on {host}:{port}") from exc
    finally:
        _cancel_remaining(loop)


def _cancel_remaining(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
