"""The ``groq`` AI component: open models on GroqCloud through its OpenAI-compatible
chat API (Instill ``groq`` v0: ``TASK_TEXT_GENERATION_CHAT``, its field names and
defaults, plus ``setup.base-url``).

``POST {base-url}/chat/completions`` (default base ``https://api.groq.com/openai/v1``)
with the key as a bearer token, always ``stream: true``: each chunk that adds text
publishes the cumulative ``text``; the last chunk's ``x_groq.usage`` becomes
``usage`` (``input-tokens``, ``output-tokens``). ``prompt-images`` and images in
``chat-history`` go as ``image_url`` parts, for Groq's vision models. HTTP, retries
and the outbound guard are the openai component's; the allowed model host admits
``/chat/completions`` only.

A platform key: ``PIPELINE_GROQ_API_KEY`` / ``PIPELINE_GROQ_BASE_URL``.
"""

from __future__ import annotations

from typing import Any

from pipelines.components import chat_vendors as chat
from pipelines.engine.components import TaskContext

DEFAULT_BASE_URL = "https://api.groq.com/openai/v1"

INPUT = chat.chat_input(
    "model",
    ["llama-3.3-70b-versatile", "llama-3.1-8b-instant", "llama3-groq-70b-8192-tool-use-preview"],
    {
        "top-p": chat.TOP_P,
        "user": {
            "type": "string",
            "title": "User",
            "description": "A unique identifier of your end user, which helps Groq detect abuse.",
            "default": "instill-ai",
        },
    },
)
INPUT["properties"]["model"]["title"] = "Model"
SETUP_SCHEMA = chat.setup_schema("GroqCloud Connection", "GroqCloud", DEFAULT_BASE_URL)
# Recipe field → request field, with Instill's defaults; top-k is accepted and not
# sent (the API has none).
_OPTIONS = {
    "model": "model",
    "max-new-tokens": "max_tokens",
    "temperature": "temperature",
    "top-p": "top_p",
    "seed": "seed",
    "user": "user",
}
_DEFAULTS = {"max-new-tokens": 50, "temperature": 0.7, "top-p": 0.5, "user": "instill-ai"}


async def run_chat(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    return await chat.openai_like_chat(
        input,
        ctx,
        model_field="model",
        names=_OPTIONS,
        defaults=_DEFAULTS,
        default_base_url=DEFAULT_BASE_URL,
        images=True,
    )


COMPONENT = chat.chat_component(
    "groq",
    "Groq",
    "Groq",
    "Connect the AI models served on GroqCloud: chat, answers streamed.",
    SETUP_SCHEMA,
    INPUT,
    run_chat,
)
