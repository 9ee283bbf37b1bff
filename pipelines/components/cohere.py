"""The ``cohere`` AI component: chat, embeddings and reranking with Cohere's v2 API
(Instill ``cohere`` v0, with its field names: ``TASK_TEXT_GENERATION_CHAT``,
``TASK_TEXT_EMBEDDINGS``, ``TASK_TEXT_RERANKING``; setup ``api-key``).

- chat posts to ``/v2/chat`` with ``stream: true`` and reads Cohere's server-sent
  events: each ``content-delta`` publishes the cumulative ``text``, ``citation-start``
  events give ``citations``, ``message-end`` the billed tokens for ``usage``
  (``input-tokens``, ``output-tokens``). Instill's defaults are sent as Instill sends
  them: ``max_tokens`` 50, ``temperature`` 0.7, ``k`` 10, ``seed`` 42; ``documents``
  ground the answer;
- embeddings post to ``/v2/embed`` (one text; ``input-type``, ``embedding-type``);
- reranking posts to ``/v2/rerank``; the output lists the documents in Cohere's order
  with their indexes and relevance scores.

The key is sent as ``Authorization: Bearer``; the API root is ``https://api.cohere.com``
or ``setup.base-url`` (what the platform fills from ``PIPELINE_COHERE_BASE_URL``).
Retries and errors as in :mod:`~pipelines.components.openai`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.components import chat_vendors, vendor_api
from pipelines.engine.components import ComponentError, TaskContext

DEFAULT_BASE_URL = "https://api.cohere.com"
PATHS = ("/v2/chat", "/v2/embed", "/v2/rerank")
DEFAULT_SYSTEM_MESSAGE = "You are a helpful assistant."
#: Instill's documented defaults, sent when the recipe gives none (as Instill does).
CHAT_DEFAULTS = {"max-new-tokens": 50, "temperature": 0.7, "top-k": 10, "seed": 42}
_CHAT_OPTIONS = {"max-new-tokens": "max_tokens", "temperature": "temperature", "top-k": "k", "seed": "seed"}
#: Instill's (Cohere v1) chat-history roles, as v2 names them.
_ROLES = {"USER": "user", "CHATBOT": "assistant", "SYSTEM": "system"}
EMBEDDING_TYPES = ("float", "int8", "uint8", "binary", "ubinary")
INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")

# --- schemas ----------------------------------------------------------------------


def _model(examples: list[str], description: str) -> dict[str, Any]:
    return {"type": "string", "title": "Model Name", "description": description, "examples": examples}


def _integer(title: str, description: str, default: int) -> dict[str, Any]:
    return {"type": "integer", "title": title, "description": description, "default": default}


_DOCUMENTS = {
    "type": "array",
    "title": "Documents",
    "description": "Documents that ground the answer (best under 300 words each); the answer cites them.",
    "items": {"type": "string"},
}
# Instill's TASK_TEXT_GENERATION_CHAT fields, as the other chat vendors have them, and cohere's documents.
CHAT_INPUT = chat_vendors.chat_input(
    "model-name",
    ["command-r-plus", "command-r", "command-a-03-2025"],
    {"documents": _DOCUMENTS, "seed": {"type": "integer", "title": "Seed", "description": "The seed.", "default": 42}},
)
CHAT_OUTPUT = {
    **chat_vendors.CHAT_OUTPUT,
    "properties": {
        **chat_vendors.CHAT_OUTPUT["properties"],  # type: ignore[dict-item]
        "citations": {
            "type": "array",
            "title": "Citations",
            "items": {
                "type": "object",
                "title": "Citation",
                "properties": {
                    "start": {"type": "integer", "title": "Start"},
                    "end": {"type": "integer", "title": "End"},
                    "text": {"type": "string", "title": "Text"},
                },
                "required": ["start", "end", "text"],
            },
        },
    },
}
EMBEDDINGS_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "model-name": _model(["embed-multilingual-v3.0", "embed-english-v3.0"], "The Cohere embed model to be used."),
        "text": {"type": "string", "title": "Text", "description": "The text."},
        "input-type": {
            "type": "string",
            "title": "Input Type",
            "description": "Specifies the type of input passed to the model.",
            "enum": list(INPUT_TYPES),
        },
        "embedding-type": {
            "type": "string",
            "title": "Embedding Type",
            "description": "The return type of the embedding; binary/ubinary are packed bits (1/8 the length of float).",
            "enum": list(EMBEDDING_TYPES),
        },
    },
    "required": ["text", "model-name", "input-type", "embedding-type"],
}
EMBEDDINGS_OUTPUT = vendor_api.embedding_output(tokens_required=False)
RERANK_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "model-name": _model(["rerank-multilingual-v3.0", "rerank-v3.5"], "The Cohere rerank model to be used."),
        "query": {"type": "string", "title": "Query", "description": "The query."},
        "documents": {
            "type": "array",
            "title": "Documents",
            "description": "The documents to be used for reranking.",
            "items": {"type": "string"},
        },
        "top-n": {
            "type": "integer",
            "title": "Top N",
            "description": "How many of the most relevant documents to return (sent as top_n when given; all otherwise, as Instill returns).",
            "default": 3,
        },
        "max-chunks-per-doc": {
            "type": "integer",
            "title": "Maximum number of chunks per document",
            "description": "Accepted as Instill does and not sent: Cohere's v2 API has no such option.",
            "default": 10,
        },
    },
    "required": ["query", "model-name", "documents"],
}
RERANK_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "ranking": {"type": "array", "title": "Reranked documents", "items": {"type": "string"}},
        "indexes": {"type": "array", "title": "Reranked documents index", "items": {"type": "integer"}},
        "relevance": {"type": "array", "title": "Reranked documents relevance", "items": {"type": "number"}},
        "usage": {
            "type": "object",
            "title": "Usage",
            "properties": {"search-counts": {"type": "number", "title": "Search Counts"}},
        },
    },
    "required": ["ranking", "indexes", "relevance"],
}
SETUP_SCHEMA = chat_vendors.setup_schema("Cohere Connection", "Cohere", DEFAULT_BASE_URL)

# --- the requests ---------------------------------------------------------------------


def _text_of(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ComponentError(f"{where}.content must be a list of parts or a string.")
    # Images are ignored, as Instill ignores them: Cohere's chat models read text.
    return "".join(str(p.get("text") or "") for p in content if isinstance(p, Mapping) and p.get("type") == "text")


def _chat_request(input: Mapping[str, Any]) -> dict[str, Any]:
    prompt = vendor_api.required_string(input, "prompt")
    messages: list[dict[str, Any]] = []
    system = input.get("system-message", DEFAULT_SYSTEM_MESSAGE)
    if system:
        messages.append({"role": "system", "content": system})
    history = input.get("chat-history") or []
    if not isinstance(history, list):
        raise ComponentError("chat-history must be a list of messages.")
    for i, message in enumerate(history):
        where = f"chat-history[{i}]"
        if not isinstance(message, Mapping) or not isinstance(message.get("role"), str):
            raise ComponentError(f"{where} must be an object with a role and a content.")
        role = _ROLES.get(message["role"], message["role"].lower())
        if role not in ("user", "assistant", "system"):
            raise ComponentError(f"{where}.role must be USER, CHATBOT or SYSTEM (or user, assistant, system).")
        messages.append({"role": role, "content": _text_of(message.get("content"), where)})
    messages.append({"role": "user", "content": prompt})
    body: dict[str, Any] = {
        "model": vendor_api.required_string(input, "model-name"),
        "messages": messages,
        "stream": True,
    }
    for name, field in _CHAT_OPTIONS.items():
        value = input.get(name, CHAT_DEFAULTS[name])
        if value is not None:
            body[field] = value
    documents = input.get("documents")
    if documents:
        if not isinstance(documents, list) or not all(isinstance(d, str) for d in documents):
            raise ComponentError("documents must be a list of strings.")
        body["documents"] = documents
    return body


def _headers(setup: Mapping[str, Any], accept: str) -> dict[str, str]:
    headers = {"Accept": accept}
    if setup.get("api-key"):
        headers["Authorization"] = f"Bearer {setup['api-key']}"
    return headers


def _url(ctx: TaskContext, path: str) -> str:
    return vendor_api.base_url(ctx.setup, DEFAULT_BASE_URL) + path


def _billed(payload: Any) -> Mapping[str, Any]:
    meta = payload.get("meta") if isinstance(payload, Mapping) else None
    billed = meta.get("billed_units") if isinstance(meta, Mapping) else None
    return billed if isinstance(billed, Mapping) else {}


# --- tasks ----------------------------------------------------------------------------


async def run_chat(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    body = _chat_request(input)
    url = _url(ctx, "/v2/chat")
    return await vendor_api.sse_call(
        ctx, url, body, paths=PATHS, headers=_headers(ctx.setup, "text/event-stream"), start=lambda: _Answer(ctx)
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


class _Answer:
    """Cohere's v2 chat stream, event by event (or its whole answer)."""

    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx
        self.text = ""
        self.citations: list[dict[str, Any]] = []
        self.billed: Mapping[str, Any] = {}

    def _cite(self, citation: Mapping[str, Any]) -> None:
        self.citations.append({key: citation.get(key) for key in ("start", "end", "text")})

    async def event(self, data: str, url: str) -> bool:
        event = vendor_api.json_event(data, url)
        kind = event.get("type")
        delta = _mapping(event.get("delta"))
        message = _mapping(delta.get("message"))
        if kind == "content-delta":
            piece = _mapping(message.get("content")).get("text")
            if isinstance(piece, str) and piece:
                self.text += piece
                await self.ctx.publish({"text": self.text})
                return True
        elif kind == "citation-start":
            self._cite(_mapping(message.get("citations")))
        elif kind == "message-end":
            if delta.get("finish_reason") == "ERROR":
                raise ComponentError(f"{url} ended the answer with an error.")
            self.billed = _mapping(_mapping(delta.get("usage")).get("billed_units"))
        return False

    def whole(self, payload: Mapping[str, Any]) -> None:
        """A non-streamed v2 answer: ``message.content`` parts, ``message.citations``, ``usage``."""
        message = _mapping(payload.get("message"))
        content = message.get("content")
        parts = content if isinstance(content, list) else []
        self.text = "".join(
            str(p.get("text") or "") for p in parts if isinstance(p, Mapping) and p.get("type") == "text"
        )
        for citation in message.get("citations") or []:
            self._cite(_mapping(citation))
        self.billed = _mapping(_mapping(payload.get("usage")).get("billed_units"))

    def output(self) -> dict[str, Any]:
        output: dict[str, Any] = {"text": self.text, "citations": self.citations}
        usage = {"input-tokens": self.billed.get("input_tokens"), "output-tokens": self.billed.get("output_tokens")}
        usage = {key: value for key, value in usage.items() if isinstance(value, int | float)}
        if usage:
            output["usage"] = usage
        return output


