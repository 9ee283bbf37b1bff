"""What the vector-store components (``qdrant``, ``pinecone``, ``weaviate``, ``milvus``,
``chroma``) share: their schemas' building blocks, the store's endpoint from the setup,
one JSON call over the store's HTTP API, and the checks of their inputs.

The endpoint is the setup's ``url`` (Instill's field); a component with no setup gets
the server's own store, ``PIPELINE_<TYPE>_BASE_URL`` (and ``PIPELINE_<TYPE>_API_KEY``,
:mod:`pipelines.engine.platform`), whose host is then an allowed host for that type.
Every call goes through the outbound guard (:mod:`~pipelines.components.outbound`); an
allowed host (``PIPELINE_HTTP_ALLOWED_HOSTS``, the type's base URL) admits exactly the
API path of that call. 429, 5xx and network failures are retried as the AI vendors'
calls are (:func:`~pipelines.components.vendor_api.with_retries`); any other error
answer fails the task with the store's own message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pipelines.components import outbound, vendor_api
from pipelines.engine.components import ComponentDefinition, ComponentError, Task, TaskContext

__all__ = [
    "NAME",
    "STATUS",
    "TaskSpec",
    "answer_object",
    "array",
    "boolean",
    "call",
    "check_url",
    "collection",
    "definition",
    "endpoint",
    "floats",
    "integer",
    "io",
    "listed",
    "mapping",
    "name",
    "number",
    "obj",
    "objects",
    "part",
    "positive",
    "same_length",
    "search_result",
    "setup_schema",
    "status_output",
    "store_message",
    "string",
    "strings",
    "text",
    "vector",
    "vector_search",
    "vectors",
]

_MAX_ERROR_CHARS = 500
#: What a collection, index or partition name may hold: it becomes one path segment.
NAME = re.compile(r"[A-Za-z0-9_.\-]{1,255}")

# --- schemas ----------------------------------------------------------------------------


def string(title: str, description: str, **more: Any) -> dict[str, Any]:
    return {"type": "string", "title": title, "description": description, **more}


def integer(title: str, description: str, **more: Any) -> dict[str, Any]:
    return {"type": "integer", "title": title, "description": description, **more}


def number(title: str, description: str) -> dict[str, Any]:
    return {"type": "number", "title": title, "description": description}


def boolean(title: str, description: str, default: bool = False) -> dict[str, Any]:
    return {"type": "boolean", "title": title, "description": description, "default": default}


def obj(title: str, description: str) -> dict[str, Any]:
    return {"type": "object", "title": title, "description": description}


def vector(title: str = "Vector", description: str = "An array of dimensions for the vector value.") -> dict[str, Any]:
    return {"type": "array", "title": title, "description": description, "items": {"type": "number"}, "minItems": 1}


def array(title: str, description: str, items: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "array", "title": title, "description": description, "items": dict(items), "minItems": 1}


def vectors(title: str = "Array Vector", description: str = "The array of vector values.") -> dict[str, Any]:
    return array(title, description, {"type": "array", "items": {"type": "number"}})


def strings(title: str, description: str) -> dict[str, Any]:
    return array(title, description, {"type": "string"})


def objects(title: str, description: str) -> dict[str, Any]:
    return array(title, description, {"type": "object"})


def collection(description: str) -> dict[str, Any]:
    return string("Collection Name", description)


STATUS = "status"


def io(properties: Mapping[str, Any], required: Sequence[str], title: str = "Input") -> dict[str, Any]:
    return {"type": "object", "title": title, "properties": dict(properties), "required": list(required)}


def status_output(description: str, **more: Any) -> dict[str, Any]:
    """An output of a ``status`` message (and ``more`` fields, all required)."""
    return io({STATUS: string("Status", description), **more}, [STATUS, *more], "Output")


def search_result(items: str, items_title: str) -> dict[str, Any]:
    """Instill's ``result`` of a vector search: ``ids``, the ``items`` found (Instill calls them
    points, objects or items), their ``vectors`` and ``metadata``."""
    return {
        "type": "object",
        "title": "Result",
        "description": "Result of the vector search operation.",
        "properties": {
            "ids": {"type": "array", "title": "IDs", "items": {"type": "string"}},
            items: {"type": "array", "title": items_title, "items": {"type": "object"}},
            "vectors": {"type": "array", "title": "Vectors", "items": {"type": "array", "items": {"type": "number"}}},
            "metadata": {"type": "array", "title": "Metadata", "items": {"type": "object"}},
        },
    }


#: One task of a store: (name, title, description, input schema, output schema, run).
TaskSpec = tuple[str, str, str, dict[str, Any], dict[str, Any], Any]


def vector_search(input: dict[str, Any], output: dict[str, Any], run: Any) -> TaskSpec:
    """Instill's ``TASK_VECTOR_SEARCH`` (qdrant, weaviate, milvus)."""
    return ("TASK_VECTOR_SEARCH", "Vector Search", "Perform a vector search on a collection", input, output, run)


