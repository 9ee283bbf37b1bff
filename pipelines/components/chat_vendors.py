"""What Instill's chat components (``anthropic``, ``mistral-ai``, ``groq``) share:
their ``TASK_TEXT_GENERATION_CHAT`` input and output (Instill's field names and
defaults), their setup (``api-key``, plus the ``base-url`` a platform key points
elsewhere), reading ``chat-history`` and ``prompt-images``, and a streamed call.

The HTTP itself is the openai component's (:mod:`pipelines.components.openai`): the
outbound guard with the model-host allow list narrowed to each vendor's own API
paths, retries on 429/5xx/network failures/timeouts with backoff and
``Retry-After`` (never once text has been published), the provider's message in
errors, the idle timeout. The retry knobs (``openai_max_attempts``,
``openai_backoff_seconds``) are shared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipelines.components import openai, vendor_api
from pipelines.engine.components import ComponentDefinition, ComponentError, Task, TaskContext
from pipelines.engine.values import File, FileDecodeError

__all__ = [
    "CHAT_MESSAGE",
    "CHAT_OUTPUT",
    "DEFAULT_SYSTEM_MESSAGE",
    "TOP_P",
    "ChatAnswer",
    "ImageURL",
    "Message",
    "bearer_headers",
    "call",
    "chat_component",
    "chat_input",
    "conversation",
    "endpoint",
    "image",
    "json_content",
    "json_of",
    "openai_like_chat",
    "openai_messages",
    "options",
    "read_openai_chunk",
    "read_openai_whole",
    "required_string",
    "setup_schema",
    "stream_chat",
]

DEFAULT_SYSTEM_MESSAGE = "You are a helpful assistant."
# The openai component's calls, for the vendors' other tasks.
call = openai.call
endpoint = openai.endpoint
json_content = openai.json_content
json_of = openai.json_of

# --- schemas ------------------------------------------------------------------------

_CONTENT_PART = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "title": "Type", "enum": ["text", "image_url"]},
        "text": {"type": "string", "title": "Text"},
        "image-url": {
            "type": "object",
            "title": "Image URL",
            "description": "Either a URL of the image or the base64 encoded image data.",
            "properties": {"url": {"type": "string", "title": "URL"}},
            "required": ["url"],
        },
    },
    "required": ["type"],
}
CHAT_MESSAGE = {
    "type": "object",
    "title": "Chat Message",
    "properties": {
        "role": {"type": "string", "title": "Role", "description": "'system', 'user' or 'assistant'."},
        "content": {
            "title": "Content",
            "description": "A list of {type: text, text} and {type: image_url, image-url: {url}} parts (a string is read too).",
            "type": ["array", "string"],
            "items": _CONTENT_PART,
        },
    },
    "required": ["role", "content"],
}


def _field(type_: str, title: str, description: str, default: Any = None) -> dict[str, Any]:
    schema = {"type": type_, "title": title, "description": description}
    if default is not None:
        schema["default"] = default
    return schema


TOP_P = {
    "type": "number",
    "title": "Top P",
    "description": "Nucleus sampling: the probability mass of tokens considered.",
    "default": 0.5,
}


def chat_input(model_field: str, examples: list[str], extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Instill's ``TASK_TEXT_GENERATION_CHAT`` input, the model under ``model_field``."""
    properties = {
        model_field: {
            "type": "string",
            "title": "Model Name",
            "description": "The model to use.",
            "examples": examples,
        },
        "prompt": _field("string", "Prompt", "The prompt text."),
        "system-message": _field(
            "string",
            "System Message",
            "Sets the behaviour of the assistant; not sent when chat-history is given.",
            DEFAULT_SYSTEM_MESSAGE,
        ),
        "prompt-images": {
            "type": "array",
            "title": "Prompt Images",
            "description": "Images sent after the prompt: image files, data URIs or base64.",
            "items": {"instillAcceptFormats": ["image/*"]},
        },
        "chat-history": {
            "type": "array",
            "title": "Chat history",
            "description": "Earlier messages of the conversation; when given, system-message is not sent.",
            "items": CHAT_MESSAGE,
        },
        "max-new-tokens": _field("integer", "Max New Tokens", "The most tokens to generate.", 50),
        "temperature": _field("number", "Temperature", "The temperature for sampling.", 0.7),
        "top-k": _field("integer", "Top K", "Top k for sampling.", 10),
        "seed": _field("integer", "Seed", "The seed, for models that take one."),
        **(extra or {}),
    }
    return {"type": "object", "title": "Input", "properties": properties, "required": ["prompt", model_field]}


CHAT_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "text": {"type": "string", "title": "Text", "description": "Model output."},
        "usage": {
            "type": "object",
            "title": "Usage",
            "properties": {
                "input-tokens": {"type": "number", "title": "Input Tokens"},
                "output-tokens": {"type": "number", "title": "Output Tokens"},
            },
            "required": ["input-tokens", "output-tokens"],
        },
    },
    "required": ["text"],
}


