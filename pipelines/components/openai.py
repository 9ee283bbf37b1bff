"""The ``openai`` AI component: text generation and text embeddings against any
OpenAI-compatible endpoint — OpenAI itself, Ollama, vLLM, llama.cpp's server
(Instill ``openai`` v0, with its field names, plus ``setup.base-url``).

``TASK_TEXT_GENERATION`` always asks for a streamed answer (``stream: true`` with
``stream_options.include_usage``, as Instill does) and publishes the cumulative
``texts`` after every chunk that adds text, so SSE and websocket clients see the
answer token by token; token counts arrive in the final output's ``usage``. A
server that ignores ``stream`` and answers with one JSON completion works too.

We call the API with httpx, not the ``openai`` package:

- every request must go through :mod:`~pipelines.components.outbound` (the SSRF
  guard, which is an httpx transport); the package would need its HTTP client
  swapped for ours, and then adds little beyond typed models;
- it brings its own retry policy and timeouts, which we would have to switch off
  to keep ours: bounded retries that never repeat a request whose answer has
  started streaming text, and an idle (not total) timeout for long answers;
- two endpoints and one SSE framing are a few dozen lines; recipe fields map
  one-to-one onto request fields, so what OpenAI-compatible servers add passes
  through untouched — and it is one heavy dependency fewer.

Failures: an HTTP error answer becomes a :class:`ComponentError` carrying its status
and the provider's own message (``{"error": {"message": ...}}``). 429, 5xx, network
failures and timeouts are retried — :data:`MAX_ATTEMPTS` attempts in all, with
exponential backoff and jitter, honouring ``Retry-After`` up to
:data:`MAX_RETRY_AFTER` seconds — but never once text has been published.
The deployment's ``http_timeout`` bounds each wait for the server (connect, and
each gap between chunks), not the whole answer.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pipelines.components import outbound
from pipelines.engine.components import ComponentDefinition, ComponentError, Task, TaskContext
from pipelines.engine.values import File, FileDecodeError

if TYPE_CHECKING:
    import httpx  # responses come from outbound, which imports httpx on the first request

__all__ = [
    "API_PATHS",
    "COMPLETION_TOKENS_MODELS",
    "COMPONENT",
    "DEFAULT_BASE_URL",
    "MAX_ATTEMPTS",
    "MAX_RETRY_AFTER",
    "TEXT_EMBEDDINGS_OUTPUT",
    "USAGE",
    "Transient",
    "ai_component",
    "base_url_problem",
    "call",
    "check_setup",
    "check_status",
    "endpoint",
    "json_body",
    "json_content",
    "json_of",
    "model_request",
    "provider_message",
    "required_string",
    "retry_delay",
    "sse_data",
    "task",
    "with_retries",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_SYSTEM_MESSAGE = "You are a helpful assistant."
MAX_ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
MAX_RETRY_AFTER = 30.0
# Error answers are read for their message only; a provider's page of HTML is not news.
_MAX_ERROR_BODY = 64 * 1024
_MAX_MESSAGE_CHARS = 500

# --- schemas ----------------------------------------------------------------------

_MODEL = {
    "type": "string",
    "title": "Model",
    "description": "ID of the model to use, as the server names it (gpt-4o-mini on OpenAI, llama3.2 on Ollama).",
    "examples": ["gpt-4o-mini", "llama3.2"],
}
_CHAT_MESSAGE = {
    "type": "object",
    "title": "Chat Message",
    "properties": {
        "role": {
            "type": "string",
            "title": "Role",
            "description": "The message role, i.e. 'system', 'user' or 'assistant'.",
        },
        "content": {
            "title": "Content",
            "description": "The message content: a string, or a list of {type: text, text} and {type: image_url, image_url: {url}} parts.",
            "type": ["string", "array"],
        },
    },
    "required": ["role", "content"],
}


def _number(title: str, description: str, minimum: float, maximum: float) -> dict[str, Any]:
    return {"type": "number", "title": title, "description": description, "minimum": minimum, "maximum": maximum}


_RESPONSE_FORMAT = {
    "type": "object",
    "title": "Response Format",
    "description": "{type: text}, {type: json_object}, or {type: json_schema, json-schema: <JSON text>}.",
    "properties": {
        "type": {"type": "string", "enum": ["text", "json_object", "json_schema"]},
        "json-schema": {"type": ["string", "object"], "title": "JSON Schema"},
    },
    "required": ["type"],
}
_FUNCTION = {
    "type": "object",
    "title": "Function",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "title": "Name"},
        "description": {"type": "string", "title": "Description"},
        "parameters": {"type": "object", "title": "Parameters"},
        "strict": {"type": "boolean", "title": "Strict"},
    },
}

TEXT_GENERATION_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "model": _MODEL,
        "prompt": {"type": "string", "title": "Prompt", "description": "The prompt text."},
        "system-message": {
            "type": "string",
            "title": "System Message",
            "description": "Sets the behaviour of the assistant; ignored when chat-history is given.",
            "default": DEFAULT_SYSTEM_MESSAGE,
        },
        "images": {
            "type": "array",
            "title": "Images",
            "description": "Images for vision models: image files, data URIs or http(s) URLs.",
            "items": {"instillAcceptFormats": ["image/*"]},
        },
        "chat-history": {
            "type": "array",
            "title": "Chat history",
            "description": "Earlier messages of the conversation; when given, system-message is not sent.",
            "items": _CHAT_MESSAGE,
        },
        "temperature": _number("Temperature", "Sampling temperature, between 0 and 2.", 0, 2),
        "top-p": _number("Top P", "Nucleus sampling: the probability mass of tokens considered.", 0, 1),
        "max-tokens": {"type": "integer", "title": "Max Tokens", "description": "The most tokens to generate."},
        "n": {
            "type": "integer",
            "title": "N",
            "description": "How many choices to generate.",
            "minimum": 1,
            "maximum": 128,
        },
        "stop": {"type": "string", "title": "Stop", "description": "Stop generating before this sequence."},
        "presence-penalty": _number(
            "Presence Penalty", "Between -2.0 and 2.0; positive values favour new topics.", -2, 2
        ),
        "frequency-penalty": _number(
            "Frequency Penalty", "Between -2.0 and 2.0; positive values discourage repetition.", -2, 2
        ),
        "response-format": _RESPONSE_FORMAT,
        # Instill's current name for response-format; either is read.
        "response-type": {**_RESPONSE_FORMAT, "title": "Response Type"},
        "reasoning-effort": {
            "type": "string",
            "title": "Reasoning Effort",
            "description": "How much reasoning models think before answering (sent as reasoning_effort).",
            "enum": ["minimal", "low", "medium", "high"],
        },
        "verbosity": {
            "type": "string",
            "title": "Verbosity",
            "description": "How long the answer should be (sent as verbosity).",
            "enum": ["low", "medium", "high"],
        },
        "prediction": {
            "type": "object",
            "title": "Prediction",
            "description": "Predicted Output: text most of the answer is expected to repeat (sent as prediction).",
            "properties": {"content": {"type": "string", "title": "Content"}},
        },
        # Accepted so that Instill's recipes validate, but not sent: this component
        # returns texts only, never tool calls (docs/recipes.md).
        "tools": {
            "type": "array",
            "title": "Tools",
            "description": "Accepted for compatibility with Instill and ignored: no tool calls are made or returned.",
            "items": {
                "type": "object",
                "required": ["function"],
                "properties": {"function": _FUNCTION},
            },
        },
        "tool-choice": {
            "title": "Tool Choice",
            "description": "Accepted for compatibility with Instill and ignored, as tools are.",
            "oneOf": [
                {"type": "string", "enum": ["none", "auto", "required"]},
                {
                    "type": "object",
                    "required": ["function"],
                    "properties": {
                        "function": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {"name": {"type": "string", "title": "Name"}},
                        }
                    },
                },
            ],
        },
    },
    "required": ["model", "prompt"],
}
USAGE = {
    "type": "object",
    "title": "Usage",
    "description": "Token counts reported by the server.",
    "properties": {
        "prompt-tokens": {"type": "integer", "title": "Prompt tokens"},
        "completion-tokens": {"type": "integer", "title": "Completion tokens"},
        "total-tokens": {"type": "integer", "title": "Total tokens"},
    },
}
TEXT_GENERATION_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "texts": {
            "type": "array",
            "title": "Texts",
            "items": {"type": "string"},
            "description": "One text per choice.",
        },
        "usage": USAGE,
    },
    "required": ["texts"],
}
TEXT_EMBEDDINGS_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "model": {**_MODEL, "examples": ["text-embedding-3-small", "nomic-embed-text"]},
        "text": {"type": "string", "title": "Text", "description": "The text to embed."},
        "dimensions": {
            "type": "integer",
            "title": "Dimensions",
            "description": "Length of the embedding, for models that support it (text-embedding-3 and later).",
        },
    },
    "required": ["text", "model"],
}
TEXT_EMBEDDINGS_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {"embedding": {"type": "array", "title": "Embedding", "items": {"type": "number"}}},
    "required": ["embedding"],
}
SETUP_SCHEMA = {
    "type": "object",
    "title": "OpenAI Connection",
    "properties": {
        "api-key": {
            "type": "string",
            "title": "API Key",
            "description": "Sent as a bearer token; leave out for servers that need none (Ollama).",
        },
        "organization": {
            "type": "string",
            "title": "Organization ID",
            "description": "OpenAI organization the usage counts against.",
        },
        "base-url": {
            "type": "string",
            "title": "Base URL",
            "description": f"The API root of an OpenAI-compatible server (default {DEFAULT_BASE_URL}; Ollama: http://localhost:11434/v1).",
        },
    },
}

# --- the request --------------------------------------------------------------------

# Recipe field → request field, for the options passed through as they are.
_OPTIONS = {
    "temperature": "temperature",
    "top-p": "top_p",
    "max-tokens": "max_tokens",
    "n": "n",
    "stop": "stop",
    "presence-penalty": "presence_penalty",
    "frequency-penalty": "frequency_penalty",
    "reasoning-effort": "reasoning_effort",
    "verbosity": "verbosity",
}


#: Models that refuse ``max_tokens`` and want ``max-tokens`` sent as ``max_completion_tokens``:
#: OpenAI's reasoning models (o1, o3, o4-mini, ...) and gpt-5. Other models keep
#: ``max_tokens``, which every OpenAI-compatible server (Ollama, vLLM) understands.
COMPLETION_TOKENS_MODELS = re.compile(r"(?:o\d|gpt-5)(?:$|[-.])")


def _required_string(input: Mapping[str, Any], name: str) -> str:
    value = input.get(name)
    if not isinstance(value, str) or not value:
        raise ComponentError(f"{name} is required.")
    return value


def _image_url(value: Any, where: str) -> str:
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return value  # the provider fetches it
    file = value
    if not isinstance(file, File):
        if not isinstance(value, str) or not value:
            raise ComponentError(f"{where} must be an image file, a data URI or a URL.")
        try:
            file = File.from_data_uri(value) if value.startswith("data:") else File.from_base64(value)
        except FileDecodeError:
            raise ComponentError(f"{where} is not a valid data URI or base64 image.") from None
    if not file.mime_type.startswith("image/"):
        raise ComponentError(f"{where} must be an image, got {file.mime_type}.")
    # The plain form OpenAI documents; File.data_uri adds a filename parameter that
    # compatible servers need not understand.
    return f"data:{file.mime_type};base64,{file.base64()}"


def _content(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    # Text-only content as a plain string: every OpenAI-compatible server takes that.
    if all(part["type"] == "text" for part in parts):
        return "".join(part["text"] for part in parts)
    return parts


def _history_message(message: Any, index: int) -> dict[str, Any]:
    where = f"chat-history[{index}]"
    if not isinstance(message, Mapping) or not isinstance(message.get("role"), str):
        raise ComponentError(f"{where} must be an object with a role and a content.")
    content = message.get("content")
    if isinstance(content, str):
        return {"role": message["role"], "content": content}
    if not isinstance(content, list):
        raise ComponentError(f"{where}.content must be a string or a list of parts.")
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text":
            parts.append({"type": "text", "text": str(part.get("text") or "")})
        elif kind == "image_url" and message["role"] == "user":
            url = (part.get("image_url") or {}).get("url")
            parts.append({"type": "image_url", "image_url": {"url": _image_url(url, f"{where} image")}})
        elif kind != "image_url":
            raise ComponentError(f"{where}.content parts must be of type text or image_url.")
        # Images in other roles are dropped: OpenAI takes them from users only.
    return {"role": message["role"], "content": _content(parts)}


def _messages(input: Mapping[str, Any], prompt: str) -> list[dict[str, Any]]:
    history = input.get("chat-history")
    if history:
        if not isinstance(history, list):
            raise ComponentError("chat-history must be a list of messages.")
        messages = [_history_message(message, i) for i, message in enumerate(history)]
    else:
        system = input.get("system-message", DEFAULT_SYSTEM_MESSAGE)
        messages = [{"role": "system", "content": system}] if system else []
    images = input.get("images") or []
    if not isinstance(images, list):
        images = [images]
    parts: list[dict[str, Any]] = [{"type": "text", "text": prompt}]
    parts += [
        {"type": "image_url", "image_url": {"url": _image_url(image, f"images[{i}]")}} for i, image in enumerate(images)
    ]
    messages.append({"role": "user", "content": _content(parts)})
    return messages


def _response_format(value: Any) -> dict[str, Any] | None:
    if not value:
        return None
    if not isinstance(value, Mapping) or value.get("type") not in ("text", "json_object", "json_schema"):
        raise ComponentError("response-format.type must be text, json_object or json_schema.")
    if value["type"] != "json_schema":
        return {"type": value["type"]}
    schema = value.get("json-schema")
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError as exc:
            raise ComponentError(f"response-format.json-schema is not valid JSON: {exc}.") from None
    if not isinstance(schema, Mapping):
        raise ComponentError("response-format.json-schema must be a JSON object.")
    if "schema" not in schema:  # a bare JSON Schema: wrap it the way OpenAI wants it
        schema = {"name": "output", "schema": schema}
    return {"type": "json_schema", "json_schema": schema}


def _chat_request(input: Mapping[str, Any]) -> dict[str, Any]:
    prompt = _required_string(input, "prompt")
    body: dict[str, Any] = {
        "model": _required_string(input, "model"),
        "messages": _messages(input, prompt),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    body.update({field: input[name] for name, field in _OPTIONS.items() if input.get(name) is not None})
    if "max_tokens" in body and COMPLETION_TOKENS_MODELS.match(body["model"]):
        body["max_completion_tokens"] = body.pop("max_tokens")
    response_format = _response_format(input.get("response-format") or input.get("response-type"))
    if response_format is not None:
        body["response_format"] = response_format
    prediction = input.get("prediction")
    if isinstance(prediction, Mapping) and isinstance(prediction.get("content"), str) and prediction["content"]:
        body["prediction"] = {"type": "content", "content": prediction["content"]}
    return body


# --- talking to the server ------------------------------------------------------------


class _Transient(ComponentError):
    """A failure another attempt may not have: 429, 5xx, network, timeout."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


