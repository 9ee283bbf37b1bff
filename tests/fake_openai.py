"""A real local HTTP server speaking the OpenAI chat-completions and embeddings protocol,
and images/generations, audio/transcriptions (multipart) and audio/speech (binary audio).

Deterministic: a chat answer is ``You said: <the last user text>`` (in JSON mode and
with structured outputs, JSON carrying it: ``answer_for``), streamed one word
(with its trailing space) per chunk; usage counts words. It records every request
(path, headers, JSON body) and can be told to fail, stall or ignore ``stream``.
Standard library only, so tests exercise the component's real HTTP and SSE code.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes = b""

    def form(self) -> dict[str, Any]:
        """A multipart/form-data body's fields: text values as str, files as
        ``(filename, content type, bytes)``."""
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + self.headers["content-type"].encode() + b"\r\n\r\n" + self.raw
        )
        assert message.is_multipart(), self.headers["content-type"]
        fields: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            filename = part.get_filename()
            fields[name] = (filename, part.get_content_type(), payload) if filename else payload.decode()
        return fields


@dataclass
class Failure:
    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def answer_for(body: dict[str, Any]) -> str:
    """What the fake says to a chat request: the echo, or in JSON mode (``response_format``
    ``json_object``) ``{"answer": <the echo>}``, and with structured outputs (``json_schema``)
    a JSON value of the schema whose strings are the echo, numbers 0 and booleans true."""
    echo = f"You said: {_last_user_text(body.get('messages') or [])}"
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_object":
        return json.dumps({"answer": echo})
    if response_format.get("type") == "json_schema":
        return json.dumps(value_of_schema((response_format.get("json_schema") or {}).get("schema") or {}, echo))
    return echo


def value_of_schema(schema: dict[str, Any], text: str) -> Any:
    """The fake's value for a JSON schema: every property present (structured outputs are
    strict), arrays of one item, ``text`` for strings."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        return {name: value_of_schema(sub, text) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [value_of_schema(schema.get("items") or {}, text)]
    return {"string": text, "number": 0, "integer": 0, "boolean": True, "null": None}.get(str(kind), text)


def tokens_of(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text)


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return "".join(part.get("text", "") for part in content if part.get("type") == "text")
    return ""


def _words(messages: list[dict[str, Any]]) -> int:
    total = 0
    for message in messages:
        content = message.get("content")
        text = content if isinstance(content, str) else " ".join(p.get("text", "") for p in content or [])
        total += len(text.split())
    return total


