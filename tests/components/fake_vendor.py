"""What the fake vendor servers (fake_ollama.py, fake_cohere.py, fake_gemini.py) share:
the recorded request, the deterministic answer, a handler that writes JSON and
chunked streams, and a server on a free loopback port. Standard library only."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any


def answer_for(prompt: str) -> str:
    """What every fake says to a chat request."""
    return f"You said: {prompt}"


def words_of(text: str) -> list[str]:
    """The pieces a fake streams: one word with its trailing space each."""
    return re.findall(r"\S+\s*", text)


class Fake:
    """A fake's recorded requests and queued failures; the handler reads them under ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.base_url = ""
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.requests: list[Recorded] = []
            self.failures: list[int] = []

    def fail(self, status: int, times: int = 1) -> None:
        """The next ``times`` requests answer ``status`` with the vendor's error body."""
        with self.lock:
            self.failures += [status] * times

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


async def run_task(
    component: Any,
    task: str,
    input: dict[str, Any],
    setup: dict[str, Any],
    config: dict[str, Any],
    published: list | None,
) -> dict[str, Any]:
    """Run one task of ``component`` as the engine would, collecting what it publishes."""
    from pipelines.engine.components import TaskContext

    async def emit(output: dict[str, Any]) -> None:
        if published is not None:
            published.append(json.loads(json.dumps(output)))

    ctx = TaskContext(component_id=f"{component.type}-0", task=task, setup=setup, config=config, emit_output=emit)
    result: dict[str, Any] = await component.tasks[task].run(input, ctx)
    return result


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def receive(self) -> tuple[Any, int | None]:
        """The request's JSON body, recorded, and the queued failure status it takes (if any)."""
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
        fake = self.server.fake
        with fake.lock:
            fake.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            return body, fake.failures.pop(0) if fake.failures else None

    def send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_chunks(self, content_type: str, chunks: Iterable[bytes]) -> None:
        """A streamed answer, each piece flushed as one HTTP chunk."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


def fixtures(start: Callable[[], RunningFake[Any]]) -> tuple[Any, Any]:
    """The pytest fixtures ``vendor_server`` (started once per test module) and ``fake``
    (its state, reset for each test); a test module assigns both to module names."""
    import pytest

    @pytest.fixture(scope="module", name="vendor_server")
    def server() -> Iterator[RunningFake[Any]]:
        running = start()
        yield running
        running.stop()

    @pytest.fixture(name="fake")
    def fake(vendor_server: RunningFake[Any]) -> Any:
        vendor_server.fake.reset()
        return vendor_server.fake

    return server, fake


class RunningFake[F]:
    """``fake`` served by ``handler`` on a free loopback port until :meth:`stop`."""

    def __init__(self, fake: F, handler: type[Handler]) -> None:
        self.fake = fake
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.server.fake = fake  # type: ignore[attr-defined]
        fake.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