def definition(
    type: str,
    vendor: str,
    setup: Mapping[str, Any],
    credentials: frozenset[str],
    tasks: Sequence[TaskSpec],
) -> ComponentDefinition:
    """A store's component: Instill's data type, its url checked when the recipe is saved."""
    return ComponentDefinition(
        type=type,
        title=vendor,
        kind="data",
        vendor=vendor,
        description="Build and search vector datasets.",
        setup_schema=setup,
        credential_fields=credentials,
        check_setup=check_url,
        tasks={
            name: Task(name=name, title=title, description=text, input_schema=input, output_schema=output, run=run)
            for name, title, text, input, output, run in tasks
        },
    )


def setup_schema(title: str, properties: Mapping[str, Any], required: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "title": title,
        "additionalProperties": False,
        "properties": dict(properties),
        "required": list(required),
    }


# --- inputs ---------------------------------------------------------------------------


def name(input: Mapping[str, Any], field: str, *, required: bool = True) -> str:
    """A collection (or partition, index) name: it becomes one segment of the API path."""
    value = input.get(field)
    if value in (None, "") and not required:
        return ""
    if not isinstance(value, str) or not value:
        what = field.removesuffix("-name")
        raise ComponentError(f"{field} is required: the name of the {what}.")
    if not NAME.fullmatch(value):
        raise ComponentError(f"{field} {value!r} may hold only letters, digits, '_', '-' and '.'.")
    return value


def text(input: Mapping[str, Any], field: str) -> str | None:
    value = input.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ComponentError(f"{field} must be a string.")
    return value


def mapping(input: Mapping[str, Any], field: str, *, required: bool = False) -> dict[str, Any] | None:
    value = input.get(field)
    if value is None:
        if required:
            raise ComponentError(f"{field} is required: an object.")
        return None
    if not isinstance(value, Mapping):
        raise ComponentError(f"{field} must be an object, got {type(value).__name__}.")
    return dict(value)


def floats(value: Any, field: str) -> list[float]:
    """One vector: a non-empty list of numbers."""
    if not isinstance(value, list) or not value:
        raise ComponentError(f"{field} must be a non-empty list of numbers.")
    for i, x in enumerate(value):
        if isinstance(x, bool) or not isinstance(x, int | float):
            raise ComponentError(f"{field}[{i}] must be a number, got {x!r:.50}.")
    return [float(x) for x in value]


def listed(input: Mapping[str, Any], field: str, *, required: bool = True) -> list[Any] | None:
    value = input.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, list) or not value:
        raise ComponentError(f"{field} must be a non-empty list.")
    return value


def same_length(counts: Mapping[str, int]) -> None:
    """Parallel arrays (``array-id``, ``array-vector`` ...) must be as long as each other."""
    if len(set(counts.values())) > 1:
        shown = ", ".join(f"{field} has {n}" for field, n in counts.items())
        raise ComponentError(f"the arrays must have one entry per item: {shown}.")


def positive(input: Mapping[str, Any], field: str, *, required: bool = False, default: int | None = None) -> int | None:
    value = input.get(field, default)
    if value is None:
        if required:
            raise ComponentError(f"{field} is required: a positive integer.")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ComponentError(f"{field} must be a positive integer, got {value!r:.50}.")
    return value


# --- the store's API ----------------------------------------------------------------------


def endpoint(ctx: TaskContext, vendor: str, example: str, *, default_scheme: str = "https") -> str:
    """The store's API root: ``setup.url`` (what the platform fills from ``PIPELINE_<TYPE>_BASE_URL``
    when the recipe gives no setup). A URL without a scheme gets ``default_scheme``."""
    url = ctx.setup.get("url")
    if url in (None, ""):
        raise ComponentError(f"setup.url is required: the {vendor} endpoint, such as {example}.")
    if not isinstance(url, str):
        raise ComponentError("setup.url must be a string.")
    url = url.strip()
    if "://" not in url:
        url = f"{default_scheme}://{url}"
    problem = vendor_api.base_url_problem(url)
    if problem:
        raise ComponentError(f"setup.url {problem.replace('/v1', '').replace(':11434', '')}.")
    return url.rstrip("/")


