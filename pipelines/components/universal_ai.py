"""The ``universal-ai`` AI component: Instill's vendor-agnostic chat (``universal-ai``
v0, ``TASK_CHAT``; retired by Instill in pipeline-backend #1042, its definition public
in the history). The model is chosen in the setup (``setup.model``); the input is
``data.messages`` (content parts ``text``, ``image-url``, ``image-base64``) and
``parameter`` (``max-tokens``, ``seed``, ``n``, ``temperature``, ``top-p``,
``stream``); the output is ``data.choices`` (``message``, ``finish-reason``,
``index``, ``created``) and ``metadata.usage``.

Instill served it for OpenAI's models only, and so does this component: it calls an
OpenAI-compatible ``/chat/completions`` (``setup.base-url``, default
``https://api.openai.com/v1``; the server's is ``PIPELINE_UNIVERSAL_AI_BASE_URL`` with
``PIPELINE_UNIVERSAL_AI_API_KEY``). With ``parameter.stream: true`` the answer streams,
the cumulative output published after every chunk. Instill's parameter defaults are
sent as Instill sends them. Retries and errors as in
:mod:`~pipelines.components.vendor_api`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pipelines.components import vendor_api
from pipelines.engine.components import ComponentError, TaskContext

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PATHS = ("/chat/completions",)
#: Instill's parameter defaults (its schema's, which Instill fills in) → OpenAI's names.
PARAMETERS = {
    "max-tokens": ("max_tokens", 50),
    "seed": ("seed", 0),
    "n": ("n", 1),
    "temperature": ("temperature", 0.7),
    "top-p": ("top_p", 1),
}

# --- schemas ----------------------------------------------------------------------


def _part(kind: str, title: str) -> dict[str, Any]:
    return {
        "type": "object",
        "title": title,
        "properties": {kind: {"type": "string", "title": title}, "type": {"type": "string", "const": kind}},
        "required": [kind, "type"],
    }


CHAT_INPUT = {
    "type": "object",
    "title": "Chat input",
    "properties": {
        "data": {
            "type": "object",
            "title": "Chat Data",
            "properties": {
                "messages": {
                    "type": "array",
                    "title": "Chat Messages",
                    "items": {
                        "type": "object",
                        "properties": {
                            "content": {
                                "type": "array",
                                "title": "Content",
                                "items": {
                                    "oneOf": [
                                        _part("text", "Text"),
                                        _part("image-url", "Image URL"),
                                        _part("image-base64", "Image Base64"),
                                    ]
                                },
                            },
                            "role": {"type": "string", "title": "Role", "enum": ["system", "user", "assistant"]},
                            "name": {"type": "string", "title": "Name"},
                        },
                        "required": ["content", "role"],
                    },
                }
            },
            "required": ["messages"],
        },
        "parameter": {
            "type": "object",
            "title": "Input Parameter",
            "properties": {
                "max-tokens": {"type": "integer", "title": "Max New Tokens", "default": 50},
                "seed": {"type": "integer", "title": "Seed", "default": 0},
                "n": {"type": "integer", "title": "Number of Choices", "default": 1},
                "temperature": {"type": "number", "title": "Temperature", "default": 0.7},
                "top-p": {"type": "number", "title": "Top P", "default": 1},
                "stream": {"type": "boolean", "title": "Stream", "default": False},
            },
        },
    },
    "required": ["data"],
}
CHAT_OUTPUT = {
    "type": "object",
    "title": "Chat output",
    "properties": {
        "data": {
            "type": "object",
            "title": "Output Data",
            "properties": {
                "choices": {
                    "type": "array",
                    "title": "Choices",
                    "items": {
                        "type": "object",
                        "properties": {
                            "finish-reason": {"type": "string", "title": "Finish Reason"},
                            "index": {"type": "integer", "title": "Index"},
                            "message": {
                                "type": "object",
                                "title": "Message",
                                "properties": {
                                    "content": {"type": "string", "title": "Content"},
                                    "role": {"type": "string", "title": "Role"},
                                },
                            },
                            "created": {"type": "integer", "title": "Created"},
                        },
                    },
                }
            },
        },
        "metadata": {
            "type": "object",
            "title": "Output Metadata",
            "properties": {"usage": vendor_api.USAGE_SCHEMA},
        },
    },
    "required": ["data"],
}
SETUP_SCHEMA = {
    "type": "object",
    "title": "Universal AI Connection",
    "properties": {
        "model": {
            "type": "string",
            "title": "Model Name",
            "description": "The model to be used (OpenAI's: gpt-4o-mini, gpt-4o, gpt-4 ...; or what the server at base-url serves).",
        },
        "api-key": {"type": "string", "title": "API Key", "description": "Your API key from the vendor's platform."},
        "organization": {"type": "string", "title": "Organization ID"},
        "base-url": {
            "type": "string",
            "title": "Base URL",
            "description": f"The API root of an OpenAI-compatible server (default {DEFAULT_BASE_URL}).",
        },
    },
    "required": ["model"],
}

# --- the request --------------------------------------------------------------------


def _content_part(part: Any, where: str) -> dict[str, Any]:
    kind = part.get("type") if isinstance(part, Mapping) else None
    if kind == "text":
        return {"type": "text", "text": str(part.get("text") or "")}
    if kind == "image-url":
        return {"type": "image_url", "image_url": {"url": str(part.get("image-url") or "")}}
    if kind == "image-base64":
        file = vendor_api.file_of(part.get("image-base64"), f"{where}.image-base64", "image/")
        return {"type": "image_url", "image_url": {"url": f"data:{file.mime_type};base64,{file.base64()}"}}
    raise ComponentError(f"{where}.type must be text, image-url or image-base64.")


def _chat_request(input: Mapping[str, Any], model: str) -> dict[str, Any]:
    data = input.get("data")
    messages = data.get("messages") if isinstance(data, Mapping) else None
    if not isinstance(messages, list) or not messages:
        raise ComponentError("data.messages must be a non-empty list of messages.")
    sent = []
    for i, message in enumerate(messages):
        where = f"data.messages[{i}]"
        if not isinstance(message, Mapping) or not isinstance(message.get("role"), str):
            raise ComponentError(f"{where} must be an object with a role and a content.")
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list):
            raise ComponentError(f"{where}.content must be a list of parts.")
        out: dict[str, Any] = {
            "role": message["role"],
            "content": [_content_part(part, f"{where}.content[{j}]") for j, part in enumerate(content)],
        }
        if message.get("name"):
            out["name"] = message["name"]
        sent.append(out)
    raw = input.get("parameter")
    parameter: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    body: dict[str, Any] = {"model": model, "messages": sent}
    for name, (field, default) in PARAMETERS.items():
        value = parameter.get(name, default)
        if value is not None:
            body[field] = value
    if parameter.get("stream") is True:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def _headers(setup: Mapping[str, Any], accept: str) -> dict[str, str]:
    headers = {"Accept": accept}
    if setup.get("api-key"):
        headers["Authorization"] = f"Bearer {setup['api-key']}"
    if setup.get("organization"):
        headers["OpenAI-Organization"] = str(setup["organization"])
    return headers


# --- the answer -----------------------------------------------------------------------


class _Choices:
    def __init__(self) -> None:
        self.choices: list[dict[str, Any]] = []
        self.usage: dict[str, int] | None = None

    def choice(self, index: Any) -> dict[str, Any]:
        position = index if isinstance(index, int) and 0 <= index < 128 else 0
        while len(self.choices) <= position:
            self.choices.append(
                {"finish-reason": "", "index": len(self.choices), "message": {"content": "", "role": ""}, "created": 0}
            )
        return self.choices[position]

    def add(self, payload: Mapping[str, Any], key: str) -> bool:
        """Add a completion (``key`` "message") or a streamed chunk ("delta"); whether text came."""
        added = False
        for raw in payload.get("choices") or []:
            if not isinstance(raw, Mapping):
                continue
            choice = self.choice(raw.get("index"))
            given = raw.get(key)
            message: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
            if isinstance(message.get("content"), str) and message["content"]:
                choice["message"]["content"] += message["content"]
                added = True
            if message.get("role"):
                choice["message"]["role"] = message["role"]
            if raw.get("finish_reason"):
                choice["finish-reason"] = raw["finish_reason"]
            if isinstance(payload.get("created"), int):
                choice["created"] = payload["created"]
        usage = payload.get("usage")
        if isinstance(usage, Mapping) and usage.get("total_tokens"):
            self.usage = {
                "completion-tokens": usage.get("completion_tokens", 0),
                "prompt-tokens": usage.get("prompt_tokens", 0),
                "total-tokens": usage["total_tokens"],
            }
        return added

    def output(self) -> dict[str, Any]:
        out: dict[str, Any] = {"data": {"choices": [json.loads(json.dumps(c)) for c in self.choices]}}
        out["metadata"] = {"usage": self.usage} if self.usage else {}
        return out


# --- the task -------------------------------------------------------------------------


async def run_chat(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    model = ctx.setup.get("model")
    if not isinstance(model, str) or not model:
        raise ComponentError("setup.model is required: the model to chat with (gpt-4o-mini, ...).")
    body = _chat_request(input, model)
    url = vendor_api.base_url(ctx.setup, DEFAULT_BASE_URL) + PATHS[0]
    if not body.get("stream"):
        payload = await vendor_api.json_call(
            ctx, url, body, paths=PATHS, headers=_headers(ctx.setup, "application/json")
        )
        answer = _Choices()
        answer.add(payload, "message")
        return answer.output()
    return await vendor_api.sse_call(
        ctx, url, body, paths=PATHS, headers=_headers(ctx.setup, "text/event-stream"), start=lambda: _Stream(ctx)
    )


class _Stream(_Choices):
    def __init__(self, ctx: TaskContext) -> None:
        super().__init__()
        self.ctx = ctx

    def whole(self, payload: Mapping[str, Any]) -> None:
        self.add(payload, "message")

    async def event(self, data: str, url: str) -> bool:
        if not self.add(vendor_api.json_event(data, url), "delta"):
            return False
        await self.ctx.publish(self.output())
        return True


COMPONENT = vendor_api.ai_component(
    "universal-ai",
    "Universal AI",
    "Instill",
    "Chat with a model named in the setup, in standardized input and output formats (OpenAI's models and compatible servers).",
    SETUP_SCHEMA,
    [
        vendor_api.task(
            "TASK_CHAT",
            "Chat",
            "Generate response base on conversation input; streamed when parameter.stream is true.",
            CHAT_INPUT,
            CHAT_OUTPUT,
            run_chat,
        )
    ],
    check_setup=vendor_api.check_base_urls("base-url"),
)