#: The paths this component calls under ``base-url``: all an allowed model host admits.
API_PATHS = ("/chat/completions", "/embeddings", "/images/generations", "/audio/transcriptions", "/audio/speech")


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


def check_setup(setup: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Problems of a literal ``setup`` at recipe validation (references are checked
    when the run resolves them)."""
    base = setup.get("base-url")
    if isinstance(base, str) and base and "${" not in base:
        problem = base_url_problem(base)
        if problem:
            return [("base-url", f"base-url {problem}")]
    return []


def _endpoint(setup: Mapping[str, Any], path: str, default: str = DEFAULT_BASE_URL) -> str:
    base = setup.get("base-url") or default
    if not isinstance(base, str):
        raise ComponentError("setup.base-url must be a string.")
    problem = base_url_problem(base)
    if problem:
        raise ComponentError(f"setup.base-url {problem}.")
    return base.rstrip("/") + "/" + path


def _headers(setup: Mapping[str, Any], accept: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": accept}
    if setup.get("api-key"):
        headers["Authorization"] = f"Bearer {setup['api-key']}"
    if setup.get("organization"):
        headers["OpenAI-Organization"] = str(setup["organization"])
    return headers


def _provider_message(content: bytes, reason: str) -> str:
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


async def _with_retries(ctx: TaskContext, attempt: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    attempts = max(1, int(ctx.config.get("openai_max_attempts", MAX_ATTEMPTS)))
    backoff = float(ctx.config.get("openai_backoff_seconds", BACKOFF_SECONDS))
    for number in range(1, attempts + 1):
        try:
            return await attempt()
        except _Transient as exc:
            if number == attempts:
                suffix = f" (after {attempts} attempts)" if attempts > 1 else ""
                raise ComponentError(f"{exc}{suffix}") from None
            await asyncio.sleep(retry_delay(number, exc.retry_after, backoff))
    raise AssertionError("unreachable")


async def _check_status(response: httpx.Response, url: str) -> None:
    if response.is_success:
        return
    content = await outbound.read_capped(response, _MAX_ERROR_BODY)
    message = f"{url} answered {response.status_code}: {_provider_message(content, response.reason_phrase)}"
    if response.status_code == 429 or response.status_code >= 500:
        raise _Transient(message, _retry_after(response.headers))
    raise ComponentError(message)


def model_request(
    ctx: TaskContext,
    url: str,
    *,
    headers: Mapping[str, str],
    content: bytes | None,
    allowed_paths: tuple[str, ...],
    method: str = "POST",
) -> Any:
    """POST ``content`` (or send ``method``: gemini's cached contents are also read,
    patched and deleted) to a model server through the outbound guard, where allowed
    model hosts admit ``allowed_paths`` only (the vendor components share this)."""
    return outbound.guarded_stream(
        method,
        url,
        headers=headers,
        content=content,
        allowed_hosts=ctx.config.get("llm_allowed_hosts", ctx.config.get("http_allowed_hosts", ())),
        allowed_paths=allowed_paths,
        timeout=float(ctx.config.get("http_timeout", outbound.DEFAULT_TIMEOUT)),
    )


def json_content(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _request(ctx: TaskContext, url: str, body: Mapping[str, Any], accept: str) -> Any:
    return model_request(
        ctx, url, headers=_headers(ctx.setup, accept), content=json_content(body), allowed_paths=API_PATHS
    )


def _json_of(content: bytes, url: str) -> Mapping[str, Any]:
    try:
        payload = json.loads(content)
    except ValueError:
        raise ComponentError(f"{url} answered with something that is not JSON: {content[:200]!r}") from None
    if not isinstance(payload, Mapping):
        raise ComponentError(f"{url} answered with JSON that is not an object.")
    return payload


async def _json_body(response: httpx.Response, ctx: TaskContext, url: str) -> Mapping[str, Any]:
    limit = int(ctx.config.get("http_max_response_bytes", outbound.DEFAULT_MAX_RESPONSE_BYTES))
    return _json_of(await outbound.read_capped(response, limit), url)


async def _sse_data(response: httpx.Response) -> AsyncIterator[str]:
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


def _usage(usage: Any) -> dict[str, int] | None:
    if not isinstance(usage, Mapping):
        return None
    fields = {
        "prompt-tokens": "prompt_tokens",
        "completion-tokens": "completion_tokens",
        "total-tokens": "total_tokens",
    }
    counts = {name: usage[field] for name, field in fields.items() if isinstance(usage.get(field), int)}
    return counts or None


def _add_text(texts: list[str], index: Any, text: Any) -> bool:
    if not isinstance(text, str) or not text:
        return False
    index = index if isinstance(index, int) and 0 <= index < 128 else 0
    while len(texts) <= index:
        texts.append("")
    texts[index] += text
    return True


# --- tasks ----------------------------------------------------------------------------


async def run_text_generation(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    body = _chat_request(input)
    url = _endpoint(ctx.setup, "chat/completions")
    texts: list[str] = []
    usage: dict[str, int] | None = None

    async def attempt() -> dict[str, Any]:
        nonlocal usage
        try:
            async with _request(ctx, url, body, "text/event-stream") as response:
                await _check_status(response, url)
                if "text/event-stream" not in response.headers.get("content-type", ""):
                    payload = await _json_body(response, ctx, url)  # the server did not stream
                    for choice in payload.get("choices") or []:
                        _add_text(texts, choice.get("index"), (choice.get("message") or {}).get("content"))
                    usage = _usage(payload.get("usage"))
                else:
                    async for data in _sse_data(response):
                        if data.strip() == "[DONE]":
                            break
                        usage = await _stream_chunk(data, texts, ctx, url) or usage
        except outbound.OutboundUnavailable as exc:
            if texts:  # what was published stays published: a retry would repeat it
                raise ComponentError(f"{exc} (the answer broke off after it had started)") from None
            raise _Transient(str(exc)) from None
        output: dict[str, Any] = {"texts": texts}
        if usage:
            output["usage"] = usage
        return output

    return await _with_retries(ctx, attempt)


async def _stream_chunk(data: str, texts: list[str], ctx: TaskContext, url: str) -> dict[str, int] | None:
    """Add one streamed chunk's text to ``texts`` (publishing them when it added
    any); returns the chunk's usage, which the last chunk carries."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise ComponentError(f"{url} streamed something that is not JSON: {data[:200]!r}") from None
    if not isinstance(chunk, Mapping):
        return None
    if chunk.get("error"):
        raise ComponentError(f"{url} reported an error while streaming: {_provider_message(data.encode(), 'error')}")
    added = False
    for choice in chunk.get("choices") or []:
        if isinstance(choice, Mapping):
            added |= _add_text(texts, choice.get("index"), (choice.get("delta") or {}).get("content"))
    if added:
        await ctx.publish({"texts": list(texts)})
    return _usage(chunk.get("usage"))