def check_url(setup: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A ``check_setup``: a literal ``url`` that cannot be a store's endpoint."""
    url = setup.get("url")
    if not isinstance(url, str) or not url or "${" in url:
        return []
    full = url if "://" in url else f"https://{url}"
    problem = vendor_api.base_url_problem(full)
    return [("url", f"url {problem.replace('/v1', '').replace(':11434', '')}")] if problem else []


def store_message(content: bytes, reason: str) -> str:
    """The store's own explanation: Qdrant's ``{"status": {"error"}}``, Weaviate's
    ``{"error": [{"message"}]}``, Milvus's and Pinecone's ``{"message"}``, Chroma's
    ``{"error", "message"}``, FastAPI's ``{"detail"}``."""
    try:
        payload = json.loads(content)
    except ValueError:
        payload = None
    if isinstance(payload, Mapping):
        status = payload.get("status")
        if isinstance(status, Mapping) and isinstance(status.get("error"), str):
            return str(status["error"])[:_MAX_ERROR_CHARS]
        error = payload.get("error")
        if isinstance(error, list) and error and isinstance(error[0], Mapping):
            return "; ".join(str(e.get("message")) for e in error if isinstance(e, Mapping))[:_MAX_ERROR_CHARS]
        detail = payload.get("detail")
        if isinstance(detail, list) and detail and isinstance(detail[0], Mapping):
            return "; ".join(str(d.get("msg")) for d in detail if isinstance(d, Mapping))[:_MAX_ERROR_CHARS]
        message = payload.get("message")
        if isinstance(message, str) and message:
            return message[:_MAX_ERROR_CHARS]
    return vendor_api.provider_message(content, reason)


async def call(
    ctx: TaskContext,
    method: str,
    base: str,
    path: str,
    body: Any = None,
    *,
    headers: Mapping[str, str],
    check: Callable[[Any, str], None] | None = None,
) -> Any:
    """One call of the store's API (``base`` + ``path``, ``path`` possibly with a query),
    retried on 429, 5xx and network failures; the JSON answered (``None`` for an empty body).
    ``check`` looks at a 2xx answer's JSON and raises for an error it reports (Milvus
    answers 200 with an error code)."""
    url = base + path
    content = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    sent = {"Accept": "application/json", **headers}
    if content is not None:
        sent["Content-Type"] = "application/json"
    limit = int(ctx.config.get("http_max_response_bytes", outbound.DEFAULT_MAX_RESPONSE_BYTES))
    result: dict[str, Any] = {}

    async def attempt() -> dict[str, Any]:
        try:
            async with outbound.guarded_stream(
                method,
                url,
                headers=sent,
                content=content,
                allowed_hosts=ctx.config.get("llm_allowed_hosts", ctx.config.get("http_allowed_hosts", ())),
                allowed_paths=(path,),
                timeout=float(ctx.config.get("http_timeout", outbound.DEFAULT_TIMEOUT)),
            ) as response:
                data = await outbound.read_capped(response, limit)
                if not response.is_success:
                    message = (
                        f"{method} {url} answered {response.status_code}: {store_message(data, response.reason_phrase)}"
                    )
                    if response.status_code == 429 or response.status_code >= 500:
                        raise vendor_api.Transient(message)
                    raise ComponentError(message)
        except outbound.OutboundUnavailable as exc:
            raise vendor_api.Transient(str(exc)) from None
        try:
            result["payload"] = json.loads(data) if data.strip() else None
        except ValueError:
            raise ComponentError(f"{method} {url} answered something that is not JSON: {data[:200]!r}") from None
        return result

    await vendor_api.with_retries(ctx, attempt)
    if check is not None:
        check(result["payload"], f"{method} {url}")
    return result["payload"]


def part(value: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``value[key]`` when it is an object, else an empty one (an answer's optional part)."""
    found = value.get(key)
    return found if isinstance(found, Mapping) else {}


def answer_object(payload: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise ComponentError(f"{where} answered {type(payload).__name__} where an object was expected.")
    return payload
