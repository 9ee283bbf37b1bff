"""The anthropic component against a local server speaking Anthropic's Messages API
(tests/fake_vendors.py): the request we send, the streamed answer, usage, errors."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.anthropic import COMPONENT
from pipelines.engine import ComponentOutputUpdated, Event, execute, parse_recipe
from pipelines.engine.components import ComponentError, TaskContext
from pipelines.engine.platform import PlatformSetup
from pipelines.engine.values import File
from tests.fake_openai import tokens_of
from tests.fake_vendors import fixtures, run_task, start_anthropic

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


_server, fake = fixtures(start_anthropic)


async def chat(fake, input: dict[str, Any], *, published: list | None = None, **setup: Any) -> dict[str, Any]:
    task = "TASK_TEXT_GENERATION_CHAT"
    return await run_task(
        COMPONENT, fake, task, {"model-name": "claude-3-5-sonnet-latest", **input}, published, **setup
    )


async def test_streams_cumulative_text_and_reports_usage(fake):
    published: list[dict] = []
    out = await chat(fake, {"prompt": "hello there"}, published=published)
    answer = "You said: hello there"
    tokens = tokens_of(answer)
    assert published == [{"text": "".join(tokens[: i + 1])} for i in range(len(tokens))]
    # the fake counts words: 5 of the default system message, 2 of the prompt
    assert out == {"text": answer, "usage": {"input-tokens": 7, "output-tokens": len(tokens)}}


async def test_request_has_anthropics_headers_and_instills_defaults(fake):
    """x-api-key and anthropic-version headers; max_tokens 50, temperature 0.7,
    top_k 10 and the system message are Instill's defaults."""
    await chat(fake, {"prompt": "hi"}, **{"api-key": "sk-ant-test"})
    [request] = fake.requests
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == "sk-ant-test"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers
    assert request.body == {
        "model": "claude-3-5-sonnet-latest",
        "max_tokens": 50,
        "temperature": 0.7,
        "top_k": 10,
        "system": "You are a helpful assistant.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "stream": True,
    }


async def test_recipe_fields_and_images_become_message_blocks(fake):
    history = [
        {"role": "system", "content": [{"type": "text", "text": "You are a pirate."}]},
        {"role": "user", "content": [{"type": "text", "text": "Who are you?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Arr."}]},
        {
            "role": "user",
            "content": [{"type": "image_url", "image-url": {"url": "https://example.com/ship.jpg"}}],
        },
    ]
    data_uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    out = await chat(
        fake,
        {
            "prompt": "And this?",
            "system-message": "ignored with a history",
            "chat-history": history,
            "prompt-images": [data_uri, File(PNG, filename="dot.png")],
            "max-new-tokens": 1000,
            "temperature": 0.2,
            "top-k": 5,
            "seed": 7,
        },
    )
    body = fake.requests[0].body
    png_block = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(PNG).decode()},
    }
    assert body["system"] == "You are a pirate."
    assert (body["max_tokens"], body["temperature"], body["top_k"]) == (1000, 0.2, 5)
    assert "seed" not in body  # Anthropic takes none (Instill's note)
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Who are you?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Arr."}]},
        {
            "role": "user",
            "content": [{"type": "image", "source": {"type": "url", "url": "https://example.com/ship.jpg"}}],
        },
        {"role": "user", "content": [{"type": "text", "text": "And this?"}, png_block, png_block]},
    ]
    assert out["text"] == "You said: And this?"


async def test_unsupported_image_type_fails_before_any_request(fake):
    bmp = File(b"BM" + b"\0" * 60, mime_type="image/bmp")
    with pytest.raises(ComponentError, match="Anthropic takes JPEG, PNG, GIF or WebP images, got image/bmp"):
        await chat(fake, {"prompt": "x", "prompt-images": [bmp]})
    with pytest.raises(ComponentError, match="prompt is required"):
        await chat(fake, {"prompt": ""})
    assert fake.requests == []


async def test_a_whole_message_answer_is_read_too(fake):
    fake.ignore_stream = True
    out = await chat(fake, {"prompt": "not streamed"})
    assert out == {"text": "You said: not streamed", "usage": {"input-tokens": 7, "output-tokens": 4}}


