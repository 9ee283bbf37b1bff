"""The ``ollama`` AI component: chat and embeddings with Ollama's native API
(Instill ``ollama`` v0, with its field names: ``TASK_TEXT_GENERATION_CHAT`` and
``TASK_TEXT_EMBEDDINGS``, setup ``endpoint`` and ``auto-pull``).

``TASK_TEXT_GENERATION_CHAT`` posts to ``/api/chat`` with ``stream: true`` and reads
Ollama's newline-delimited JSON: every line that adds text publishes the cumulative
``text``, and the last line (``"done": true``) brings the token counts for ``usage``.
``TASK_TEXT_EMBEDDINGS`` posts to ``/api/embed``.

A model the server has not got (Ollama answers 404 "model ... not found") is pulled
with ``/api/pull`` only when the recipe's setup says ``auto-pull: true`` — and only
from a server the outbound guard lets us reach; then the request is sent once more.
Otherwise the error says to pull it or to set ``auto-pull``.

Requests, retries (429, 5xx, network failures; never once text is published) and
error messages work as in :mod:`~pipelines.components.openai`, whose helpers this
module uses. The server is ``setup.endpoint`` (Instill's name), else
``setup.base-url`` — which is what the platform fills from ``PIPELINE_OLLAMA_BASE_URL``
for a component that gives no setup (:mod:`pipelines.engine.platform`) — else
``http://localhost:11434``. Loopback is refused by the outbound guard unless allowed
(``PIPELINE_LLM_ALLOWED_HOSTS``, or the platform base URL, which counts as allowed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pipelines.components import chat_vendors, outbound, vendor_api
from pipelines.engine.components import ComponentDefinition, ComponentError, TaskContext

if TYPE_CHECKING:
    import httpx

DEFAULT_ENDPOINT = "http://localhost:11434"
DEFAULT_TEMPERATURE = 0.7
DEFAULT_TOP_K = 10
#: The paths this component calls; ``/api/pull`` only when the setup asks for it.
CHAT_PATHS = ("/api/chat", "/api/embed")
PULL_PATH = "/api/pull"

# --- schemas ----------------------------------------------------------------------

_MODEL = {
    "type": "string",
    "title": "Model Name",
    "description": "The OSS model to be used, check https://ollama.com/library for list of models available.",
}
# Instill's TASK_TEXT_GENERATION_CHAT fields, as the other chat vendors have them.
CHAT_INPUT = chat_vendors.chat_input("model", ["moondream", "llama3.2"])
CHAT_OUTPUT = chat_vendors.CHAT_OUTPUT
EMBEDDINGS_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "model": {**_MODEL, "examples": ["snowflake-arctic-embed:22m", "nomic-embed-text"]},
        "text": {"type": "string", "title": "Text", "description": "The text."},
    },
    "required": ["text", "model"],
}
EMBEDDINGS_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "embedding": {
            "type": "array",
            "title": "Embedding",
            "description": "Embedding of the input text.",
            "items": {"type": "number"},
        }
    },
    "required": ["embedding"],
}
SETUP_SCHEMA = {
    "type": "object",
    "title": "Ollama Connection",
    "properties": {
        "endpoint": {
            "type": "string",
            "title": "Endpoint",
            "description": "Your Ollama server. Ollama has no authentication: keep it reachable from this server only.",
            "default": DEFAULT_ENDPOINT,
        },
        "auto-pull": {
            "type": "boolean",
            "title": "Model Auto-Pull",
            "description": "Pull the requested model to the Ollama server when it has not got it.",
        },
        "base-url": {
            "type": "string",
            "title": "Base URL",
            "description": "Another name for endpoint (what PIPELINE_OLLAMA_BASE_URL fills); endpoint wins when both are given.",
        },
    },
}

# --- the request --------------------------------------------------------------------


def _server(setup: Mapping[str, Any]) -> str:
    return vendor_api.base_url(setup, DEFAULT_ENDPOINT, "endpoint", "base-url")


_check_urls = vendor_api.check_base_urls("endpoint", "base-url")


def check_setup(setup: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Problems of a literal ``setup`` at recipe validation."""
    problems = _check_urls(setup)
    auto_pull = setup.get("auto-pull")
    if auto_pull is not None and not isinstance(auto_pull, bool) and "${" not in str(auto_pull):
        problems.append(("auto-pull", "auto-pull must be true or false"))
    return problems


def _message(message: chat_vendors.Message, where: str) -> dict[str, Any]:
    """One message as Ollama takes it: the text, and its images as bare base64."""
    out: dict[str, Any] = {"role": message.role, "content": message.text}
    images = []
    for part in message.parts:
        if isinstance(part, chat_vendors.ImageURL):
            raise ComponentError(f"{where}: Ollama takes image data, not URLs; give an image file or base64 data.")
        if not isinstance(part, str):
            images.append(part.base64())
    if images:
        out["images"] = images
    return out


def _chat_request(input: Mapping[str, Any]) -> dict[str, Any]:
    prompt = vendor_api.required_string(input, "prompt")
    system, conversation = chat_vendors.conversation(input, prompt)
    messages = [{"role": "system", "content": system}] if system else []
    where = ["chat-history"] * (len(conversation) - 1) + ["prompt-images"]
    messages += [_message(message, where[i]) for i, message in enumerate(conversation)]
    options: dict[str, Any] = {
        "temperature": input.get("temperature", DEFAULT_TEMPERATURE),
        "top_k": input.get("top-k", DEFAULT_TOP_K),
    }
    if input.get("seed") is not None:
        options["seed"] = input["seed"]
    if input.get("max-new-tokens") is not None:
        options["num_predict"] = input["max-new-tokens"]
    return {
        "model": vendor_api.required_string(input, "model"),
        "messages": messages,
        "stream": True,
        "options": {k: v for k, v in options.items() if v is not None},
    }