async def run_text_embeddings(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    body: dict[str, Any] = {"model": _required_string(input, "model"), "input": _required_string(input, "text")}
    if input.get("dimensions"):
        body["dimensions"] = input["dimensions"]
    url = _endpoint(ctx.setup, "embeddings")

    async def attempt() -> dict[str, Any]:
        try:
            async with _request(ctx, url, body, "application/json") as response:
                await _check_status(response, url)
                payload = await _json_body(response, ctx, url)
        except outbound.OutboundUnavailable as exc:
            raise _Transient(str(exc)) from None
        data = payload.get("data")
        embedding = (
            data[0].get("embedding") if isinstance(data, list) and data and isinstance(data[0], Mapping) else None
        )
        if not isinstance(embedding, list):
            raise ComponentError(f"{url} answered without an embedding.")
        return {"embedding": embedding}

    return await _with_retries(ctx, attempt)


# --- images and audio ------------------------------------------------------------------

TEXT_TO_IMAGE_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "model": {
            "type": "string",
            "title": "Model",
            "description": "The model to use for image generation.",
            "default": "dall-e-2",
            "examples": ["dall-e-2", "dall-e-3", "gpt-image-1"],
        },
        "prompt": {"type": "string", "title": "Prompt", "description": "A text description of the desired image(s)."},
        "n": {
            "type": "integer",
            "title": "N",
            "description": "The number of images to generate, 1 to 10 (dall-e-3: 1).",
            "default": 1,
            "minimum": 1,
            "maximum": 10,
        },
        "quality": {
            "type": "string",
            "title": "Quality",
            "description": "standard or hd (dall-e-3 only).",
            "default": "standard",
        },
        "size": {
            "type": "string",
            "title": "Size",
            "description": "256x256, 512x512 or 1024x1024 (dall-e-2); 1024x1024, 1792x1024 or 1024x1792 (dall-e-3).",
            "default": "1024x1024",
        },
        "style": {
            "type": "string",
            "title": "Style",
            "description": "vivid or natural (dall-e-3 only).",
            "default": "vivid",
        },
    },
    "required": ["prompt", "model"],
}
TEXT_TO_IMAGE_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "results": {
            "type": "array",
            "title": "Images",
            "description": "Generated results.",
            "items": {
                "type": "object",
                "title": "Image",
                "properties": {
                    "image": {"title": "Generated Image", "instillFormat": "image/png"},
                    "revised-prompt": {"type": "string", "title": "Revised Prompt"},
                },
                "required": ["image", "revised-prompt"],
            },
        }
    },
    "required": ["results"],
}
SPEECH_RECOGNITION_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "model": {
            "type": "string",
            "title": "Model",
            "description": "ID of the model to use.",
            "examples": ["whisper-1", "gpt-4o-transcribe"],
        },
        "audio": {
            "title": "Audio",
            "description": "The audio to transcribe: flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav or webm.",
            "instillAcceptFormats": ["audio/*"],
        },
        "prompt": {"type": "string", "title": "Prompt", "description": "Text to guide the model's style."},
        "language": {"type": "string", "title": "Language", "description": "The audio's language (ISO-639-1)."},
        "temperature": _number("Temperature", "The sampling temperature, between 0 and 1.", 0, 1),
    },
    "required": ["audio", "model"],
}
SPEECH_RECOGNITION_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {"text": {"type": "string", "title": "Text", "description": "Generated text."}},
    "required": ["text"],
}
TEXT_TO_SPEECH_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "model": {"type": "string", "title": "Model", "default": "tts-1", "examples": ["tts-1", "tts-1-hd"]},
        "text": {"type": "string", "title": "Text", "description": "The text to speak.", "maxLength": 4096},
        "voice": {
            "type": "string",
            "title": "Voice",
            "description": "alloy, echo, fable, onyx, nova or shimmer.",
            "default": "alloy",
        },
        "response-type": {
            "type": "string",
            "title": "Response Format",
            "description": "The audio format: mp3, opus, aac or flac.",
            "default": "mp3",
        },
        "speed": _number("Speed", "The speed of the audio, from 0.25 to 4.0.", 0.25, 4),
    },
    "required": ["text", "model", "voice"],
}
TEXT_TO_SPEECH_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {"audio": {"title": "Audio", "description": "AI generated audio.", "instillFormat": "audio/*"}},
    "required": [],
}


