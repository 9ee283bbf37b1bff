"""What the vendor AI components (``ollama``, ``cohere``, ``gemini``) share for talking
to their APIs: one guarded POST, a JSON call with :mod:`~pipelines.components.openai`'s
retry policy (429, 5xx, network failures and timeouts; ``Retry-After`` honoured), and
the server's root from the setup (``base-url``, which the platform fills from
``PIPELINE_<VENDOR>_BASE_URL``), checked as openai checks its ``base-url``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pipelines.components import openai, outbound
from pipelines.components.openai import _check_status, _json_body, _Transient, _with_retries
from pipelines.engine.components import ComponentError, Task, TaskContext
from pipelines.engine.values import File, FileDecodeError

__all__ = [
    "base_url",
    "chat_task",
    "check_base_urls",
    "embeddings_task",
    "file_of",
    "json_call",
    "post",
    "retried",
    "streamed",
]


def base_url(setup: Mapping[str, Any], default: str, *fields: str) -> str:
    """The API root: the first of ``fields`` the setup gives (``base-url`` by default), else ``default``."""
    fields = fields or ("base-url",)
    given = next((setup.get(field) for field in fields if setup.get(field)), None)
    base = given or default
    if not isinstance(base, str):
        raise ComponentError(f"setup.{fields[0]} must be a string.")
    problem = openai.base_url_problem(base)
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
                problem = openai.base_url_problem(value)
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
    return await _with_retries(ctx, attempt)


async def json_call(
    ctx: TaskContext,
    url: str,
    body: Mapping[str, Any],
    *,
    paths: tuple[str, ...],
    headers: Mapping[str, str],
    check: Callable[[Any, str], Awaitable[None]] = _check_status,
) -> Mapping[str, Any]:
    """POST ``body``, retried, and the JSON object answered."""
    result: dict[str, Any] = {}

    async def attempt() -> dict[str, Any]:
        try:
            async with post(ctx, url, body, paths=paths, headers={"Accept": "application/json", **headers}) as response:
                await check(response, url)
                result["payload"] = await _json_body(response, ctx, url)
        except outbound.OutboundUnavailable as exc:
            raise _Transient(str(exc)) from None
        return result

    await _with_retries(ctx, attempt)
    payload: Mapping[str, Any] = result["payload"]
    return payload


def streamed(exc: outbound.OutboundUnavailable, published: bool) -> ComponentError:
    """A network failure while streaming: retried only when nothing was published yet."""
    if published:  # what was published stays published: a retry would repeat it
        return ComponentError(f"{exc} (the answer broke off after it had started)")
    return _Transient(str(exc))


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