# --- talking to the server ------------------------------------------------------------


def _stream(ctx: TaskContext, url: str, body: Mapping[str, Any], paths: tuple[str, ...] = CHAT_PATHS) -> Any:
    return vendor_api.post(ctx, url, body, paths=paths, headers={"Accept": "application/x-ndjson"})


class _ModelMissing(ComponentError):
    """Ollama answered 404: the server has not got the model."""


async def _check(response: httpx.Response, url: str) -> None:
    try:
        await vendor_api.check_status(response, url)
    except vendor_api.Transient:
        raise
    except ComponentError as exc:
        if response.status_code == 404:
            raise _ModelMissing(str(exc)) from None
        raise


async def _lines(response: httpx.Response, url: str) -> Any:
    """Each JSON object of an NDJSON answer; an ``{"error": ...}`` line is a failure."""
    async for line in response.aiter_lines():
        if not line.strip():
            continue
        try:
            payload = json.loads(line)
        except ValueError:
            raise ComponentError(f"{url} streamed something that is not JSON: {line[:200]!r}") from None
        if not isinstance(payload, Mapping):
            continue
        if payload.get("error"):
            raise ComponentError(f"{url} reported an error: {str(payload['error'])[:500]}")
        yield payload


async def _pull(ctx: TaskContext, model: str) -> None:
    """``POST /api/pull``, its progress streamed (so a long download never looks idle)."""
    url = _server(ctx.setup) + PULL_PATH
    try:
        async with _stream(ctx, url, {"model": model, "stream": True}, (*CHAT_PATHS, PULL_PATH)) as response:
            await _check(response, url)
            status = None
            async for payload in _lines(response, url):
                status = payload.get("status", status)
    except outbound.OutboundUnavailable as exc:
        raise vendor_api.Transient(str(exc)) from None
    if status != "success":
        raise ComponentError(f"{url}: pulling {model} ended without success (last status: {status}).")


async def _with_model(ctx: TaskContext, model: str, send: Any) -> dict[str, Any]:
    """``send()`` (which retries its own failures); a missing model is pulled first
    when ``setup.auto-pull`` is true."""
    try:
        return await send()  # type: ignore[no-any-return]
    except _ModelMissing as exc:
        if ctx.setup.get("auto-pull") is not True:
            raise ComponentError(
                f"{exc} — pull {model} on the Ollama server (ollama pull {model}), or set auto-pull: true in the setup"
            ) from None

    async def pull() -> dict[str, Any]:
        await _pull(ctx, model)
        return {}

    await vendor_api.retried(ctx, pull)
    return await send()  # type: ignore[no-any-return]


def _usage(done: Mapping[str, Any]) -> dict[str, int] | None:
    """Ollama's eval counts as Instill's chat usage."""
    prompt, completion = done.get("prompt_eval_count"), done.get("eval_count")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return {"input-tokens": prompt, "output-tokens": completion}


# --- tasks ----------------------------------------------------------------------------


async def run_chat(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    body = _chat_request(input)
    url = _server(ctx.setup) + "/api/chat"
    text = ""

    async def attempt() -> dict[str, Any]:
        nonlocal text
        usage = None
        try:
            async with _stream(ctx, url, body) as response:
                await _check(response, url)
                async for payload in _lines(response, url):
                    piece = (payload.get("message") or {}).get("content")
                    if isinstance(piece, str) and piece:
                        text += piece
                        await ctx.publish({"text": text})
                    if payload.get("done"):
                        usage = _usage(payload)
        except outbound.OutboundUnavailable as exc:
            raise vendor_api.streamed(exc, bool(text)) from None
        output: dict[str, Any] = {"text": text}
        if usage:
            output["usage"] = usage
        return output

    return await _with_model(ctx, body["model"], lambda: vendor_api.retried(ctx, attempt))


async def run_embeddings(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    body = {"model": vendor_api.required_string(input, "model"), "input": vendor_api.required_string(input, "text")}
    url = _server(ctx.setup) + "/api/embed"

    async def send() -> dict[str, Any]:
        payload = await vendor_api.json_call(ctx, url, body, paths=CHAT_PATHS, headers={}, check=_check)
        embeddings = payload.get("embeddings")
        embedding = embeddings[0] if isinstance(embeddings, list) and embeddings else None
        if not isinstance(embedding, list):
            raise ComponentError(f"{url} answered without an embedding.")
        return {"embedding": embedding}

    return await _with_model(ctx, body["model"], send)


COMPONENT = ComponentDefinition(
    type="ollama",
    title="Ollama",
    kind="ai",
    vendor="Ollama",
    description="Chat (streamed) and embeddings with the models of an Ollama server, through its native API.",
    setup_schema=SETUP_SCHEMA,
    check_setup=check_setup,
    tasks={
        "TASK_TEXT_GENERATION_CHAT": vendor_api.chat_task(run_chat, CHAT_INPUT, CHAT_OUTPUT, "text/image"),
        "TASK_TEXT_EMBEDDINGS": vendor_api.embeddings_task(run_embeddings, EMBEDDINGS_INPUT, EMBEDDINGS_OUTPUT),
    },
)