async def run_embeddings(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    embedding_type = input.get("embedding-type") or "float"
    if embedding_type not in EMBEDDING_TYPES:
        raise ComponentError(f"embedding-type must be one of {', '.join(EMBEDDING_TYPES)}.")
    input_type = vendor_api.required_string(input, "input-type")
    if input_type not in INPUT_TYPES:
        raise ComponentError(f"input-type must be one of {', '.join(INPUT_TYPES)}.")
    body = {
        "model": vendor_api.required_string(input, "model-name"),
        "texts": [vendor_api.required_string(input, "text")],
        "input_type": input_type,
        "embedding_types": [embedding_type],
    }
    url = _url(ctx, "/v2/embed")
    payload = await vendor_api.json_call(ctx, url, body, paths=PATHS, headers=_headers(ctx.setup, "application/json"))
    embeddings = payload.get("embeddings")
    found = embeddings.get(embedding_type) if isinstance(embeddings, Mapping) else None
    if not isinstance(found, list) or not found or not isinstance(found[0], list):
        raise ComponentError(f"{url} answered without a {embedding_type} embedding.")
    output: dict[str, Any] = {"embedding": found[0]}
    tokens = _billed(payload).get("input_tokens")
    if isinstance(tokens, int | float):
        output["usage"] = {"tokens": tokens}
    return output


async def run_rerank(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    documents = input.get("documents")
    if not isinstance(documents, list) or not documents or not all(isinstance(d, str) for d in documents):
        raise ComponentError("documents must be a non-empty list of strings.")
    body: dict[str, Any] = {
        "model": vendor_api.required_string(input, "model-name"),
        "query": vendor_api.required_string(input, "query"),
        "documents": documents,
    }
    if input.get("top-n") is not None:
        body["top_n"] = input["top-n"]
    url = _url(ctx, "/v2/rerank")
    payload = await vendor_api.json_call(ctx, url, body, paths=PATHS, headers=_headers(ctx.setup, "application/json"))
    results = payload.get("results")
    if not isinstance(results, list):
        raise ComponentError(f"{url} answered without results.")
    indexes: list[int] = []
    relevance: list[float] = []
    for result in results:
        index = result.get("index") if isinstance(result, Mapping) else None
        if not isinstance(index, int) or not 0 <= index < len(documents):
            raise ComponentError(f"{url} answered a result for a document it was not sent: {result!r:.200}")
        indexes.append(index)
        relevance.append(result.get("relevance_score"))
    output: dict[str, Any] = {"ranking": [documents[i] for i in indexes], "indexes": indexes, "relevance": relevance}
    units = _billed(payload).get("search_units")
    if isinstance(units, int | float):
        output["usage"] = {"search-counts": units}
    return output


COMPONENT = vendor_api.ai_component(
    "cohere",
    "Cohere",
    "Cohere",
    "Chat (streamed, with citations), embeddings and reranking with Cohere's models.",
    SETUP_SCHEMA,
    [
        vendor_api.chat_task(run_chat, CHAT_INPUT, CHAT_OUTPUT, "text"),
        vendor_api.embeddings_task(run_embeddings, EMBEDDINGS_INPUT, EMBEDDINGS_OUTPUT),
        vendor_api.task(
            "TASK_TEXT_RERANKING",
            "Text Reranking",
            "Sort text inputs by semantic relevance to a specified query.",
            RERANK_INPUT,
            RERANK_OUTPUT,
            run_rerank,
        ),
    ],
    check_setup=vendor_api.check_base_urls("base-url"),
)
