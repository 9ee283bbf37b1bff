"""The ``anthropic`` AI component: Claude through Anthropic's Messages API
(Instill ``anthropic`` v0: ``TASK_TEXT_GENERATION_CHAT``, its field names and
defaults, plus ``setup.base-url``).

``POST {base-url}/v1/messages`` with ``x-api-key`` and ``anthropic-version``, always
``stream: true``: every ``content_block_delta`` that adds text publishes the
cumulative ``text``; ``message_start`` and ``message_delta`` carry the token counts
that end up in ``usage`` (``input-tokens``, ``output-tokens``). An ``error`` event
fails the component with Anthropic's message. HTTP, retries and the outbound guard
are the openai component's (:mod:`pipelines.components.chat_vendors`); the allowed
model host admits ``/v1/messages`` only.

A platform key: ``PIPELINE_ANTHROPIC_API_KEY``, and ``PIPELINE_ANTHROPIC_BASE_URL``
for a proxy or compatible server (the API root, without ``/v1``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.components import chat_vendors as chat
from pipelines.engine.components import ComponentError, TaskContext
from pipelines.engine.values import File

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
API_PATHS = ("/v1/messages",)
# The image types the Messages API takes.
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")

INPUT = chat.chat_input("model-name", ["claude-3-5-sonnet-latest", "claude-sonnet-4-5", "claude-3-5-haiku-latest"])
SETUP_SCHEMA = chat.setup_schema("Anthropic Connection", "Anthropic", DEFAULT_BASE_URL)
# Recipe field → Messages API field, with Instill's defaults.
_OPTIONS = {"model-name": "model", "max-new-tokens": "max_tokens", "temperature": "temperature", "top-k": "top_k"}
_DEFAULTS = {"max-new-tokens": 50, "temperature": 0.7, "top-k": 10}


def _block(part: str | File | chat.ImageURL, where: str) -> dict[str, Any]:
    if isinstance(part, str):
        return {"type": "text", "text": part}
    if isinstance(part, chat.ImageURL):
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    if part.mime_type not in IMAGE_TYPES:
        raise ComponentError(f"{where}: Anthropic takes JPEG, PNG, GIF or WebP images, got {part.mime_type}.")
    return {"type": "image", "source": {"type": "base64", "media_type": part.mime_type, "data": part.base64()}}


def request_body(input: Mapping[str, Any]) -> dict[str, Any]:
    prompt = chat.required_string(input, "prompt")
    chat.required_string(input, "model-name")
    system, messages = chat.conversation(input, prompt)
    body: dict[str, Any] = chat.options(input, _OPTIONS, _DEFAULTS)
    if system:
        body["system"] = system
    body["messages"] = [
        {"role": m.role, "content": [_block(part, f"messages[{i}]") for part in m.parts]}
        for i, m in enumerate(messages)
    ]
    body["stream"] = True
    return body


def _read_event(event: Mapping[str, Any], answer: chat.ChatAnswer) -> bool:
    kind = event.get("type")
    if kind == "content_block_delta":
        delta = event.get("delta") or {}
        text = delta.get("text") if isinstance(delta, Mapping) and delta.get("type") == "text_delta" else None
        if isinstance(text, str) and text:
            answer.text += text
            return True
    elif kind in ("message_start", "message_delta"):
        usage = (event.get("message") or {}).get("usage") if kind == "message_start" else event.get("usage")
        _read_usage(usage, answer)
    return False


def _read_usage(usage: Any, answer: chat.ChatAnswer) -> None:
    if isinstance(usage, Mapping):
        if isinstance(usage.get("input_tokens"), int):
            answer.input_tokens = usage["input_tokens"]
        if isinstance(usage.get("output_tokens"), int):
            answer.output_tokens = usage["output_tokens"]


def _read_whole(message: Mapping[str, Any], answer: chat.ChatAnswer) -> None:
    for block in message.get("content") or []:
        if isinstance(block, Mapping) and block.get("type") == "text":
            answer.text += str(block.get("text") or "")
    _read_usage(message.get("usage"), answer)


async def run_chat(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    body = request_body(input)
    url = chat.endpoint(ctx.setup, "v1/messages", DEFAULT_BASE_URL)
    headers = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
        "anthropic-version": API_VERSION,
    }
    if ctx.setup.get("api-key"):
        headers["x-api-key"] = str(ctx.setup["api-key"])
    return await chat.stream_chat(
        ctx,
        url,
        headers=headers,
        body=body,
        allowed_paths=API_PATHS,
        read_event=_read_event,
        read_whole=_read_whole,
    )


COMPONENT = chat.chat_component(
    "anthropic",
    "Anthropic",
    "Anthropic",
    "Connect the AI models served on the Anthropic Platform: Claude, answers streamed.",
    SETUP_SCHEMA,
    INPUT,
    run_chat,
)
