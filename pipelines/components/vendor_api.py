"""Talking to AI vendors' HTTP APIs, for the AI components (``openai``, ``ollama``,
``cohere``, ``gemini``): one guarded POST, bounded retries, the provider's own error
message, server-sent events, and the API root a setup names.

Failures: an HTTP error answer becomes a :class:`ComponentError` carrying its status
and the provider's own message (``{"error": {"message": ...}}``, ``{"error": "..."}``,
``{"message": ...}``). 429, 5xx, network failures and timeouts are :class:`Transient`
and retried by :func:`with_retries` — :data:`MAX_ATTEMPTS` attempts in all (the
deployment's ``openai_max_attempts``), with exponential backoff and jitter, honouring
``Retry-After`` up to :data:`MAX_RETRY_AFTER` seconds — but a streamed answer that
broke off after text was published is not retried (:func:`streamed`).

Every request goes through :mod:`~pipelines.components.outbound` (the SSRF guard); an
allowed model host (``llm_allowed_hosts``) admits only the paths the component names.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from pipelines.components import outbound
from pipelines.engine.components import ComponentError, Task, TaskContext
from pipelines.engine.values import File, FileDecodeError

if TYPE_CHECKING:
    import httpx  # responses come from outbound, which imports httpx on the first request

__all__ = [
    "BACKOFF_SECONDS",
    "EMBEDDING_OUTPUT",
    "MAX_ATTEMPTS",
    "MAX_RETRY_AFTER",
    "USAGE_SCHEMA",
    "StreamSink",
    "Transient",
    "base_url",
    "base_url_problem",
    "chat_task",
    "check_base_urls",
    "check_status",
    "embeddings_task",
    "file_of",
    "json_body",
    "json_call",
    "json_event",
    "post",
    "provider_message",
    "required_string",
    "retried",
    "retry_delay",
    "sse_call",
    "sse_data",
    "streamed",
    "with_retries",
]

#: Token counts as the chat tasks report them.
USAGE_SCHEMA = {
    "type": "object",
    "title": "Usage",
    "description": "Token counts reported by the server.",
    "properties": {
        "prompt-tokens": {"type": "integer", "title": "Prompt tokens"},
        "completion-tokens": {"type": "integer", "title": "Completion tokens"},
        "total-tokens": {"type": "integer", "title": "Total tokens"},
    },
}
#: The output of a TASK_TEXT_EMBEDDINGS that answers one embedding.
EMBEDDING_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {"embedding": {"type": "array", "title": "Embedding", "items": {"type": "number"}}},
    "required": ["embedding"],
}

MAX_ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
MAX_RETRY_AFTER = 30.0


# Error answers are read for their message only; a provider's page of HTML is not news.
_MAX_ERROR_BODY = 64 * 1024
_MAX_MESSAGE_CHARS = 500


def required_string(input: Mapping[str, Any], name: str) -> str:
    value = input.get(name)
    if not isinstance(value, str) or not value:
        raise ComponentError(f"{name} is required.")
    return value


class Transient(ComponentError):
    """A failure another attempt may not have: 429, 5xx, network, timeout."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def base_url_problem(base: str) -> str | None:
    """Why ``base`` cannot be an API root (``None`` when it can).

    The endpoint is ``base`` + ``/chat/completions``; anything in ``base`` that would
    make the server see another path — a fragment or query that swallows the suffix
    (``http://host/api/pull#``), dot segments, percent-encoded characters (``%2f``,
    ``%2e``), a backslash — or that carries credentials is refused.
    """
    parts = urlsplit(base)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL with a host, such as http://localhost:11434/v1"
    if "@" in parts.netloc:
        return "must not hold credentials (user@host): put the key in setup.api-key"
    if "?" in base or "#" in base:
        return "must not have a query (?) or fragment (#)"
    if "%" in base or "\\" in base or any(c.isspace() or ord(c) < 32 for c in base):
        return "must not hold percent-encoded characters, backslashes or spaces"
    if any(segment in (".", "..") for segment in parts.path.split("/")):
        return "must not hold . or .. path segments"
    return None


def provider_message(content: bytes, reason: str) -> str:
    """The provider's own explanation: OpenAI's ``{"error": {"message"}}``, or the
    shapes of other compatible servers, or the start of the body."""
    try:
        payload = json.loads(content)
    except ValueError:
        payload = None
    if isinstance(payload, Mapping):
        error = payload.get("error")
        for candidate in (
            error.get("message") if isinstance(error, Mapping) else error,
            payload.get("message"),
            payload.get("detail"),
        ):
            if isinstance(candidate, str) and candidate:
                return candidate[:_MAX_MESSAGE_CHARS]
    text = content.decode("utf-8", errors="replace").strip()
    return text[:_MAX_MESSAGE_CHARS] or reason


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``Retry-After``)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retry_delay(attempt: int, retry_after: float | None, backoff: float) -> float:
    """Seconds to wait before attempt ``attempt + 1``: the server's ``Retry-After``
    (at most :data:`MAX_RETRY_AFTER`), else exponential backoff with jitter."""
    if retry_after is not None:
        return min(retry_after, MAX_RETRY_AFTER)
    return backoff * 2.0 ** (attempt - 1) * random.uniform(0.5, 1.0)


