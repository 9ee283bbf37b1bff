"""The ``gemini`` AI component: chat and embeddings with the Gemini API's REST wire
format (Instill ``gemini`` v0, with its field names: ``TASK_CHAT`` and
``TASK_TEXT_EMBEDDINGS``; setup ``api-key``).

``TASK_CHAT`` posts to ``/v1beta/models/{model}:generateContent``, or — when the input
says ``stream: true``, as Instill streams only then — to
``:streamGenerateContent?alt=sse``, publishing the cumulative ``texts`` after every
server-sent chunk. The request is built from Instill's simple fields (``prompt``,
``images``/``audio``/``videos``/``documents`` as inline data, ``system-message``,
``chat-history``, ``max-output-tokens``, ``temperature``, ``top-k``, ``top-p``,
``seed``) and its raw ones (``contents``, ``system-instruction``,
``generation-config``, ``tools``, ``tool-config``, ``safety-settings``,
``cached-content``), whose kebab-case keys become Gemini's camelCase. The output is
Instill's: ``texts``, ``images`` (generated images as files, their bytes taken out of
``candidates``), ``usage`` (Gemini's usage metadata with kebab-case keys),
``candidates``, ``prompt-feedback``, ``model-version``, ``response-id``.

``TASK_TEXT_EMBEDDINGS`` posts to ``:embedContent``.

``TASK_CACHE`` manages Gemini's cached contents (``/v1beta/cachedContents``) by its
``operation``: ``create`` (POST: ``model``, contents built as TASK_CHAT builds them —
``contents`` then the prompt and media as a last user turn — ``system-message`` or
``system-instruction``, ``tools``, ``tool-config``, ``display-name``, and ``ttl`` or
``expire-time``), ``list`` (GET, ``page-size``, ``page-token``), ``get`` (GET),
``update`` (PATCH of ``ttl`` or ``expire-time`` with its ``updateMask``) and ``delete``
(DELETE) of ``cache-name``. It answers ``operation``, ``cached-content`` (create, get,
update), ``cached-contents`` and ``next-page-token`` (list), Gemini's keys in
kebab-case. TASK_CHAT's ``cached-content`` uses what was cached.

The key is sent as ``x-goog-api-key``; the API root is
``https://generativelanguage.googleapis.com`` or ``setup.base-url`` (what the platform
fills from ``PIPELINE_GEMINI_BASE_URL``). Retries and errors as in
:mod:`~pipelines.components.openai` (Gemini's ``{"error": {"message"}}`` is read).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping
from typing import Any

from pipelines.components import vendor_api
from pipelines.engine.components import ComponentError, TaskContext
from pipelines.engine.values import File, FileDecodeError

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
PATHS = (":generateContent", ":streamGenerateContent?alt=sse", ":embedContent")
CACHE_PATH = "/v1beta/cachedContents"
CACHE_OPERATIONS = ("create", "list", "get", "update", "delete")
TTL_PATTERN = r"^[0-9]+(\.([0-9]{1,9}))?s$"
EXPIRE_TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$"
TASK_TYPES = (
    "TASK_TYPE_UNSPECIFIED",
    "RETRIEVAL_QUERY",
    "RETRIEVAL_DOCUMENT",
    "SEMANTIC_SIMILARITY",
    "CLASSIFICATION",
    "CLUSTERING",
    "QUESTION_ANSWERING",
    "FACT_VERIFICATION",
    "CODE_RETRIEVAL_QUERY",
)
#: Keys whose values are user-defined (JSON Schemas, function arguments): copied as they are.
_OPAQUE = frozenset({"parameters", "response-schema", "responseSchema", "args", "response", "properties"})
_MEDIA = {"images": "image/", "audio": "audio/", "videos": "video/", "documents": ""}

# --- schemas ----------------------------------------------------------------------

_MEDIA_LIST = {"type": "array", "items": {"type": "string"}}
CHAT_INPUT: dict[str, Any] = {
    "type": "object",
    "title": "Input",
    "properties": {
        "model": {
            "type": "string",
            "title": "Model",
            "description": "ID of the model to use (gemini-2.5-pro, gemini-2.5-flash, gemini-2.5-flash-lite, ...).",
            "default": "gemini-2.5-flash",
        },
        "stream": {
            "type": "boolean",
            "title": "Stream",
            "description": "Whether to incrementally stream the response using server-sent events (SSE).",
        },
        "prompt": {
            "type": "string",
            "title": "Prompt",
            "description": "The main text instruction or query for the model.",
        },
        "images": {**_MEDIA_LIST, "title": "Images", "description": "Image files, data URIs, base64 or URIs."},
        "audio": {**_MEDIA_LIST, "title": "Audio", "description": "Audio files, data URIs, base64 or URIs."},
        "videos": {**_MEDIA_LIST, "title": "Videos", "description": "Video files, data URIs, base64 or URIs."},
        "documents": {
            **_MEDIA_LIST,
            "title": "Documents",
            "description": "Documents (PDF, text...): files, data URIs, base64 or URIs.",
        },
        "system-message": {
            "type": "string",
            "title": "System Message",
            "description": "Instruction to set the assistant's behavior (sent as systemInstruction).",
        },
        "chat-history": {
            "type": "array",
            "title": "Chat History",
            "description": "Earlier turns: {role: user or model, parts: [{text}, ...]}.",
            "items": {"type": "object"},
        },
        "max-output-tokens": {"type": "integer", "title": "Max Output Tokens"},
        "temperature": {"type": "number", "title": "Temperature"},
        "top-k": {"type": "integer", "title": "Top K"},
        "top-p": {"type": "number", "title": "Top P"},
        "seed": {"type": "integer", "title": "Seed"},
        "contents": {
            "type": "array",
            "title": "Contents",
            "description": "Gemini contents as they are (kebab-case or camelCase keys); the prompt and media are added as a last user turn.",
            "items": {"type": "object"},
        },
        "tools": {"type": "array", "title": "Tools", "items": {"type": "object"}},
        "tool-config": {"type": "object", "title": "Tool Config"},
        "safety-settings": {"type": "array", "title": "Safety Settings", "items": {"type": "object"}},
        "system-instruction": {"type": "object", "title": "System Instruction"},
        "generation-config": {"type": "object", "title": "Generation Config"},
        "cached-content": {
            "type": "string",
            "title": "Cached Content",
            "description": "The name of a cached content to use as context: cachedContents/{cachedContent}.",
        },
    },
    "required": ["model"],
}
_USAGE = {"type": "object", "title": "Usage", "description": "Gemini's usage metadata with kebab-case keys."}
CHAT_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "texts": {"type": "array", "title": "Texts", "items": {"type": "string"}},
        "images": {"type": "array", "title": "Images", "items": {"type": "string", "instillFormat": "image/*"}},
        "usage": _USAGE,
        # Instill's README example reads it; the same counts as usage.
        "usage-metadata": {**_USAGE, "title": "Usage Metadata"},
        "candidates": {"type": "array", "title": "Candidates", "items": {"type": "object"}},
        "prompt-feedback": {"type": "object", "title": "Prompt Feedback"},
        "model-version": {"type": "string", "title": "Model Version"},
        "response-id": {"type": "string", "title": "Response ID"},
    },
}
EMBEDDINGS_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "model": {"type": "string", "title": "Model", "examples": ["gemini-embedding-001"]},
        "text": {"type": "string", "title": "Text", "description": "The text to generate embeddings for."},
        "task-type": {
            "type": "string",
            "title": "Task Type",
            "enum": list(TASK_TYPES),
            "default": "SEMANTIC_SIMILARITY",
        },
        "title": {"type": "string", "title": "Title", "description": "Title for the text (RETRIEVAL_DOCUMENT only)."},
        "output-dimensionality": {"type": "integer", "title": "Output Dimensionality"},
    },
    # Instill lists task-type as required and fills its default; so does run_embeddings.
    "required": ["text", "model"],
}
EMBEDDINGS_OUTPUT = vendor_api.EMBEDDING_OUTPUT
_CHAT = CHAT_INPUT["properties"]
CACHE_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "operation": {
            "type": "string",
            "title": "Operation",
            "description": "create, list, get, update (its ttl or expire-time only) or delete cached content.",
            "enum": list(CACHE_OPERATIONS),
            "default": "create",
        },
        "model": {
            **_CHAT["model"],
            "description": "ID of the model the cached content is for (create only; immutable after).",
        },
        "cache-name": {
            "type": "string",
            "title": "Cache Name",
            "description": "[get, update, delete] The cached content's name: cachedContents/{cachedContent}.",
        },
        **{
            name: {**_CHAT[name], "description": f"[create] {_CHAT[name]['description']}"}
            for name in ("prompt", "images", "audio", "videos", "documents", "system-message")
        },
        "display-name": {"type": "string", "title": "Display Name", "description": "[create] A name of your own."},
        "system-instruction": _CHAT["system-instruction"],
        "contents": {
            **_CHAT["contents"],
            "description": "[create] Gemini contents to cache; the prompt and media are added as a last user turn.",
        },
        "tools": _CHAT["tools"],
        "tool-config": _CHAT["tool-config"],
        "ttl": {
            "type": "string",
            "title": "TTL",
            "description": '[create, update] Time to live, seconds ending with "s" ("3600s", "3.5s").',
            "pattern": TTL_PATTERN,
        },
        "expire-time": {
            "type": "string",
            "title": "Expire Time",
            "description": "[create, update] When it expires, RFC 3339 (2026-10-02T15:01:23Z).",
            "format": "date-time",
            "pattern": EXPIRE_TIME_PATTERN,
        },
        "page-size": {
            "type": "integer",
            "title": "Page Size",
            "description": "[list] At most this many cached contents.",
            "minimum": 1,
            "maximum": 1000,
            "default": 50,
        },
        "page-token": {
            "type": "string",
            "title": "Page Token",
            "description": "[list] The next-page-token of an earlier list.",
        },
    },
    "required": ["operation"],
}
_CACHED_CONTENT = {
    "type": "object",
    "title": "Cached Content",
    "description": "name, display-name, model, create-time, update-time, expire-time, usage-metadata.",
}
CACHE_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "operation": {"type": "string", "title": "Operation", "enum": list(CACHE_OPERATIONS)},
        "cached-content": _CACHED_CONTENT,
        "cached-contents": {"type": "array", "title": "Cached Contents", "items": _CACHED_CONTENT},
        "next-page-token": {"type": "string", "title": "Next Page Token"},
    },
}
SETUP_SCHEMA = {
    "type": "object",
    "title": "Gemini Connection",
    "properties": {
        "api-key": {
            "type": "string",
            "title": "API Key",
            "description": "Your Gemini API key; sent as x-goog-api-key.",
        },
        "base-url": {
            "type": "string",
            "title": "Base URL",
            "description": f"The API root (default {DEFAULT_BASE_URL}).",
        },
    },
}

# --- the request --------------------------------------------------------------------


def _camel(key: str) -> str:
    head, *rest = key.split("-")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _kebab(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "-" + m.group(1).lower(), key)


def _keys(value: Any, convert: Any) -> Any:
    """``value`` with every object key converted, except inside user-defined values."""
    if isinstance(value, Mapping):
        return {convert(k): (v if k in _OPAQUE else _keys(v, convert)) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys(item, convert) for item in value]
    return value


def _media_part(value: Any, prefix: str, where: str) -> dict[str, Any]:
    if isinstance(value, str) and re.match(r"^(https?|gs)://", value):
        mime = mimetypes.guess_type(value)[0] or ""
        data = {"fileUri": value}
        return {"fileData": {"mimeType": mime, **data} if mime else data}
    file = vendor_api.file_of(value, where, prefix)
    return {"inlineData": {"mimeType": file.mime_type, "data": file.base64()}}


def _contents(input: Mapping[str, Any]) -> list[Any]:
    """``chat-history`` and ``contents``, then the prompt and media as a last user turn."""
    contents: list[Any] = []
    for field in ("chat-history", "contents"):
        turns = input.get(field) or []
        if not isinstance(turns, list) or not all(isinstance(t, Mapping) for t in turns):
            raise ComponentError(f"{field} must be a list of {{role, parts}} objects.")
        contents += _keys(turns, _camel)
    parts: list[dict[str, Any]] = []
    if input.get("prompt"):
        parts.append({"text": str(input["prompt"])})
    for field, prefix in _MEDIA.items():
        values = input.get(field) or []
        values = values if isinstance(values, list) else [values]
        parts += [_media_part(value, prefix, f"{field}[{i}]") for i, value in enumerate(values)]
    if parts:
        contents.append({"role": "user", "parts": parts})
    return contents


def _instruction(input: Mapping[str, Any], body: dict[str, Any]) -> None:
    if input.get("system-instruction"):
        body["systemInstruction"] = _keys(input["system-instruction"], _camel)
    elif input.get("system-message"):
        body["systemInstruction"] = {"parts": [{"text": str(input["system-message"])}]}


def _chat_request(input: Mapping[str, Any]) -> dict[str, Any]:
    contents = _contents(input)
    if not contents:
        raise ComponentError("prompt (or contents, or chat-history) is required.")
    body: dict[str, Any] = {"contents": contents}
    _instruction(input, body)
    config = dict(_keys(input.get("generation-config") or {}, _camel))
    for name in ("max-output-tokens", "temperature", "top-k", "top-p", "seed"):
        if input.get(name) is not None:
            config[_camel(name)] = input[name]
    if config:
        body["generationConfig"] = config
    for name in ("tools", "tool-config", "safety-settings"):
        if input.get(name):
            body[_camel(name)] = _keys(input[name], _camel)
    if input.get("cached-content"):
        body["cachedContent"] = input["cached-content"]
    return body


def _model_path(model: str) -> str:
    name = model.removeprefix("models/")
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise ComponentError(f"model {model!r} is not a Gemini model name.")
    return f"/v1beta/models/{name}"


def _url(ctx: TaskContext, model: str, method: str) -> str:
    return vendor_api.base_url(ctx.setup, DEFAULT_BASE_URL) + _model_path(model) + method


def _headers(setup: Mapping[str, Any], accept: str) -> dict[str, str]:
    headers = {"Accept": accept}
    if setup.get("api-key"):
        headers["x-goog-api-key"] = str(setup["api-key"])
    return headers


# --- the answer -----------------------------------------------------------------------


class _Answer:
    """The answer so far: texts per candidate, and the last chunk's metadata."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.candidates: dict[int, dict[str, Any]] = {}
        self.images: list[File] = []
        self.meta: dict[str, Any] = {}

    def add(self, chunk: Mapping[str, Any]) -> bool:
        """Add one response (or streamed chunk); whether it added text."""
        added = False
        for position, candidate in enumerate(chunk.get("candidates") or []):
            if not isinstance(candidate, Mapping):
                continue
            index = candidate.get("index", position)
            index = index if isinstance(index, int) and 0 <= index < 64 else position
            while len(self.texts) <= index:
                self.texts.append("")
            merged = self.candidates.setdefault(index, {"content": {"role": "model", "parts": []}})
            merged.update({k: v for k, v in candidate.items() if k != "content"})
            for part in (candidate.get("content") or {}).get("parts") or []:
                if not isinstance(part, Mapping):
                    continue
                part = dict(part)
                if isinstance(part.get("text"), str) and not part.get("thought"):
                    self.texts[index] += part["text"]
                    added = added or bool(part["text"])
                blob = part.get("inlineData")
                if isinstance(blob, Mapping) and str(blob.get("mimeType", "")).startswith("image/"):
                    try:
                        self.images.append(File.from_base64(str(blob.get("data") or "")))
                    except FileDecodeError:
                        raise ComponentError("Gemini answered an image that is not base64.") from None
                    part["inlineData"] = {"mimeType": blob.get("mimeType")}  # no raw bytes in the output
                merged["content"]["parts"].append(part)
        for key in ("usageMetadata", "promptFeedback", "modelVersion", "responseId"):
            if chunk.get(key) is not None:
                self.meta[key] = chunk[key]
        return added

    def output(self) -> dict[str, Any]:
        candidates = [self.candidates[i] for i in sorted(self.candidates)]
        for candidate in candidates:  # streamed text parts joined, as one answer reads
            parts = candidate["content"]["parts"]
            if parts and all(set(p) == {"text"} for p in parts):
                candidate["content"]["parts"] = [{"text": "".join(p["text"] for p in parts)}]
        usage = _keys(self.meta.get("usageMetadata") or {}, _kebab)
        out: dict[str, Any] = {
            "texts": self.texts,
            "usage": usage,
            "usage-metadata": usage,
            "candidates": _keys(candidates, _kebab),
        }
        if self.images:
            out["images"] = self.images
        if self.meta.get("promptFeedback") is not None:
            out["prompt-feedback"] = _keys(self.meta["promptFeedback"], _kebab)
        for key, name in (("modelVersion", "model-version"), ("responseId", "response-id")):
            if self.meta.get(key) is not None:
                out[name] = self.meta[key]
        return out


