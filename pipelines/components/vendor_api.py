"""Talking to AI vendors' HTTP APIs, for the AI components (``openai``, ``ollama``,
``cohere``, ``gemini``, ``universal-ai``): one guarded POST (or GET, PATCH, DELETE: gemini's
cached contents), bounded retries, the provider's own error message, server-sent events,
and the API root a setup names.

Failures: an HTTP error answer becomes a :class:`ComponentError` carrying its status
and the provider's own message (``{"error": {"message": ...}}``, ``{"error": "..."}``,
``{"message": ...}``). 429, 5xx, network failures and timeouts are :class:`Transient`
and retried by :func:`with_retries` — :data:`MAX_ATTEMPTS` attempts in all (the
deployment's ``openai_max_attempts``), with exponential backoff and jitter, honouring
``Retry-After`` up to :data:`MAX_RETRY_AFTER` seconds — but a streamed answer that
broke off after text was published is not retried (:func:`streamed`).

The call helpers are the openai component's (:mod:`~pipelines.components.openai`,
re-exported here); what this module adds serves the vendors whose APIs are not
OpenAI's. Every request goes through :mod:`~pipelines.components.outbound` (the SSRF guard); an
allowed model host (``llm_allowed_hosts``) admits only the paths the component names.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from pipelines.components import openai, outbound
from pipelines.components.openai import (
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    Transient,
    ai_component,
    base_url_problem,
    check_status,
    json_body,
    json_content,
    model_request,
    provider_message,
    required_string,
    retry_delay,
    sse_data,
    task,
    with_retries,
)
from pipelines.engine.components import ComponentError, Task, TaskContext
from pipelines.engine.values import File, FileDecodeError

__all__ = [
    "EMBEDDING_OUTPUT",
    "MAX_ATTEMPTS",
    "MAX_RETRY_AFTER",
    "USAGE_SCHEMA",
    "StreamSink",
    "Transient",
    "ai_component",
    "base_url",
    "base_url_problem",
    "chat_task",
    "check_base_urls",
    "check_status",
    "embedding_output",
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
    "task",
    "with_retries",
]

#: Token counts as openai's chat reports them, and a TASK_TEXT_EMBEDDINGS that answers one embedding.
USAGE_SCHEMA = openai.USAGE
EMBEDDING_OUTPUT = openai.TEXT_EMBEDDINGS_OUTPUT


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
    ctx: TaskContext,
    url: str,
    body: Mapping[str, Any] | None,
    *,
    paths: tuple[str, ...],
    headers: Mapping[str, str],
    method: str = "POST",
) -> Any:
    """One POST of ``body`` as JSON (or another ``method``, with no body when ``body`` is
    None) through the outbound guard (an async context manager yielding the unread
    response). An allowed model host admits only ``paths``."""
    if body is None:
        return model_request(ctx, url, headers=headers, content=None, allowed_paths=paths, method=method)
    return model_request(
        ctx,
        url,
        headers={"Content-Type": "application/json", **headers},
        content=json_content(body),
        allowed_paths=paths,
        method=method,
    )


async def retried(ctx: TaskContext, attempt: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """``attempt`` under openai's retry policy."""
    return await with_retries(ctx, attempt)


async def json_call(
    ctx: TaskContext,
    url: str,
    body: Mapping[str, Any] | None,
    *,
    paths: tuple[str, ...],
    headers: Mapping[str, str],
    check: Callable[[Any, str], Awaitable[None]] = check_status,
    method: str = "POST",
) -> Mapping[str, Any]:
    """POST ``body`` (or send ``method``, see :func:`post`), retried, and the JSON object answered."""
    result: dict[str, Any] = {}

    async def attempt() -> dict[str, Any]:
        try:
            accept = {"Accept": "application/json", **headers}
            async with post(ctx, url, body, paths=paths, headers=accept, method=method) as response:
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
        raise ComponentError(f"{url} reported an error while streaming: {str(message)[:500]}")
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
    return task(
        "TASK_TEXT_GENERATION_CHAT",
        "Text Generation Chat",
        f"Provide text outputs in response to {inputs} inputs; the answer streams as it is generated.",
        input,
        output,
        run,
    )


def embeddings_task(run: Any, input: dict[str, Any], output: dict[str, Any]) -> Task:
    """Instill's ``TASK_TEXT_EMBEDDINGS``."""
    return task(
        "TASK_TEXT_EMBEDDINGS",
        "Text Embeddings",
        "Turn text into a vector of numbers that capture its meaning, unlocking use cases like semantic search.",
        input,
        output,
        run,
    )


def embedding_output(*, tokens_required: bool) -> dict[str, Any]:
    """A TASK_TEXT_EMBEDDINGS output of one ``embedding`` and its ``usage.tokens`` (Cohere's, Mistral's)."""
    usage: dict[str, Any] = {
        "type": "object",
        "title": "Usage",
        "properties": {"tokens": {"type": "number", "title": "Token Count"}},
    }
    if tokens_required:
        usage["required"] = ["tokens"]
    return {
        "type": "object",
        "title": "Output",
        "properties": {
            "embedding": {"type": "array", "title": "Embedding", "items": {"type": "number"}},
            "usage": usage,
        },
        "required": ["embedding"],
    }


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
