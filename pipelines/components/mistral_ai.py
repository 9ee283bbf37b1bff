"""The ``mistral-ai`` AI component: Mistral AI's chat and embeddings APIs (Instill
``mistral-ai`` v0: ``TASK_TEXT_GENERATION_CHAT`` and ``TASK_TEXT_EMBEDDINGS``, their
field names and defaults, plus ``setup.base-url``).

``POST {base-url}/chat/completions`` (default base ``https://api.mistral.ai/v1``),
always ``stream: true``: each chunk that adds text publishes the cumulative ``text``;
the last chunk's ``usage`` becomes ``usage`` (``input-tokens``, ``output-tokens``).
``prompt-images`` and images in ``chat-history`` are left out, as Instill does (its
chat models take text). ``POST {base-url}/embeddings`` for ``TASK_TEXT_EMBEDDINGS``.
HTTP, retries and the outbound guard are the openai component's; the allowed model
host admits these two paths only.

A platform key: ``PIPELINE_MISTRAL_AI_API_KEY`` / ``PIPELINE_MISTRAL_AI_BASE_URL``.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.components import chat_vendors as chat
from pipelines.components import vendor_api
from pipelines.engine.components import ComponentError, TaskContext

DEFAULT_BASE_URL = "https://api.mistral.ai/v1"
API_PATHS = ("/chat/completions", "/embeddings")

CHAT_INPUT = chat.chat_input(
    "model-name",
    ["open-mixtral-8x22b", "mistral-large-latest", "mistral-small-latest"],
    {
        "top-p": chat.TOP_P,
        "safe": {"type": "boolean", "title": "Safe", "description": "Inject Mistral's safety prompt (safe_prompt)."},
    },
)
EMBEDDINGS_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "model-name": {"type": "string", "title": "Model Name", "examples": ["mistral-embed"]},
        "text": {"type": "string", "title": "Text", "description": "The text to embed."},
    },
    "required": ["text", "model-name"],
}
EMBEDDINGS_OUTPUT = vendor_api.embedding_output(tokens_required=True)
SETUP_SCHEMA = chat.setup_schema("Mistral AI Connection", "Mistral AI", DEFAULT_BASE_URL)
# Recipe field → request field; top-k is accepted and not sent (Mistral has none).
_OPTIONS = {
    "model-name": "model",
    "temperature": "temperature",
    "max-new-tokens": "max_tokens",
    "top-p": "top_p",
    "seed": "random_seed",
    "safe": "safe_prompt",
}
_DEFAULTS = {"max-new-tokens": 50, "temperature": 0.7, "top-p": 0.5}


async def run_chat(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    return await chat.openai_like_chat(
        input,
        ctx,
        model_field="model-name",
        names=_OPTIONS,
        defaults=_DEFAULTS,
        default_base_url=DEFAULT_BASE_URL,
        images=False,
        allowed_paths=API_PATHS,
    )


async def run_embeddings(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    body = {"model": chat.required_string(input, "model-name"), "input": [chat.required_string(input, "text")]}
    url = chat.endpoint(ctx.setup, "embeddings", DEFAULT_BASE_URL)
    headers = chat.bearer_headers(ctx.setup, "application/json")
    _, content = await chat.call(ctx, url, chat.json_content(body), headers, API_PATHS)
    payload = chat.json_of(content, url)
    data = payload.get("data")
    embedding = data[0].get("embedding") if isinstance(data, list) and data and isinstance(data[0], dict) else None
    if not isinstance(embedding, list):
        raise ComponentError(f"{url} answered without an embedding: {json.dumps(payload)[:200]}")
    usage = payload.get("usage")
    tokens = usage.get("total_tokens") if isinstance(usage, dict) else None
    return {"embedding": embedding, "usage": {"tokens": tokens if isinstance(tokens, int) else 0}}


COMPONENT = chat.chat_component(
    "mistral-ai",
    "Mistral AI",
    "Mistral AI",
    "Connect the AI models served on the Mistral AI Platform: chat (streamed) and embeddings.",
    SETUP_SCHEMA,
    CHAT_INPUT,
    run_chat,
    TASK_TEXT_EMBEDDINGS=vendor_api.task(
        "TASK_TEXT_EMBEDDINGS",
        "Text Embeddings",
        "Turn text into a vector of numbers that capture its meaning.",
        EMBEDDINGS_INPUT,
        EMBEDDINGS_OUTPUT,
        run_embeddings,
    ),
)