def setup_schema(title: str, vendor: str, default_base_url: str) -> dict[str, Any]:
    return {
        "type": "object",
        "title": title,
        "properties": {
            "api-key": {"type": "string", "title": "API Key", "description": f"Your {vendor} API key."},
            "base-url": {
                "type": "string",
                "title": "Base URL",
                "description": f"The API root (default {default_base_url}): a proxy or compatible server.",
            },
        },
    }


# --- reading the input --------------------------------------------------------------


required_string = openai.required_string


def options(input: Mapping[str, Any], names: Mapping[str, str], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Request fields from recipe fields (``names``: recipe → request), Instill's
    defaults filling what the recipe leaves out."""
    values = {**defaults, **{k: v for k, v in input.items() if v is not None}}
    return {field: values[name] for name, field in names.items() if values.get(name) is not None}


@dataclass(frozen=True)
class ImageURL:
    """An image given by its http(s) URL, which the provider fetches."""

    url: str


def image(value: Any, where: str) -> File | ImageURL:
    """An image input: a :class:`File` (decoded from a data URI or base64), or an
    http(s) URL left for the provider to fetch."""
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return ImageURL(value)
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
    return file


@dataclass
class Message:
    """One message, vendor-neutral: text parts and images in order."""

    role: str
    parts: list[str | File | ImageURL] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(part for part in self.parts if isinstance(part, str))


def _image_part(part: Mapping[str, Any]) -> Any:
    holder = part.get("image-url") or part.get("image_url") or {}
    return holder.get("url") if isinstance(holder, Mapping) else holder


def conversation(input: Mapping[str, Any], prompt: str) -> tuple[str, list[Message]]:
    """The system text and the messages: ``chat-history`` (whose system messages
    become the system text) or ``system-message``, then the prompt and its images."""
    history = input.get("chat-history")
    messages: list[Message] = []
    system: list[str] = []
    if history:
        if not isinstance(history, list):
            raise ComponentError("chat-history must be a list of messages.")
        for i, entry in enumerate(history):
            where = f"chat-history[{i}]"
            if not isinstance(entry, Mapping) or entry.get("role") not in ("system", "user", "assistant"):
                raise ComponentError(f"{where} must have a role of system, user or assistant, and a content.")
            content = entry.get("content")
            message = Message(entry["role"])
            if isinstance(content, str):
                message.parts.append(content)
            elif isinstance(content, list):
                for part in content:
                    kind = part.get("type") if isinstance(part, Mapping) else None
                    if kind == "text":
                        message.parts.append(str(part.get("text") or ""))
                    elif kind == "image_url":
                        message.parts.append(image(_image_part(part), f"{where} image"))
                    else:
                        raise ComponentError(f"{where}.content parts must be of type text or image_url.")
            else:
                raise ComponentError(f"{where}.content must be a list of parts or a string.")
            if message.role == "system":
                system.append(message.text)
            else:
                messages.append(message)
    else:
        system_message = input.get("system-message", DEFAULT_SYSTEM_MESSAGE)
        if system_message:
            system.append(str(system_message))
    images = input.get("prompt-images") or []
    if not isinstance(images, list):
        images = [images]
    last = Message("user", [prompt])
    last.parts += [image(value, f"prompt-images[{i}]") for i, value in enumerate(images)]
    messages.append(last)
    return "\n\n".join(system), messages


# --- the call -----------------------------------------------------------------------


@dataclass
class ChatAnswer:
    """The answer as it streams in."""

    text: str = ""
    input_tokens: int = 0
    output_tokens: int = 0

    def output(self) -> dict[str, Any]:
        return {"text": self.text, "usage": {"input-tokens": self.input_tokens, "output-tokens": self.output_tokens}}


@dataclass
class _ChatSink:
    """One attempt's answer for :func:`vendor_api.sse_call`: each event read with
    ``read_event`` (the cumulative text published when it added some), a whole JSON
    answer with ``read_whole``."""

    ctx: TaskContext
    read_event: Callable[[Mapping[str, Any], ChatAnswer], bool]
    read_whole: Callable[[Mapping[str, Any], ChatAnswer], None]
    answer: ChatAnswer = field(default_factory=ChatAnswer)

    async def event(self, data: str, url: str) -> bool:
        chunk = _event(data, url)
        if chunk is None or not self.read_event(chunk, self.answer):
            return False
        await self.ctx.publish({"text": self.answer.text})
        return True

    def whole(self, payload: Mapping[str, Any]) -> None:
        self.read_whole(payload, self.answer)

    def output(self) -> dict[str, Any]:
        return self.answer.output()


async def stream_chat(
    ctx: TaskContext,
    url: str,
    *,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    allowed_paths: tuple[str, ...],
    read_event: Callable[[Mapping[str, Any], ChatAnswer], bool],
    read_whole: Callable[[Mapping[str, Any], ChatAnswer], None],
) -> dict[str, Any]:
    """POST a streamed chat request and read its server-sent events with
    ``read_event`` (true when it added text, which is then published as the
    cumulative ``text``); a server that answers one JSON body is read with
    ``read_whole``. Retried as :func:`vendor_api.sse_call` retries (never once text
    has been published)."""
    return await vendor_api.sse_call(
        ctx,
        url,
        body,
        paths=allowed_paths,
        headers=headers,
        start=lambda: _ChatSink(ctx, read_event, read_whole),
    )


def _event(data: str, url: str) -> Mapping[str, Any] | None:
    import json

    try:
        chunk = json.loads(data)
    except ValueError:
        raise ComponentError(f"{url} streamed something that is not JSON: {data[:200]!r}") from None
    if not isinstance(chunk, Mapping):
        return None
    if chunk.get("error") or chunk.get("type") == "error":
        raise ComponentError(
            f"{url} reported an error while streaming: {openai.provider_message(data.encode(), 'error')}"
        )
    return chunk


# --- OpenAI-like chat answers (Mistral, Groq) -------------------------------------------


def openai_messages(system: str, messages: list[Message], *, images: bool) -> list[dict[str, Any]]:
    """Chat-completions messages; with ``images`` false (Mistral's chat models) the
    images are left out, as Instill does."""
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for message in messages:
        if not images or all(isinstance(part, str) for part in message.parts):
            out.append({"role": message.role, "content": message.text})
            continue
        parts: list[dict[str, Any]] = []
        for part in message.parts:
            if isinstance(part, str):
                parts.append({"type": "text", "text": part})
            else:
                url = part.url if isinstance(part, ImageURL) else f"data:{part.mime_type};base64,{part.base64()}"
                parts.append({"type": "image_url", "image_url": {"url": url}})
        out.append({"role": message.role, "content": parts})
    return out


def _openai_usage(usage: Any, answer: ChatAnswer) -> None:
    if isinstance(usage, Mapping):
        if isinstance(usage.get("prompt_tokens"), int):
            answer.input_tokens = usage["prompt_tokens"]
        if isinstance(usage.get("completion_tokens"), int):
            answer.output_tokens = usage["completion_tokens"]


def read_openai_chunk(chunk: Mapping[str, Any], answer: ChatAnswer) -> bool:
    """One ``chat.completion.chunk``: the first choice's text; the usage where the
    vendor puts it (``usage``, or Groq's ``x_groq.usage``)."""
    _openai_usage(chunk.get("usage"), answer)
    extra = chunk.get("x_groq")
    if isinstance(extra, Mapping):
        _openai_usage(extra.get("usage"), answer)
    for choice in chunk.get("choices") or []:
        if isinstance(choice, Mapping) and choice.get("index", 0) == 0:
            text = (choice.get("delta") or {}).get("content")
            if isinstance(text, str) and text:
                answer.text += text
                return True
    return False


def read_openai_whole(payload: Mapping[str, Any], answer: ChatAnswer) -> None:
    for choice in payload.get("choices") or []:
        if isinstance(choice, Mapping) and choice.get("index", 0) == 0:
            answer.text += str((choice.get("message") or {}).get("content") or "")
    _openai_usage(payload.get("usage"), answer)


def bearer_headers(setup: Mapping[str, Any], accept: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": accept}
    if setup.get("api-key"):
        headers["Authorization"] = f"Bearer {setup['api-key']}"
    return headers


async def openai_like_chat(
    input: Mapping[str, Any],
    ctx: TaskContext,
    *,
    model_field: str,
    names: Mapping[str, str],
    defaults: Mapping[str, Any],
    default_base_url: str,
    images: bool,
    allowed_paths: tuple[str, ...] = ("/chat/completions",),
) -> dict[str, Any]:
    """A streamed ``chat/completions`` call for the vendors that speak OpenAI's chat
    API (Mistral, Groq): ``names`` maps recipe fields to request fields."""
    prompt = required_string(input, "prompt")
    required_string(input, model_field)
    system, messages = conversation(input, prompt)
    body = options(input, names, defaults)
    body["messages"] = openai_messages(system, messages, images=images)
    body["stream"] = True
    return await stream_chat(
        ctx,
        openai.endpoint(ctx.setup, "chat/completions", default_base_url),
        headers=bearer_headers(ctx.setup, "text/event-stream"),
        body=body,
        allowed_paths=allowed_paths,
        read_event=read_openai_chunk,
        read_whole=read_openai_whole,
    )


def chat_component(
    type: str,
    title: str,
    vendor: str,
    description: str,
    setup: dict[str, Any],
    chat_input: dict[str, Any],
    run: Any,
    **more_tasks: Task,
) -> ComponentDefinition:
    """A vendor component with Instill's ``TASK_TEXT_GENERATION_CHAT`` (and any
    ``more_tasks``), an ``api-key`` (so it takes a platform key) and ``base-url``."""
    chat_task = vendor_api.chat_task(run, chat_input, CHAT_OUTPUT, "text")
    return vendor_api.ai_component(type, title, vendor, description, setup, [chat_task, *more_tasks.values()])