async def call(
    ctx: TaskContext,
    url: str,
    content: bytes,
    headers: Mapping[str, str],
    allowed_paths: tuple[str, ...] = API_PATHS,
) -> tuple[str, bytes]:
    """One non-streamed call, retried as the others are: the answer's media type and
    body (capped)."""

    async def attempt() -> dict[str, Any]:
        limit = int(ctx.config.get("http_max_response_bytes", outbound.DEFAULT_MAX_RESPONSE_BYTES))
        try:
            async with model_request(
                ctx, url, headers=headers, content=content, allowed_paths=allowed_paths
            ) as response:
                await _check_status(response, url)
                media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                return {"type": media_type, "body": await outbound.read_capped(response, limit)}
        except outbound.OutboundUnavailable as exc:
            raise _Transient(str(exc)) from None

    answer = await _with_retries(ctx, attempt)
    return answer["type"], answer["body"]


async def run_text_to_image(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    body: dict[str, Any] = {
        "prompt": _required_string(input, "prompt"),
        "model": input.get("model") or "dall-e-2",
    }
    body.update({name: input[name] for name in ("n", "quality", "size", "style") if input.get(name) is not None})
    # gpt-image models always answer base64 and refuse the parameter.
    if not str(body["model"]).startswith("gpt-image"):
        body["response_format"] = "b64_json"
    url = _endpoint(ctx.setup, "images/generations")
    _, content = await call(ctx, url, json_content(body), _headers(ctx.setup, "application/json"))
    payload = _json_of(content, url)
    results = []
    for i, item in enumerate(payload.get("data") or []):
        encoded = item.get("b64_json") if isinstance(item, Mapping) else None
        if not isinstance(encoded, str) or not encoded:
            raise ComponentError(f"{url} answered without the image data (b64_json) of image {i}.")
        try:
            image = File.from_data_uri(encoded) if encoded.startswith("data:") else File.from_base64(encoded)
        except FileDecodeError:
            raise ComponentError(f"{url} answered with image {i} not in base64.") from None
        image.filename = f"image-{i}.{image.mime_type.rpartition('/')[2]}"
        results.append({"image": image, "revised-prompt": str(item.get("revised_prompt") or "")})
    if not results:
        raise ComponentError(f"{url} answered without images.")
    return {"results": results}


def _multipart(fields: list[tuple[str, str]], file_field: str, file: File, filename: str) -> tuple[bytes, str]:
    boundary = f"pipeline-{random.getrandbits(96):024x}"
    parts = []
    for name, value in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    quoted = filename.replace('"', "%22").replace("\r", "").replace("\n", "")
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{quoted}"\r\n'
        f"Content-Type: {file.mime_type}\r\n\r\n".encode()
    )
    parts += [file.read(), f"\r\n--{boundary}--\r\n".encode()]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# The extension OpenAI reads the audio format from, for files that came without a name.
