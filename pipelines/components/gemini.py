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

``TASK_TEXT_EMBEDDINGS`` posts to ``:embedContent``. ``TASK_CACHE`` (Gemini's cached
contents) is not offered.

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
CHAT_INPUT = {
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


def _chat_request(input: Mapping[str, Any]) -> dict[str, Any]:
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
    if not contents:
        raise ComponentError("prompt (or contents, or chat-history) is required.")
    body: dict[str, Any] = {"contents": contents}
    if input.get("system-instruction"):
        body["systemInstruction"] = _keys(input["system-instruction"], _camel)
    elif input.get("system-message"):
        body["systemInstruction"] = {"parts": [{"text": str(input["system-message"])}]}
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


COMPONENT = vendor_api.ai_component(
    "gemini",
    "Gemini",
    "Google",
    "Chat (streamed on request; text, images, audio, video and documents in) and embeddings with Google's Gemini models.",
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
        vendor_api.embeddings_task(run_embeddings, EMBEDDINGS_INPUT, EMBEDDINGS_OUTPUT),
    ],
    check_setup=vendor_api.check_base_urls("base-url"),
)
