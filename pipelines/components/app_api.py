"""Talking to the HTTP APIs of the application components (``slack``, ``github``,
``jira``): one guarded request, retried on 429, 5xx and network failures, and the
service's own error message.

Every request goes through :func:`~pipelines.components.outbound.guarded_request` (the
SSRF guard). The API root is the service's public one or ``setup.base-url`` — what the
platform fills from ``PIPELINE_<TYPE>_BASE_URL`` (``PIPELINE_SLACK_BASE_URL``,
``PIPELINE_GITHUB_BASE_URL``, ``PIPELINE_JIRA_BASE_URL``) for tests and self-hosted deployments (GitHub Enterprise
Server's ``https://host/api/v3``); a server base URL is an allowed host for that
component type only, as the AI vendors' are (but the model hosts of
``PIPELINE_LLM_ALLOWED_HOSTS`` are not). Retries follow the AI vendors' policy
(:func:`~pipelines.components.vendor_api.with_retries`), honouring ``Retry-After``.
Path segments taken from the input are percent-encoded, and ``.``/``..`` refused, so
an input never reaches another endpoint than the task's.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pipelines.components import outbound, vendor_api
from pipelines.engine.components import ComponentError, Task, TaskContext

__all__ = ["Reply", "allowed_hosts", "call", "integer", "prop", "segment", "tasks"]

_MAX_MESSAGE = 500


@dataclass(frozen=True)
class Reply:
    """A 2xx answer: its JSON and its headers."""

    payload: Any
    headers: Mapping[str, str]


def segment(value: Any, field: str) -> str:
    """``value`` as one URL path segment; ``field`` names the input in errors."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ComponentError(f"{field} is required (a string).")
    text = str(value).strip()
    if not text or text in (".", ".."):
        raise ComponentError(f"{field} must not be empty, '.' or '..'.")
    return quote(text, safe="")


def prop(kind: str, title: str, description: str = "", **extra: Any) -> dict[str, Any]:
    """One property of a task's schema."""
    schema: dict[str, Any] = {"type": kind, "title": title, **extra}
    if description:
        schema["description"] = description
    return schema


def integer(input: Mapping[str, Any], field: str, default: int | None = None, minimum: int = 0) -> int:
    """The integer input ``field`` (``default`` when absent), at least ``minimum``."""
    value = input.get(field, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value is None or isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ComponentError(f"{field} must be an integer of at least {minimum}.")
    return value


def tasks(
    runs: Mapping[str, Callable[[dict[str, Any], TaskContext], Awaitable[dict[str, Any]]]],
    titles: Mapping[str, tuple[str, str]],
    inputs: Mapping[str, Mapping[str, Any]],
    outputs: Mapping[str, Mapping[str, Any]],
) -> dict[str, Task]:
    """A component's tasks from its tables: name → run, (title, description), schemas."""
    return {
        name: Task(
            name=name,
            title=titles[name][0],
            description=titles[name][1],
            input_schema=inputs[name],
            output_schema=outputs[name],
            run=run,
        )
        for name, run in runs.items()
    }


def _message(content: bytes, reason: str) -> str:
    """The service's explanation: ``{"message"}`` (GitHub) with its ``errors``, Jira's
    ``errorMessages`` and ``errors``, or what :func:`vendor_api.provider_message` finds."""
    try:
        payload = json.loads(content)
    except ValueError:
        payload = None
    if isinstance(payload, Mapping) and isinstance(payload.get("message"), str):
        details = [
            str(e.get("message") or e.get("code") or "")
            for e in payload.get("errors") or []
            if isinstance(e, Mapping) and (e.get("message") or e.get("code"))
        ]
        return " ".join([payload["message"], *details])[:_MAX_MESSAGE]
    if isinstance(payload, Mapping) and ("errorMessages" in payload or isinstance(payload.get("errors"), Mapping)):
        # Jira's: {"errorMessages": [...], "errors": {"field": "message"}}
        messages = [str(m) for m in payload.get("errorMessages") or []]
        errors = payload.get("errors")
        if isinstance(errors, Mapping):
            messages += [f"{field}: {message}" for field, message in errors.items()]
        if messages:
            return " ".join(messages)[:_MAX_MESSAGE]
    return vendor_api.provider_message(content, reason)


def allowed_hosts(ctx: TaskContext) -> tuple[str, ...]:
    """The deployment's allow list (``PIPELINE_HTTP_ALLOWED_HOSTS``) and the host of the
    server's base URL for this component type — not the model hosts."""
    hosts = tuple(ctx.config.get("http_allowed_hosts", ()))
    platform = ctx.config.get("platform_host")
    return (*hosts, platform) if platform else hosts


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


async def call(
    ctx: TaskContext,
    service: str,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None = None,
    body: Any = None,
    hints: Mapping[int, str] | None = None,
) -> Reply:
    """One request to ``service`` (its name in errors), retried; a 2xx answer's JSON
    (``None`` for an empty body). Other answers fail with the service's message (and
    the hint ``hints`` has for the status)."""
    content = None
    request_headers = {"Accept": "application/json", **headers}
    if body is not None:
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        request_headers["Content-Type"] = "application/json; charset=utf-8"
    shown = url.split("?", 1)[0]
    result: dict[str, Reply] = {}

    async def attempt() -> dict[str, Any]:
        try:
            response = await outbound.guarded_request(
                method,
                url,
                headers=request_headers,
                params=params,
                content=content,
                allowed_hosts=allowed_hosts(ctx),
                timeout=float(ctx.config.get("http_timeout", outbound.DEFAULT_TIMEOUT)),
            )
        except outbound.OutboundUnavailable as exc:
            raise vendor_api.Transient(str(exc)) from None
        if not 200 <= response.status_code < 300:
            message = f"{service} answered {response.status_code} to {method} {shown}: "
            message += _message(response.content, "no reason given")
            hint = (hints or {}).get(response.status_code)
            if hint:
                message = message.rstrip(".") + f". {hint}"
            if response.status_code == 429 or response.status_code >= 500:
                raise vendor_api.Transient(message, _retry_after(response.headers))
            raise ComponentError(message)
        payload = None
        if response.content.strip():
            try:
                payload = json.loads(response.content)
            except ValueError:
                raise ComponentError(
                    f"{service} answered {method} {shown} with something that is not JSON: {response.content[:200]!r}"
                ) from None
        result["reply"] = Reply(payload, response.headers)
        return {}

    await vendor_api.with_retries(ctx, attempt)
    return result["reply"]