_AUDIO_EXTENSIONS = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/ogg": "ogg",
    "audio/flac": "flac",
    "audio/mp4": "m4a",
    "audio/m4a": "m4a",
    "audio/x-m4a": "m4a",
    "audio/webm": "webm",
    "video/mp4": "mp4",
    "video/webm": "webm",
}


def _audio_file(value: Any) -> File:
    if isinstance(value, File):
        return value
    if not isinstance(value, str) or not value:
        raise ComponentError("audio is required: an audio file, a data URI or base64.")
    try:
        return File.from_data_uri(value) if value.startswith("data:") else File.from_base64(value)
    except FileDecodeError:
        raise ComponentError("audio is not a valid data URI or base64 string.") from None


async def run_speech_recognition(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    model = _required_string(input, "model")
    audio = _audio_file(input.get("audio"))
    if not audio.mime_type.startswith(("audio/", "video/")):
        raise ComponentError(f"audio must be an audio file, got {audio.mime_type}.")
    filename = audio.filename or ""
    if "." not in filename:
        filename = f"{filename or 'audio'}.{_AUDIO_EXTENSIONS.get(audio.mime_type, 'wav')}"
    # verbose_json as Instill asks; only its text is read.
    fields = [("model", model), ("response_format", "verbose_json")]
    fields += [(name, str(input[name])) for name in ("prompt", "language") if input.get(name)]
    if input.get("temperature") is not None:
        fields.append(("temperature", str(input["temperature"])))
    content, content_type = _multipart(fields, "file", audio, filename)
    headers = {**_headers(ctx.setup, "application/json"), "Content-Type": content_type}
    url = _endpoint(ctx.setup, "audio/transcriptions")
    payload = _json_of((await call(ctx, url, content, headers))[1], url)
    text = payload.get("text")
    if not isinstance(text, str):
        raise ComponentError(f"{url} answered without a text.")
    return {"text": text}


async def run_text_to_speech(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    body: dict[str, Any] = {
        "input": _required_string(input, "text"),
        "model": input.get("model") or "tts-1",
        "voice": input.get("voice") or "alloy",
    }
    if input.get("response-type"):
        body["response_format"] = input["response-type"]
    if input.get("speed") is not None:
        body["speed"] = input["speed"]
    url = _endpoint(ctx.setup, "audio/speech")
    declared, audio = await call(ctx, url, json_content(body), _headers(ctx.setup, "audio/*"))
    if not audio:
        raise ComponentError(f"{url} answered without audio.")
    file = File(audio, mime_type=declared if declared.startswith("audio/") else None)
    if not file.mime_type.startswith("audio/"):
        raise ComponentError(f"{url} answered with {file.mime_type}, not audio.")
    extension = {"audio/mpeg": "mp3", "audio/aac": "aac"}.get(file.mime_type, file.mime_type.rpartition("/")[2])
    file.filename = f"speech.{extension}"
    return {"audio": file}


def task(
    name: str, title: str, description: str, input_schema: dict[str, Any], output_schema: dict[str, Any], run: Any
) -> Task:
    """One task of a component, as the AI components list theirs."""
    return Task(
        name=name,
        title=title,
        description=description,
        input_schema=input_schema,
        output_schema=output_schema,
        run=run,
    )


def ai_component(
    type: str,
    title: str,
    vendor: str,
    description: str,
    setup_schema: dict[str, Any],
    tasks: Iterable[Task],
    check_setup: Callable[[Mapping[str, Any]], list[tuple[str, str]]] = check_setup,
) -> ComponentDefinition:
    """An AI vendor component: kind ``ai``, its ``api-key`` a credential (so a recipe
    can give it the platform's key), its tasks by name in the order given."""
    return ComponentDefinition(
        type=type,
        title=title,
        kind="ai",
        vendor=vendor,
        description=description,
        setup_schema=setup_schema,
        credential_fields=frozenset({"api-key"}),
        check_setup=check_setup,
        tasks={each.name: each for each in tasks},
    )


COMPONENT = ai_component(
    "openai",
    "OpenAI",
    "OpenAI",
    "Text generation (streamed), embeddings, images, speech recognition and speech with OpenAI or any OpenAI-compatible server (Ollama, vLLM, llama.cpp).",
    SETUP_SCHEMA,
    [
        task(
            "TASK_TEXT_GENERATION",
            "Text Generation",
            "Provide text outputs in response to their inputs; the answer streams as it is generated.",
            TEXT_GENERATION_INPUT,
            TEXT_GENERATION_OUTPUT,
            run_text_generation,
        ),
        task(
            "TASK_TEXT_EMBEDDINGS",
            "Text Embeddings",
            "Turn text into numbers, unlocking use cases like search.",
            TEXT_EMBEDDINGS_INPUT,
            TEXT_EMBEDDINGS_OUTPUT,
            run_text_embeddings,
        ),
        task(
            "TASK_TEXT_TO_IMAGE",
            "Text to Image",
            "Generate images with DALL·E (images/generations).",
            TEXT_TO_IMAGE_INPUT,
            TEXT_TO_IMAGE_OUTPUT,
            run_text_to_image,
        ),
        task(
            "TASK_SPEECH_RECOGNITION",
            "Speech Recognition",
            "Turn audio into text (audio/transcriptions).",
            SPEECH_RECOGNITION_INPUT,
            SPEECH_RECOGNITION_OUTPUT,
            run_speech_recognition,
        ),
        task(
            "TASK_TEXT_TO_SPEECH",
            "Text to Speech",
            "Turn text into lifelike spoken audio (audio/speech).",
            TEXT_TO_SPEECH_INPUT,
            TEXT_TO_SPEECH_OUTPUT,
            run_text_to_speech,
        ),
    ],
)


# The HTTP the other AI vendor components share (pipelines/components/chat_vendors.py),
# under public names.
Transient = _Transient
check_status = _check_status
endpoint = _endpoint
json_body = _json_body
json_of = _json_of
provider_message = _provider_message
required_string = _required_string
sse_data = _sse_data
with_retries = _with_retries