async def with_retries(ctx: TaskContext, attempt: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    attempts = max(1, int(ctx.config.get("openai_max_attempts", MAX_ATTEMPTS)))
    backoff = float(ctx.config.get("openai_backoff_seconds", BACKOFF_SECONDS))
    for number in range(1, attempts + 1):
        try:
            return await attempt()
        except Transient as exc:
            if number == attempts:
                suffix = f" (after {attempts} attempts)" if attempts > 1 else ""
                raise ComponentError(f"{exc}{suffix}") from None
            await asyncio.sleep(retry_delay(number, exc.retry_after, backoff))
    raise AssertionError("unreachable")


async def check_status(response: httpx.Response, url: str) -> None:
    if response.is_success:
        return
    content = await outbound.read_capped(response, _MAX_ERROR_BODY)
    message = f"{url} answered {response.status_code}: {provider_message(content, response.reason_phrase)}"
    if response.status_code == 429 or response.status_code >= 500:
        raise Transient(message, _retry_after(response.headers))
    raise ComponentError(message)


async def json_body(response: httpx.Response, ctx: TaskContext, url: str) -> Mapping[str, Any]:
    limit = int(ctx.config.get("http_max_response_bytes", outbound.DEFAULT_MAX_RESPONSE_BYTES))
    content = await outbound.read_capped(response, limit)
    try:
        payload = json.loads(content)
    except ValueError:
        raise ComponentError(f"{url} answered with something that is not JSON: {content[:200]!r}") from None
    if not isinstance(payload, Mapping):
        raise ComponentError(f"{url} answered with JSON that is not an object.")
    return payload


async def sse_data(response: httpx.Response) -> AsyncIterator[str]:
    """The ``data`` of each server-sent event, multi-line data joined by newlines."""
    lines: list[str] = []
    async for line in response.aiter_lines():
        if not line:
            if lines:
                yield "\n".join(lines)
                lines = []
        elif line.startswith("data:"):
            lines.append(line[5:].removeprefix(" "))
        # Comments (":"), event names, ids and retry hints carry nothing we need.
    if lines:
        yield "\n".join(lines)


def base_url(setup: Mapping[str, Any], default: str, *fields: str) -> str:
    """The API root: the first of ``fields`` the setup gives (``base-url`` by default), else ``default``."""
    fields = fields or ("base-url",)
    given = next((setup.get(field) for field in fields if setup.get(field)), None)
    base = given or default
    if not isinstance(base, str):
        raise ComponentError(f"setup.{fields[0]} must be a string.")
    problem = base_url_problem(base)
    if problem:
        raise ComponentError(f"setup.{fields[0]} {problem.replace('/v1', '')}.")
    return base.rstrip("/")


def check_base_urls(*fields: str) -> Callable[[Mapping[str, Any]], list[tuple[str, str]]]:
    """A ``check_setup`` refusing a literal URL field that cannot be an API root."""

    def check(setup: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = []
        for field in fields:
            value = setup.get(field)
            if isinstance(value, str) and value and "${" not in value:
                problem = base_url_problem(value)
                if problem:
                    problems.append((field, f"{field} {problem.replace('/v1', '')}"))
        return problems

    return check


def post(
    ctx: TaskContext, url: str, body: Mapping[str, Any], *, paths: tuple[str, ...], headers: Mapping[str, str]
) -> Any:
    """One POST of ``body`` as JSON through the outbound guard (an async context manager
    yielding the unread response). An allowed model host admits only ``paths``."""
    return outbound.guarded_stream(
        "POST",
        url,
        headers={"Content-Type": "application/json", **headers},
        content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        allowed_hosts=ctx.config.get("llm_allowed_hosts", ctx.config.get("http_allowed_hosts", ())),
        allowed_paths=paths,
        timeout=float(ctx.config.get("http_timeout", outbound.DEFAULT_TIMEOUT)),
    )


async def retried(ctx: TaskContext, attempt: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """``attempt`` under openai's retry policy."""
    return await with_retries(ctx, attempt)


async def json_call(
    ctx: TaskContext,
    url: str,
    body: Mapping[str, Any],
    *,
    paths: tuple[str, ...],
    headers: Mapping[str, str],
    check: Callable[[Any, str], Awaitable[None]] = check_status,
) -> Mapping[str, Any]:
    """POST ``body``, retried, and the JSON object answered."""
    result: dict[str, Any] = {}

    async def attempt() -> dict[str, Any]:
        try:
            async with post(ctx, url, body, paths=paths, headers={"Accept": "application/json", **headers}) as response:
                await check(response, url)
                result["payload"] = await json_body(response, ctx, url)
        except outbound.OutboundUnavailable as exc:
            raise Transient(str(exc)) from None
        return result

    await with_retries(ctx, attempt)
    payload: Mapping[str, Any] = result["payload"]
    return payload


def streamed(exc: outbound.OutboundUnavailable, published: bool) -> ComponentError:
    """A network failure while streaming: retried only when nothing was published yet."""
    if published:  # what was published stays published: a retry would repeat it
        return ComponentError(f"{exc} (the answer broke off after it had started)")
    return Transient(str(exc))


def json_event(data: str, url: str) -> Mapping[str, Any]:
    """One streamed event's JSON object (``{}`` for other JSON); an ``error`` in it fails the task."""
    try:
        event = json.loads(data)
    except ValueError:
        raise ComponentError(f"{url} streamed something that is not JSON: {data[:200]!r}") from None
    if not isinstance(event, Mapping):
        return {}
    error = event.get("error")
    if error:
        message = error.get("message") if isinstance(error, Mapping) else error
        raise ComponentError(f"{url} reported an error while streaming: {str(message)[:_MAX_MESSAGE_CHARS]}")
    return event


class StreamSink(Protocol):
    """What :func:`sse_call` feeds one attempt's answer to."""

    async def event(self, data: str, url: str) -> bool:
        """Take one event's data; whether it published a partial output."""

    def whole(self, payload: Mapping[str, Any]) -> None:
        """Take a whole answer (the server did not stream)."""

    def output(self) -> dict[str, Any]:
        """The task's output."""


async def sse_call(
    ctx: TaskContext,
    url: str,
    body: Mapping[str, Any],
    *,
    paths: tuple[str, ...],
    headers: Mapping[str, str],
    start: Callable[[], StreamSink],
) -> dict[str, Any]:
    """POST ``body`` asking for server-sent events, each fed to a sink ``start()`` makes
    for the attempt; retried until something was published (``[DONE]`` ends the stream)."""
    published = False

    async def attempt() -> dict[str, Any]:
        nonlocal published
        sink = start()
        try:
            async with post(
                ctx, url, body, paths=paths, headers={"Accept": "text/event-stream", **headers}
            ) as response:
                await check_status(response, url)
                if "text/event-stream" not in response.headers.get("content-type", ""):
                    sink.whole(await json_body(response, ctx, url))
                    return sink.output()
                async for data in sse_data(response):
                    if data.strip() == "[DONE]":
                        break
                    published = await sink.event(data, url) or published
        except outbound.OutboundUnavailable as exc:
            raise streamed(exc, published) from None
        return sink.output()

    return await with_retries(ctx, attempt)


def chat_task(run: Any, input: dict[str, Any], output: dict[str, Any], inputs: str) -> Task:
    """Instill's ``TASK_TEXT_GENERATION_CHAT``, answering ``inputs`` ("text", "text/image")."""
    return Task(
        name="TASK_TEXT_GENERATION_CHAT",
        title="Text Generation Chat",
        description=f"Provide text outputs in response to {inputs} inputs; the answer streams as it is generated.",
        input_schema=input,
        output_schema=output,
        run=run,
    )


def embeddings_task(run: Any, input: dict[str, Any], output: dict[str, Any]) -> Task:
    """Instill's ``TASK_TEXT_EMBEDDINGS``."""
    return Task(
        name="TASK_TEXT_EMBEDDINGS",
        title="Text Embeddings",
        description="Turn text into a vector of numbers that capture its meaning, unlocking use cases like semantic search.",
        input_schema=input,
        output_schema=output,
        run=run,
    )


def file_of(value: Any, where: str, kind: str = "") -> File:
    """A file input — a file, a data URI or base64 data — whose MIME type starts with ``kind``."""
    file = value
    if not isinstance(file, File):
        if not isinstance(value, str) or not value:
            raise ComponentError(f"{where} must be a file, a data URI or base64 data.")
        try:
            file = File.from_data_uri(value) if value.startswith("data:") else File.from_base64(value)
        except FileDecodeError:
            raise ComponentError(f"{where} is not a valid data URI or base64 data.") from None
    if kind and not file.mime_type.startswith(kind):
        raise ComponentError(f"{where} must be {kind.rstrip('/')}, got {file.mime_type}.")
    return file