# --- tasks ----------------------------------------------------------------------------


async def run_chat(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    model = vendor_api.required_string(input, "model")
    body = _chat_request(input)
    stream = input.get("stream") is True
    url = _url(ctx, model, PATHS[1] if stream else PATHS[0])
    if not stream:
        payload = await vendor_api.json_call(
            ctx, url, body, paths=PATHS, headers=_headers(ctx.setup, "application/json")
        )
        answer = _Answer()
        answer.add(payload)
        return answer.output()
    return await vendor_api.sse_call(
        ctx, url, body, paths=PATHS, headers=_headers(ctx.setup, "text/event-stream"), start=lambda: _Stream(ctx)
    )


class _Stream(_Answer):
    def __init__(self, ctx: TaskContext) -> None:
        super().__init__()
        self.ctx = ctx

    def whole(self, payload: Mapping[str, Any]) -> None:
        self.add(payload)

    async def event(self, data: str, url: str) -> bool:
        if not self.add(vendor_api.json_event(data, url)):
            return False
        await self.ctx.publish({"texts": list(self.texts)})
        return True


async def run_embeddings(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    model = vendor_api.required_string(input, "model")
    task_type = input.get("task-type") or "SEMANTIC_SIMILARITY"
    if task_type not in TASK_TYPES:
        raise ComponentError(f"task-type must be one of {', '.join(TASK_TYPES)}.")
    body: dict[str, Any] = {
        "model": f"models/{model.removeprefix('models/')}",
        "content": {"parts": [{"text": vendor_api.required_string(input, "text")}]},
        "taskType": task_type,
    }
    if input.get("title"):
        body["title"] = input["title"]
    if input.get("output-dimensionality") is not None:
        body["outputDimensionality"] = input["output-dimensionality"]
    url = _url(ctx, model, PATHS[2])
    payload = await vendor_api.json_call(ctx, url, body, paths=PATHS, headers=_headers(ctx.setup, "application/json"))
    values = (payload.get("embedding") or {}).get("values") if isinstance(payload.get("embedding"), Mapping) else None
    if not isinstance(values, list):
        raise ComponentError(f"{url} answered without an embedding.")
    return {"embedding": values}


def _cache_name(input: Mapping[str, Any], operation: str) -> str:
    name = input.get("cache-name")
    if not isinstance(name, str) or not name.strip():
        raise ComponentError(f"cache-name is required for {operation}: cachedContents/{{cachedContent}}.")
    found = re.fullmatch(r"(?:cachedContents/)?([A-Za-z0-9_-]{1,128})", name.strip())
    if found is None:
        raise ComponentError(f"cache-name {name!r} is not a cached content's name: cachedContents/{{cachedContent}}.")
    return f"{CACHE_PATH}/{found[1]}"


def _expiration(input: Mapping[str, Any], operation: str) -> dict[str, str]:
    """``ttl`` or ``expire-time`` as Gemini's field (at most one: they are a oneof)."""
    ttl, expire = input.get("ttl"), input.get("expire-time")
    if ttl and expire:
        raise ComponentError(f"{operation}: give ttl or expire-time, not both.")
    if ttl:
        if not isinstance(ttl, str) or not re.match(TTL_PATTERN, ttl):
            raise ComponentError(f'ttl {ttl!r} is not a duration: seconds ending with "s", like "3600s".')
        return {"ttl": ttl}
    if expire:
        if not isinstance(expire, str) or not re.match(EXPIRE_TIME_PATTERN, expire):
            raise ComponentError(f"expire-time {expire!r} is not an RFC 3339 time like 2026-10-02T15:01:23Z.")
        return {"expireTime": expire}
    return {}


def _cache_create(input: Mapping[str, Any]) -> dict[str, Any]:
    model = vendor_api.required_string(input, "model")
    _model_path(model)  # the name's check
    contents = _contents(input)
    if not contents:
        raise ComponentError("create: contents or a prompt or media (images, audio, videos, documents) are required.")
    body: dict[str, Any] = {"model": f"models/{model.removeprefix('models/')}", "contents": contents}
    _instruction(input, body)
    for name in ("tools", "tool-config"):
        if input.get(name):
            body[_camel(name)] = _keys(input[name], _camel)
    if input.get("display-name"):
        body["displayName"] = str(input["display-name"])
    body.update(_expiration(input, "create"))
    return body


def _list_query(input: Mapping[str, Any]) -> str:
    size = input.get("page-size", 50)
    if size is None:
        size = 50
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 1000:
        raise ComponentError("page-size must be a whole number from 1 to 1000.")
    query = f"?pageSize={size}"
    token = input.get("page-token")
    if token:
        if not isinstance(token, str) or not re.fullmatch(r"[A-Za-z0-9_.~=-]+", token):
            raise ComponentError("page-token must be the next-page-token of an earlier list.")
        query += f"&pageToken={token}"
    return query


async def run_cache(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    operation = input.get("operation") or "create"
    if operation not in CACHE_OPERATIONS:
        raise ComponentError(f"operation must be one of {', '.join(CACHE_OPERATIONS)}.")
    body: dict[str, Any] | None = None
    if operation == "create":
        method, path, body = "POST", CACHE_PATH, _cache_create(input)
    elif operation == "list":
        method, path = "GET", CACHE_PATH + _list_query(input)
    elif operation == "get":
        method, path = "GET", _cache_name(input, operation)
    elif operation == "update":
        path, body = _cache_name(input, operation), _expiration(input, operation)
        if not body:
            raise ComponentError("update: ttl or expire-time is required (only the expiration can change).")
        method, path = "PATCH", f"{path}?updateMask={next(iter(body))}"
    else:
        method, path = "DELETE", _cache_name(input, operation)
    url = vendor_api.base_url(ctx.setup, DEFAULT_BASE_URL) + path
    # The exact path is the one admitted: built from checked pieces only.
    payload = await vendor_api.json_call(
        ctx, url, body, paths=(path,), headers=_headers(ctx.setup, "application/json"), method=method
    )
    out: dict[str, Any] = {"operation": operation}
    if operation == "list":
        items = payload.get("cachedContents") or []
        out["cached-contents"] = _keys([item for item in items if isinstance(item, Mapping)], _kebab)
        if payload.get("nextPageToken"):
            out["next-page-token"] = str(payload["nextPageToken"])
    elif operation != "delete":
        if not isinstance(payload.get("name"), str):
            raise ComponentError(f"{url} answered without a cached content.")
        out["cached-content"] = _keys(payload, _kebab)
    return out


COMPONENT = vendor_api.ai_component(
    "gemini",
    "Gemini",
    "Google",
    "Chat (streamed on request; text, images, audio, video and documents in), context caching and embeddings with Google's Gemini models.",
    SETUP_SCHEMA,
    [
        vendor_api.task(
            "TASK_CHAT",
            "Chat",
            "Generate a response from text and media inputs; streamed when stream is true.",
            CHAT_INPUT,
            CHAT_OUTPUT,
            run_chat,
        ),
        vendor_api.task(
            "TASK_CACHE",
            "Cache",
            "Create, list, get, update (expiration) and delete Gemini cached contents, for TASK_CHAT's cached-content.",
            CACHE_INPUT,
            CACHE_OUTPUT,
            run_cache,
        ),
        vendor_api.embeddings_task(run_embeddings, EMBEDDINGS_INPUT, EMBEDDINGS_OUTPUT),
    ],
    check_setup=vendor_api.check_base_urls("base-url"),
)
