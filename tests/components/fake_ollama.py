"""A real local HTTP server speaking Ollama's native API (docs/api.md of ollama/ollama):
``POST /api/chat`` streamed as newline-delimited JSON, ``POST /api/embed`` and
``POST /api/pull`` (progress streamed, ending with ``{"status": "success"}``).

The bodies are the ones Ollama's API reference shows. A chat answer is
``You said: <the last user content>``, one word (with its trailing space) per line,
then the ``"done": true`` line with Ollama's timings and eval counts (words). Models
the server has not got are answered 404 ``{"error": "model \\"x\\" not found, try
pulling it first"}``, as Ollama does, until pulled. It records every request and can
be told to fail. Standard library only.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any


def answer_for(prompt: str) -> str:
    return f"You said: {prompt}"


def words_of(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text)


def embedding_for(text: str) -> list[float]:
    return [round(len(text) / 100, 2), 0.25, -0.5]


class FakeOllama:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.base_url = ""
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.requests: list[Recorded] = []
            self.models: set[str] = {"llama3.2", "nomic-embed-text"}
            self.failures: list[int] = []
            self.stream_error: str | None = None

    def fail(self, status: int, times: int = 1) -> None:
        with self.lock:
            self.failures += [status] * times

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _ndjson(self, lines: Iterator[dict[str, Any]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for line in lines:
            data = json.dumps(line).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.loads(raw or b"null")
        with fake.lock:
            fake.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            failure = fake.failures.pop(0) if fake.failures else None
            models = set(fake.models)
            stream_error = fake.stream_error
        if failure is not None:
            self._json(failure, {"error": f"fake failure {failure}"})
            return
        model = body.get("model")
        if self.path == "/api/pull":
            with fake.lock:
                fake.models.add(model)
            self._ndjson(_pull_lines(model))
            return
        if self.path not in ("/api/chat", "/api/embed"):
            self._json(404, {"error": "404 page not found"})
            return
        if model not in models:
            self._json(404, {"error": f'model "{model}" not found, try pulling it first'})
            return
        if self.path == "/api/embed":
            self._json(
                200,
                {
                    "model": model,
                    "embeddings": [embedding_for(body["input"])],
                    "total_duration": 14143917,
                    "load_duration": 1019500,
                    "prompt_eval_count": len(body["input"].split()),
                },
            )
            return
        prompt = body["messages"][-1]["content"]
        self._ndjson(_chat_lines(model, prompt, body["messages"], stream_error))


def _chat_lines(model: str, prompt: str, messages: list[dict[str, Any]], error: str | None) -> Iterator[dict[str, Any]]:
    words = words_of(answer_for(prompt))
    for i, word in enumerate(words):
        if error and i == 2:
            yield {"error": error}
            return
        yield {
            "model": model,
            "created_at": "2023-08-04T08:52:19.385406455-07:00",
            "message": {"role": "assistant", "content": word},
            "done": False,
        }
    yield {
        "model": model,
        "created_at": "2023-08-04T19:22:45.499127Z",
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
        "total_duration": 4883583458,
        "load_duration": 1334875,
        "prompt_eval_count": sum(len(m["content"].split()) for m in messages),
        "prompt_eval_duration": 342546000,
        "eval_count": len(words),
        "eval_duration": 4535599000,
    }


def _pull_lines(model: str) -> Iterator[dict[str, Any]]:
    digest = "sha256:29fdb92e57cf0827ded04ae6461b5931d01fa595843f55d36f5b275a52087dd2"
    yield {"status": "pulling manifest"}
    yield {"status": f"pulling {digest[7:19]}", "digest": digest, "total": 2142590208, "completed": 241970}
    yield {"status": "verifying sha256 digest"}
    yield {"status": "writing manifest"}
    yield {"status": "success"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOllama


class RunningFake:
    def __init__(self) -> None:
        self.fake = FakeOllama()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.fake = self.fake
        self.fake.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
