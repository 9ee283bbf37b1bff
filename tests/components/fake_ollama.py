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
from collections.abc import Iterator
from typing import Any

from tests.components.fake_vendor import Fake, Handler, RunningFake, answer_for, words_of

__all__ = ["FakeOllama", "answer_for", "embedding_for", "running", "words_of"]


def embedding_for(text: str) -> list[float]:
    return [round(len(text) / 100, 2), 0.25, -0.5]


class FakeOllama(Fake):
    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.models: set[str] = {"llama3.2", "nomic-embed-text"}
            self.stream_error: str | None = None


class _Handler(Handler):
    def do_POST(self) -> None:
        fake = self.server.fake
        body, failure = self.receive()
        with fake.lock:
            models = set(fake.models)
            stream_error = fake.stream_error
        if failure is not None:
            self.send_json(failure, {"error": f"fake failure {failure}"})
            return
        model = body.get("model")
        if self.path == "/api/pull":
            with fake.lock:
                fake.models.add(model)
            self.send_chunks("application/x-ndjson", _ndjson(_pull_lines(model)))
            return
        if self.path not in ("/api/chat", "/api/embed"):
            self.send_json(404, {"error": "404 page not found"})
            return
        if model not in models:
            self.send_json(404, {"error": f'model "{model}" not found, try pulling it first'})
            return
        if self.path == "/api/embed":
            self.send_json(
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
        self.send_chunks("application/x-ndjson", _ndjson(_chat_lines(model, prompt, body["messages"], stream_error)))


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


def _ndjson(lines: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    return (json.dumps(line).encode() + b"\n" for line in lines)


def running() -> RunningFake[FakeOllama]:
    return RunningFake(FakeOllama(), _Handler)
