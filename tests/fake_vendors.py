"""Real local HTTP servers speaking the AI vendors' wire formats, for the
``anthropic``, ``mistral-ai`` and ``groq`` components' tests.

- Anthropic: ``POST /v1/messages``, streamed as its API reference shows
  (``message_start``, ``content_block_start``, ``ping``, ``content_block_delta`` with
  ``text_delta``, ``content_block_stop``, ``message_delta`` with the usage,
  ``message_stop``), or one ``message`` object without ``stream``; errors as
  ``{"type": "error", "error": {"type", "message"}}``.
- Mistral: ``POST /v1/chat/completions`` (OpenAI-like chunks, the usage in the last)
  and ``POST /v1/embeddings``.
- Groq: ``POST /openai/v1/chat/completions`` (OpenAI's chunks, the usage under
  ``x_groq`` in the last).

Deterministic: the answer is ``You said: <the last user text>``, one word (with its
trailing space) per event; token counts are word counts. Every request is recorded
and the server can be told to fail. Standard library only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from pipelines.engine.components import ComponentDefinition, TaskContext
from tests import fake_openai
from tests.fake_openai import Failure, Recorded, answer_for, expected_embedding, tokens_of

Route = Callable[["_Handler", Any], None]


def words_in(body: dict[str, Any]) -> int:
    """The prompt's token count: the words of the system text and every message's text."""
    texts = [body["system"]] if isinstance(body.get("system"), str) else []
    for message in body.get("messages") or []:
        content = message.get("content")
        texts += [content] if isinstance(content, str) else [p.get("text", "") for p in content or []]
    return sum(len(text.split()) for text in texts)


class FakeVendor:
    """One server's state and knobs; the handler reads them under ``lock``."""

    def __init__(self, routes: dict[str, Route], prefix: str) -> None:
        self.lock = threading.Lock()
        self.routes = routes
        self.prefix = prefix
        self.base_url = ""
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.requests: list[Recorded] = []
            self.failures: list[Failure] = []
            self.ignore_stream = False
            self.stream_error: dict[str, Any] | None = None  # sent after the first text event

    def fail(self, status: int, message: str, times: int = 1, **headers: str) -> None:
        with self.lock:
            self.failures += [Failure(status, message, {k.replace("_", "-"): v for k, v in headers.items()})] * times


class _Handler(fake_openai._Handler):
    """fake_openai's handler (its JSON and chunked writing), with this server's routes."""

    server: _Server  # type: ignore[assignment]

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
        with fake.lock:
            headers = {k.lower(): v for k, v in self.headers.items()}
            fake.requests.append(Recorded("POST", self.path, headers, body, raw))
            failure = fake.failures.pop(0) if fake.failures else None
        if failure is not None:
            return self.error(failure.status, failure.message, failure.headers)
        route = fake.routes.get(self.path)
        if route is None:
            return self.error(404, f"Unknown path {self.path}")
        route(self, body)

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._json(status, self.server.fake_error(status, message), headers)

    def events(self, events: list[tuple[str | None, Any]]) -> None:
        """A text/event-stream answer: ``(event name or None, data)`` pairs; data that
        is not a string is sent as JSON."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for name, data in events:
                text = data if isinstance(data, str) else json.dumps(data)
                frame = (f"event: {name}\n" if name else "") + f"data: {text}\n\n"
                self._chunk(frame.encode())
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeVendor, fake_error: Callable[[int, str], Any]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.fake_error = fake_error

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class RunningVendor:
    """A started fake: ``fake`` for its knobs and records, ``fake.base_url`` its API root."""

    def __init__(self, routes: dict[str, Route], prefix: str, fake_error: Callable[[int, str], Any]) -> None:
        self.fake = FakeVendor(routes, prefix)
        self._server = _Server(self.fake, fake_error)
        self.fake.base_url = f"http://127.0.0.1:{self._server.server_address[1]}{prefix}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-vendor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# --- Anthropic ------------------------------------------------------------------------


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    kind = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error"}.get(status)
    return {
        "type": "error",
        "error": {"type": kind or ("overloaded_error" if status == 529 else "api_error"), "message": message},
    }


def _anthropic_messages(handler: _Handler, body: dict[str, Any]) -> None:
    fake = handler.server.fake
    answer = answer_for(body)
    usage_in, tokens = words_in(body), tokens_of(answer)
    message = {
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "stop_sequence": None,
    }
    if not body.get("stream") or fake.ignore_stream:
        return handler._json(
            200,
            {
                **message,
                "content": [{"type": "text", "text": answer}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": usage_in, "output_tokens": len(tokens)},
            },
        )
    events: list[tuple[str | None, Any]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    **message,
                    "content": [],
                    "stop_reason": None,
                    "usage": {"input_tokens": usage_in, "output_tokens": 1},
                },
            },
        ),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        ("ping", {"type": "ping"}),
    ]
    for i, token in enumerate(tokens):
        events.append(
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": token}},
            )
        )
        if i == 0 and fake.stream_error is not None:
            events.append(("error", {"type": "error", "error": fake.stream_error}))
            return handler.events(events)
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": len(tokens)},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    handler.events(events)


def start_anthropic() -> RunningVendor:
    """Anthropic's API root is the host (``/v1/messages`` under it)."""
    return RunningVendor({"/v1/messages": _anthropic_messages}, "", anthropic_error)


