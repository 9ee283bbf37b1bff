"""Fixtures for component tests: a real HTTP server on a free loopback port."""

from __future__ import annotations

import inspect
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from pipelines.engine.components import ComponentDefinition, TaskContext


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, **headers: str) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", **headers)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = url.path
        if path == "/json":
            self._json(200, {"hello": "world", "n": [1, 2, 3]}, X_Multi="a")
        elif path == "/text":
            self._send(200, "plain text ✓".encode(), "text/plain; charset=utf-8")
        elif path == "/echo":
            self._json(
                200,
                {
                    "method": self.command,
                    "path": self.path,
                    "query": {k: v[0] for k, v in query.items()},
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode("utf-8", errors="replace"),
                },
            )
        elif path == "/status":
            code = int(query.get("code", ["200"])[0])
            self._json(code, {"status": code})
        elif path == "/redirect":
            target = query["to"][0]
            code = int(query.get("code", ["302"])[0])
            self._send(code, b"", "text/plain", Location=target)
        elif path == "/redirect-loop":
            self._send(302, b"", "text/plain", Location="/redirect-loop")
        elif path == "/slow":
            time.sleep(float(query.get("seconds", ["2"])[0]))
            self._send(200, b"late", "text/plain")
        elif path == "/big":
            size = int(query.get("bytes", ["1000"])[0])
            self._send(200, b"x" * size, "application/octet-stream")
        else:
            self._send(404, b"not found", "text/plain")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or stop reading on purpose break the pipe; that
        # is the behaviour under test, not a failure worth printing.
        pass


@dataclass(frozen=True)
class LocalServer:
    host: str
    port: int

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(scope="session")
def http_server() -> Iterator[LocalServer]:
    """A threaded HTTP server on 127.0.0.1 with JSON, text, echo, redirect and slow endpoints."""
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, name="test-http-server", daemon=True)
    thread.start()
    try:
        yield LocalServer("127.0.0.1", server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def context(task: str, *, setup: dict[str, Any] | None = None, **config: Any) -> TaskContext:
    return TaskContext(component_id="test", task=task, setup=setup or {}, config=config)


async def run_task(
    component: ComponentDefinition,
    task: str,
    input: dict[str, Any],
    *,
    setup: dict[str, Any] | None = None,
    **config: Any,
) -> dict[str, Any]:
    """Run one task the way the engine would (awaiting coroutines)."""
    result = component.tasks[task].run(input, context(task, setup=setup, **config))
    if inspect.isawaitable(result):
        result = await result
    return result


@pytest.fixture
def run():
    """``await run(COMPONENT, "TASK_X", input, setup=..., **config)`` runs a task as the engine would."""
    return run_task
