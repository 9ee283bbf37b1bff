"""The universal-ai component against the local OpenAI-compatible server
(tests/fake_openai.py): Instill's standardized chat input and output, streamed when
asked, and Instill's README example recipe through the engine."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.universal_ai import COMPONENT
from pipelines.engine import ComponentOutputUpdated, Event, execute, parse_recipe
from pipelines.engine.components import ComponentError
from pipelines.engine.platform import PlatformSetup
from tests.components import fake_vendor
from tests.fake_openai import tokens_of

FAST = {"http_allowed_hosts": ["127.0.0.1"], "openai_backoff_seconds": 0.01}
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


async def chat(fake, input: dict[str, Any], published: list | None = None, **setup: Any) -> dict[str, Any]:
    setup = {"model": "gpt-4o-mini", "api-key": "sk-u", "base-url": fake.base_url, **setup}
    return await fake_vendor.run_task(COMPONENT, "TASK_CHAT", input, setup, FAST, published)


def message(text: str, role: str = "user") -> dict[str, Any]:
    return {"role": role, "content": [{"type": "text", "text": text}]}


def test_definition_matches_instill():
    """Instill's universal-ai v0 (pipeline-backend pkg/component/ai/universalai/v0/config,
    before its retirement in #1042): TASK_CHAT, data/parameter in, data/metadata out, setup.model."""
    assert COMPONENT.type == "universal-ai" and set(COMPONENT.tasks) == {"TASK_CHAT"}
    schema = COMPONENT.tasks["TASK_CHAT"].input_schema["properties"]
    assert set(schema) == {"data", "parameter"}
    assert set(schema["parameter"]["properties"]) == {"max-tokens", "seed", "n", "temperature", "top-p", "stream"}
    assert set(COMPONENT.tasks["TASK_CHAT"].output_schema["properties"]) == {"data", "metadata"}
    assert COMPONENT.setup_schema["required"] == ["model"]


async def test_chat_sends_openai_messages_with_instills_defaults(fake_openai):
    out = await chat(
        fake_openai,
        {
            "data": {
                "messages": [
                    message("Be brief.", "system"),
                    {
                        "role": "user",
                        "name": "ann",
                        "content": [
                            {"type": "text", "text": "What is this?"},
                            {"type": "image-base64", "image-base64": PNG_B64},
                            {"type": "image-url", "image-url": "https://example.com/cat.png"},
                        ],
                    },
                ]
            }
        },
        organization="org-1",
    )
    [request] = fake_openai.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-u"
    assert request.headers["openai-organization"] == "org-1"
    assert request.body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
            {
                "role": "user",
                "name": "ann",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                ],
            },
        ],
        "max_tokens": 50,
        "seed": 0,
        "n": 1,
        "temperature": 0.7,
        "top_p": 1,
    }
    assert out == {
        "data": {
            "choices": [
                {
                    "finish-reason": "stop",
                    "index": 0,
                    "message": {"content": "You said: What is this?", "role": "assistant"},
                    "created": 0,
                }
            ]
        },
        "metadata": {"usage": {"completion-tokens": 5, "prompt-tokens": 5, "total-tokens": 10}},
    }


async def test_stream_true_streams_the_choices(fake_openai):
    published: list[dict] = []
    input = {"data": {"messages": [message("hello there")]}, "parameter": {"stream": True, "n": 1, "max-tokens": 9}}
    out = await chat(fake_openai, input, published)
    body = fake_openai.requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True} and body["max_tokens"] == 9
    tokens = tokens_of("You said: hello there")
    texts = [p["data"]["choices"][0]["message"]["content"] for p in published]
    assert texts == ["".join(tokens[: i + 1]) for i in range(len(tokens))]
    assert out["data"]["choices"][0]["message"]["content"] == "You said: hello there"
    assert out["metadata"]["usage"]["total-tokens"] == 2 + len(tokens)


async def test_bad_input_and_setup_are_clear_errors(fake_openai):
    with pytest.raises(ComponentError, match=r"data\.messages must be a non-empty list"):
        await chat(fake_openai, {"data": {"messages": []}})
    with pytest.raises(ComponentError, match="type must be text, image-url or image-base64"):
        await chat(fake_openai, {"data": {"messages": [{"role": "user", "content": [{"type": "audio"}]}]}})
    with pytest.raises(ComponentError, match=r"setup\.model is required"):
        await chat(fake_openai, {"data": {"messages": [message("x")]}}, model="")
    fake_openai.fail(401)
    with pytest.raises(ComponentError, match="answered 401: Incorrect API key provided"):
        await chat(fake_openai, {"data": {"messages": [message("x")]}})


# Instill's README example recipe (pkg/component/ai/universalai/v0/.compogen/bottom.mdx,
# "Example Recipes"), byte-for-byte: its setup names only the model, so the server's
# PIPELINE_UNIVERSAL_AI_API_KEY / _BASE_URL fill in the key and the server.
README_RECIPE = """version: v1beta
variable:
  prompt:
    title: Prompt
    description: "User input message to be sent to the AI model."
    type: string

output:
  ai-output:
    title: AI Output
    value: "${ai.output.data.choices[0]}"

component:
  ai:
    type: universal-ai
    input:
      parameter:
        n: 1
        stream: true
      data:
        messages:
          - content:
            - type: text
              text: ${variable.prompt}
            role: user
    setup:
      model: gpt-4
    task: TASK_CHAT
"""


async def test_readme_recipe_runs_on_the_platform_key(fake_openai):
    key = "sk-platform-universal"
    fake_openai.require_key(key)
    registry = default_registry()
    recipe = parse_recipe(README_RECIPE, registry=registry)
    events: list[Event] = []
    config = {
        "openai_backoff_seconds": 0.01,
        "platform_setups": {"universal-ai": PlatformSetup("universal-ai", key, fake_openai.base_url)},
    }
    result = await execute(
        recipe, recipe.bind_rows([{"prompt": "hi there"}]), registry=registry, config=config, on_event=events.append
    )
    assert result.rows[0].outputs == {
        "ai-output": {
            "finish-reason": "stop",
            "index": 0,
            "message": {"content": "You said: hi there", "role": "assistant"},
            "created": 0,
        }
    }
    assert fake_openai.requests[0].body["model"] == "gpt-4"
    assert len([e for e in events if isinstance(e, ComponentOutputUpdated)]) == len(tokens_of("You said: hi there")) + 1
    assert key not in str([e.payload() for e in events])


async def test_a_setup_naming_its_own_server_gets_no_platform_key(fake_openai):
    """The platform's key fills a setup that names neither api-key nor base-url; one that
    names its own base-url is left as it is, so the key never goes elsewhere."""
    registry = default_registry()
    text = README_RECIPE.replace(
        "      model: gpt-4\n", f"      model: gpt-4\n      base-url: {fake_openai.base_url}\n"
    )
    recipe = parse_recipe(text, registry=registry)
    config = {
        **FAST,
        "platform_setups": {"universal-ai": PlatformSetup("universal-ai", "sk-platform", "http://127.0.0.1:9/v1")},
    }
    result = await execute(recipe, recipe.bind_rows([{"prompt": "hi"}]), registry=registry, config=config)
    assert result.rows[0].outputs["ai-output"]["message"]["content"] == "You said: hi"
    assert "authorization" not in fake_openai.requests[0].headers