# --- OpenAI-like chat: Mistral and Groq ------------------------------------------------


def openai_like_error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": str(status)}}


def _chat_completions(usage_in_chunk: Callable[[dict[str, Any]], dict[str, Any]]) -> Route:
    def route(handler: _Handler, body: dict[str, Any]) -> None:
        fake = handler.server.fake
        answer = answer_for(body)
        tokens = tokens_of(answer)
        prompt_tokens = words_in(body)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(tokens),
            "total_tokens": prompt_tokens + len(tokens),
        }
        head = {
            "id": "cmpl-e5cc70bb28c444948073e77776eb30ef",
            "object": "chat.completion.chunk",
            "created": 1702256327,
            "model": body.get("model"),
        }
        if not body.get("stream") or fake.ignore_stream:
            choice = {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
            return handler._json(200, {**head, "object": "chat.completion", "choices": [choice], "usage": usage})
        events: list[tuple[str | None, Any]] = [
            (
                None,
                {
                    **head,
                    "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
                },
            )
        ]
        for i, token in enumerate(tokens):
            events.append(
                (None, {**head, "choices": [{"index": 0, "delta": {"content": token}, "finish_reason": None}]})
            )
            if i == 0 and fake.stream_error is not None:
                events.append((None, {"error": fake.stream_error}))
                return handler.events(events)
        events.append(
            (None, {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], **usage_in_chunk(usage)})
        )
        events.append((None, "[DONE]"))
        handler.events(events)

    return route


def _mistral_embeddings(handler: _Handler, body: dict[str, Any]) -> None:
    inputs = body.get("input")
    texts = inputs if isinstance(inputs, list) else [inputs]
    tokens = sum(len(str(t).split()) for t in texts)
    handler._json(
        200,
        {
            "id": "embd-aad6fc62b17349b192ef09225058bc45",
            "object": "list",
            "data": [
                {"object": "embedding", "embedding": expected_embedding(str(t), 8), "index": i}
                for i, t in enumerate(texts)
            ],
            "model": body.get("model"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        },
    )


def start_mistral() -> RunningVendor:
    """Mistral's API root ends in ``/v1``; the usage rides on the last chunk."""
    routes = {
        "/v1/chat/completions": _chat_completions(lambda usage: {"usage": usage}),
        "/v1/embeddings": _mistral_embeddings,
    }
    return RunningVendor(routes, "/v1", openai_like_error)


def start_groq() -> RunningVendor:
    """Groq's OpenAI-compatible root is ``/openai/v1``; its last chunk carries the
    usage under ``x_groq``."""
    routes = {
        "/openai/v1/chat/completions": _chat_completions(lambda usage: {"x_groq": {"id": "req_01", "usage": usage}})
    }
    return RunningVendor(routes, "/openai/v1", openai_like_error)


# --- test helpers ----------------------------------------------------------------------

#: Loopback is refused by default: the tests allow the fakes' host, and retry fast.
FAST = {"http_allowed_hosts": ["127.0.0.1"], "openai_backoff_seconds": 0.01}


def fixtures(start: Callable[[], RunningVendor]) -> tuple[Any, Any]:
    """A test module's ``_server`` (one fake for the module) and ``fake`` (reset for
    each test) fixtures: ``_server, fake = fixtures(start_groq)``."""

    @pytest.fixture(scope="module")
    def _server() -> Iterator[RunningVendor]:
        running = start()
        yield running
        running.stop()

    @pytest.fixture
    def fake(_server: RunningVendor) -> FakeVendor:
        _server.fake.reset()
        return _server.fake

    return _server, fake


async def run_task(
    component: ComponentDefinition,
    fake: FakeVendor,
    task: str,
    input: dict[str, Any],
    published: list | None = None,
    **setup: Any,
) -> dict[str, Any]:
    """Run a task against ``fake`` as the engine would, collecting what it publishes."""

    async def emit(output: dict[str, Any]) -> None:
        if published is not None:
            published.append(json.loads(json.dumps(output)))

    ctx = TaskContext(
        component_id=component.type,
        task=task,
        setup={"base-url": fake.base_url, **setup},
        config=FAST,
        emit_output=emit,
    )
    return await component.tasks[task].run(input, ctx)