class FakeOpenAI:
    """State and knobs of one fake server; the handler reads them under ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.base_url = ""
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.requests: list[Recorded] = []
            self.failures: list[Failure] = []
            self.api_key: str | None = None
            self.delay = 0.0  # before answering
            self.chunk_delay = 0.0  # between streamed chunks
            self.stall_after: int | None = None  # stop sending (but keep the connection) after N chunks
            self.ignore_stream = False
            self.send_usage = True

    def fail(self, status: int, times: int = 1, message: str | None = None, **headers: str) -> None:
        """The next ``times`` requests answer ``status`` with an OpenAI error body."""
        text = message or {
            401: "Incorrect API key provided.",
            429: "Rate limit reached.",
            500: "The server had an error.",
        }.get(status, f"error {status}")
        with self.lock:
            self.failures += [Failure(status, text, {k.replace("_", "-"): v for k, v in headers.items()})] * times

    def require_key(self, key: str) -> None:
        with self.lock:
            self.api_key = key

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
        with fake.lock:
            fake.requests.append(
                Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body, raw)
            )
            failure = fake.failures.pop(0) if fake.failures else None
            api_key, delay = fake.api_key, fake.delay
        if delay:
            time.sleep(delay)
        if failure is not None:
            return self._error(failure.status, failure.message, failure.headers)
        if api_key is not None and self.headers.get("Authorization") != f"Bearer {api_key}":
            return self._error(401, "Incorrect API key provided.")
        if self.path == "/v1/chat/completions":
            return self._chat(body)
        if self.path == "/v1/embeddings":
            return self._embeddings(body)
        if self.path == "/v1/images/generations":
            return self._images(body)
        if self.path == "/v1/audio/transcriptions":
            return self._json(200, TRANSCRIPTION)
        if self.path == "/v1/audio/speech":
            return self._speech(body)
        return self._error(404, f"Unknown path {self.path}")

    # answers ---------------------------------------------------------------------

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._json(status, {"error": {"message": message, "type": "fake_error", "code": status}}, headers)

    def _chat(self, body: dict[str, Any]) -> None:
        fake = self.server.fake
        n = int(body.get("n") or 1)
        answers = [answer_for(body) if i == 0 else f"[{i}] {answer_for(body)}" for i in range(n)]
        prompt_tokens = _words(body.get("messages") or [])
        completion_tokens = sum(len(tokens_of(a)) for a in answers)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        if not body.get("stream") or fake.ignore_stream:
            choices = [
                {"index": i, "message": {"role": "assistant", "content": a}, "finish_reason": "stop"}
                for i, a in enumerate(answers)
            ]
            return self._json(
                200,
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "model": body.get("model"),
                    "choices": choices,
                    "usage": usage,
                },
            )
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        head = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": body.get("model")}
        chunks = [{**head, "choices": [{"index": i, "delta": {"role": "assistant", "content": ""}}]} for i in range(n)]
        for i, answer in enumerate(answers):
            chunks += [{**head, "choices": [{"index": i, "delta": {"content": token}}]} for token in tokens_of(answer)]
        chunks += [{**head, "choices": [{"index": i, "delta": {}, "finish_reason": "stop"}]} for i in range(n)]
        if fake.send_usage and (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**head, "choices": [], "usage": usage})
        try:
            for count, chunk in enumerate(chunks):
                if fake.stall_after is not None and count >= fake.stall_after:
                    time.sleep(30)  # the client's timeout is what ends this
                    return
                self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())
                if fake.chunk_delay:
                    time.sleep(fake.chunk_delay)
            self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _embeddings(self, body: dict[str, Any]) -> None:
        embedding = expected_embedding(str(body.get("input")), int(body.get("dimensions") or 8))
        self._json(
            200,
            {
                "object": "list",
                "data": [{"object": "embedding", "index": 0, "embedding": embedding}],
                "model": body.get("model"),
                "usage": {
                    "prompt_tokens": len(str(body.get("input")).split()),
                    "total_tokens": len(str(body.get("input")).split()),
                },
            },
        )

    def _images(self, body: dict[str, Any]) -> None:
        # OpenAI's "The image object" with response_format b64_json (API reference).
        data = [
            {"b64_json": base64.b64encode(PNG).decode(), "revised_prompt": f"{body['prompt']} (revised {i})"}
            for i in range(int(body.get("n") or 1))
        ]
        self._json(200, {"created": 1589478378, "data": data})

    def _speech(self, body: dict[str, Any]) -> None:
        # audio/speech answers the audio file itself (API reference: "The audio file content").
        kinds = {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac", "wav": "audio/wav"}
        data = SPEECH_MP3 + str(body.get("input")).encode()
        self.send_response(200)
        self.send_header("Content-Type", kinds.get(body.get("response_format") or "mp3", "audio/mpeg"))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


#: A 1x1 PNG: every generated image.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
#: The start of every spoken answer: an ID3 tag header, then the spoken text.
SPEECH_MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00"
#: audio/transcriptions with response_format verbose_json (OpenAI's API reference example).
TRANSCRIPTION = {
    "task": "transcribe",
    "language": "english",
    "duration": 8.470000267028809,
    "text": "The beach was a popular spot on a hot summer day. People were swimming in the ocean, building sandcastles, and playing beach volleyball.",
    "segments": [
        {
            "id": 0,
            "seek": 0,
            "start": 0.0,
            "end": 3.319999933242798,
            "text": " The beach was a popular spot on a hot summer day.",
            "tokens": [50364, 440, 7534, 390, 257, 3743, 4008, 322, 257, 2368, 4266, 786, 13, 50530],
            "temperature": 0.0,
            "avg_logprob": -0.2860786020755768,
            "compression_ratio": 1.2363636493682861,
            "no_speech_prob": 0.00985979475080967,
        }
    ],
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeOpenAI) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out on purpose break the pipe


def expected_embedding(text: str, size: int = 8) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round(digest[i % len(digest)] / 255, 4) for i in range(size)]


class RunningFake:
    """A started fake server: ``fake`` for its knobs, ``base_url`` ending in ``/v1``."""

    def __init__(self) -> None:
        self.fake = FakeOpenAI()
        self._server = _Server(self.fake)
        self.port = self._server.server_address[1]
        self.fake.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
