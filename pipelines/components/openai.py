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

The HTTP helpers are :mod:`~pipelines.components.vendor_api`'s, shared with the other
AI components (``retry_delay``, ``MAX_RETRY_AFTER`` ... are re-exported here).

Failures: an HTTP error answer becomes a :class:`ComponentError` carrying its status
and the provider's own message (``{"error": {"message": ...}}``). 429, 5xx, network
failures and timeouts are retried — :data:`MAX_ATTEMPTS` attempts in all, with
exponential backoff and jitter, honouring ``Retry-After`` up to
:data:`MAX_RETRY_AFTER` seconds — but never once text has been published.
The deployment's ``http_timeout`` bounds each wait for the server (connect, and
each gap between chunks), not the whole answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pipelines.components import outbound
from pipelines.components.vendor_api import BACKOFF_SECONDS as BACKOFF_SECONDS
from pipelines.components.vendor_api import EMBEDDING_OUTPUT, USAGE_SCHEMA, base_url_problem
from pipelines.components.vendor_api import MAX_ATTEMPTS as MAX_ATTEMPTS
from pipelines.components.vendor_api import MAX_RETRY_AFTER as MAX_RETRY_AFTER
from pipelines.components.vendor_api import Transient as _Transient
from pipelines.components.vendor_api import check_status as _check_status
from pipelines.components.vendor_api import json_body as _json_body
from pipelines.components.vendor_api import provider_message as _provider_message
from pipelines.components.vendor_api import required_string as _required_string
from pipelines.components.vendor_api import retry_delay as retry_delay
from pipelines.components.vendor_api import sse_data as _sse_data
from pipelines.components.vendor_api import with_retries as _with_retries
from pipelines.engine.components import ComponentDefinition, ComponentError, Task, TaskContext
from pipelines.engine.values import File, FileDecodeError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_SYSTEM_MESSAGE = "You are a helpful assistant."

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
_USAGE = USAGE_SCHEMA
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
        "usage": _USAGE,
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
TEXT_EMBEDDINGS_OUTPUT = EMBEDDING_OUTPUT
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
    response_format = _response_format(input.get("response-format") or input.get("response-type"))
    if response_format is not None:
        body["response_format"] = response_format
    prediction = input.get("prediction")
    if isinstance(prediction, Mapping) and isinstance(prediction.get("content"), str) and prediction["content"]:
        body["prediction"] = {"type": "content", "content": prediction["content"]}
    return body


# --- talking to the server ------------------------------------------------------------


#: The paths this component calls under ``base-url``: all an allowed model host admits.
API_PATHS = ("/chat/completions", "/embeddings")


def check_setup(setup: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Problems of a literal ``setup`` at recipe validation (references are checked
    when the run resolves them)."""
    base = setup.get("base-url")
    if isinstance(base, str) and base and "${" not in base:
        problem = base_url_problem(base)
        if problem:
            return [("base-url", f"base-url {problem}")]
    return []


def _endpoint(setup: Mapping[str, Any], path: str) -> str:
    base = setup.get("base-url") or DEFAULT_BASE_URL
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


def _request(ctx: TaskContext, url: str, body: Mapping[str, Any], accept: str) -> Any:
    return outbound.guarded_stream(
        "POST",
        url,
        headers=_headers(ctx.setup, accept),
        content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        allowed_hosts=ctx.config.get("llm_allowed_hosts", ctx.config.get("http_allowed_hosts", ())),
        allowed_paths=API_PATHS,
        timeout=float(ctx.config.get("http_timeout", outbound.DEFAULT_TIMEOUT)),
    )


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


COMPONENT = ComponentDefinition(
    type="openai",
    title="OpenAI",
    kind="ai",
    vendor="OpenAI",
    description="Text generation (streamed) and embeddings with OpenAI or any OpenAI-compatible server (Ollama, vLLM, llama.cpp).",
    setup_schema=SETUP_SCHEMA,
    credential_fields=frozenset({"api-key"}),
    check_setup=check_setup,
    tasks={
        "TASK_TEXT_GENERATION": Task(
            name="TASK_TEXT_GENERATION",
            title="Text Generation",
            description="Provide text outputs in response to their inputs; the answer streams as it is generated.",
            input_schema=TEXT_GENERATION_INPUT,
            output_schema=TEXT_GENERATION_OUTPUT,
            run=run_text_generation,
        ),
        "TASK_TEXT_EMBEDDINGS": Task(
            name="TASK_TEXT_EMBEDDINGS",
            title="Text Embeddings",
            description="Turn text into numbers, unlocking use cases like search.",
            input_schema=TEXT_EMBEDDINGS_INPUT,
            output_schema=TEXT_EMBEDDINGS_OUTPUT,
            run=run_text_embeddings,
        ),
    },
)