async def test_errors_carry_anthropics_message_and_overload_is_retried(fake):
    fake.fail(529, "Overloaded")
    fake.fail(429, "Number of request tokens has exceeded your per-minute rate limit", retry_after="0")
    out = await chat(fake, {"prompt": "again"})
    assert out["text"] == "You said: again"
    assert len(fake.requests) == 3
    fake.reset()
    fake.fail(401, "invalid x-api-key")
    with pytest.raises(ComponentError, match="answered 401: invalid x-api-key"):
        await chat(fake, {"prompt": "x"})
    assert len(fake.requests) == 1


async def test_an_error_event_in_the_stream_fails_the_component(fake):
    fake.stream_error = {"type": "overloaded_error", "message": "Overloaded"}
    published: list[dict] = []
    with pytest.raises(ComponentError, match="reported an error while streaming: Overloaded"):
        await chat(fake, {"prompt": "break off"}, published=published)
    assert published == [{"text": "You "}]
    assert len(fake.requests) == 1  # text was published: not retried


async def test_loopback_is_refused_unless_allowed(fake):
    ctx = TaskContext(component_id="c", task="TASK_TEXT_GENERATION_CHAT", setup={"base-url": fake.base_url}, config={})
    with pytest.raises(ComponentError, match="PIPELINE_HTTP_ALLOWED_HOSTS"):
        await COMPONENT.tasks["TASK_TEXT_GENERATION_CHAT"].run({"model-name": "m", "prompt": "x"}, ctx)
    assert fake.requests == []


# Instill's anthropic README (pipeline-backend pkg/component/ai/anthropic/v0/README.mdx,
# "Example Recipes"), byte for byte.
README_RECIPE = """\
version: v1beta
component:
  anthropic-0:
    type: anthropic
    task: TASK_TEXT_GENERATION_CHAT
    input:
      max-new-tokens: 1000
      model-name: claude-3-5-sonnet-latest
      prompt: Summarise and pick the most important issues from this list ${github.output.issues}
      system-message: You are a helpful assistant.
      temperature: 0.7
      top-k: 10
  github:
    type: github
    task: TASK_LIST_ISSUES
    input:
      direction: desc
      no-pull-request: false
      owner: ${variable.repository-owner}
      page: 1
      per-page: 30
      repository: ${variable.repository-name}
      since: "2021-01-01T00:00:00Z"
      sort: created
      state: open
    setup:
      token: ${secret.github-demo}
variable:
  repository-name:
    title: Repository Name
    description: Name of the repository i.e. instill-core
    type: string
  repository-owner:
    title: Repository Owner
    description: Name of the repository owner i.e. instill-ai
    type: string
output:
  result:
    title: Result
    value: ${anthropic-0.output.text}
"""


def test_readme_recipe_validates_whole():
    """Its github component is the github component's (tests/components/test_github_component.py
    runs that part against a local GitHub API)."""
    recipe = parse_recipe(README_RECIPE, registry=default_registry())
    assert {c.type for c in recipe.graph.components.values()} == {"anthropic", "github"}


async def test_readme_recipe_anthropic_part_runs_on_the_platform_key_and_streams(fake):
    """The README recipe with the github component's issues given as a variable
    instead (the only change): no setup, so the platform key and base URL are used."""
    recipe_text = README_RECIPE.replace("${github.output.issues}", "${variable.issues}")
    head, _, rest = recipe_text.partition("  github:\n")
    recipe_text = head + rest[rest.index("variable:\n") :].replace(
        "variable:\n", "variable:\n  issues:\n    type: string\n", 1
    )
    registry = default_registry()
    recipe = parse_recipe(recipe_text, registry=registry)
    events: list[Event] = []
    setups = {"anthropic": PlatformSetup("anthropic", "sk-ant-platform", fake.base_url)}
    result = await execute(
        recipe,
        recipe.bind_rows([{"issues": "#1 crash, #2 typo", "repository-name": "x", "repository-owner": "y"}]),
        registry=registry,
        config={"openai_backoff_seconds": 0.01, "platform_setups": setups},
        on_event=events.append,
    )
    prompt = "Summarise and pick the most important issues from this list #1 crash, #2 typo"
    assert result.rows[0].outputs == {"result": f"You said: {prompt}"}
    [request] = fake.requests
    assert request.headers["x-api-key"] == "sk-ant-platform"
    assert (request.body["max_tokens"], request.body["temperature"], request.body["top_k"]) == (1000, 0.7, 10)
    updates = [e.payload()["output"]["text"] for e in events if isinstance(e, ComponentOutputUpdated)]
    assert len(updates) == len(tokens_of(f"You said: {prompt}")) + 1
    assert "sk-ant-platform" not in json.dumps([e.payload() for e in events], default=str)
