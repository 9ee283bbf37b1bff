"""The groq component against a local server speaking GroqCloud's OpenAI-compatible
chat API (tests/fake_vendors.py: ``/openai/v1/chat/completions``, streamed, the usage
under ``x_groq``), and the example recipe of Instill's README."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.groq import COMPONENT
from pipelines.engine import ComponentOutputUpdated, Event, execute, parse_recipe
from pipelines.engine.components import ComponentError
from pipelines.engine.platform import PlatformSetup
from pipelines.engine.values import File
from tests.fake_openai import PNG, tokens_of
from tests.fake_vendors import fixtures, run_task, start_groq

TASK = "TASK_TEXT_GENERATION_CHAT"


_server, fake = fixtures(start_groq)


async def chat(fake, input: dict[str, Any], published: list | None = None, **setup: Any) -> dict[str, Any]:
    return await run_task(COMPONENT, fake, TASK, {"model": "llama-3.1-8b-instant", **input}, published, **setup)


async def test_streams_and_reads_the_usage_under_x_groq(fake):
    published: list[dict] = []
    out = await chat(fake, {"prompt": "hello there"}, published, **{"api-key": "gsk_test"})
    answer = "You said: hello there"
    tokens = tokens_of(answer)
    assert published == [{"text": "".join(tokens[: i + 1])} for i in range(len(tokens))]
    assert out == {"text": answer, "usage": {"input-tokens": 7, "output-tokens": len(tokens)}}
    [request] = fake.requests
    assert request.path == "/openai/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer gsk_test"
    assert request.body == {
        "model": "llama-3.1-8b-instant",
        "max_tokens": 50,
        "temperature": 0.7,
        "top_p": 0.5,
        "user": "instill-ai",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "hello there"},
        ],
        "stream": True,
    }


async def test_images_go_as_image_url_parts(fake):
    png_uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    history = [{"role": "user", "content": [{"type": "image_url", "image-url": {"url": "https://example.com/a.jpg"}}]}]
    await chat(fake, {"prompt": "What is it?", "prompt-images": [File(PNG)], "chat-history": history, "seed": 3})
    body = fake.requests[0].body
    assert body["seed"] == 3
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}}]},
        {
            "role": "user",
            "content": [{"type": "text", "text": "What is it?"}, {"type": "image_url", "image_url": {"url": png_uri}}],
        },
    ]


async def test_errors_retries_and_whole_answers(fake):
    fake.fail(503, "Service Unavailable")
    assert (await chat(fake, {"prompt": "again"}))["text"] == "You said: again"
    assert len(fake.requests) == 2
    fake.reset()
    fake.fail(404, "The model `nope` does not exist or you do not have access to it.")
    with pytest.raises(ComponentError, match="answered 404: The model `nope` does not exist"):
        await chat(fake, {"prompt": "x", "model": "nope"})
    fake.reset()
    fake.ignore_stream = True
    assert await chat(fake, {"prompt": "whole"}) == {
        "text": "You said: whole",
        "usage": {"input-tokens": 6, "output-tokens": 3},
    }
    with pytest.raises(ComponentError, match="prompt-images\\[0\\] must be an image"):
        await chat(fake, {"prompt": "x", "prompt-images": [File(b"%PDF-1.4")]})


# Instill's groq README (pipeline-backend pkg/component/ai/groq/v0/README.mdx,
# "Example Recipes"), byte for byte.
README_RECIPE = """\
version: v1beta
component:
  groq-0:
    type: groq
    task: TASK_TEXT_GENERATION_CHAT
    input:
      max-new-tokens: 300
      model: llama3-groq-70b-8192-tool-use-preview
      prompt: |-
        Rewrite this experience using the STAR (Situation, Task, Action, Result) method for a resume or CV:

        ${variable.experience}
      system-message: You are a helpful resume assistant.
      temperature: 0.05
      top-k: 10
      top-p: 0.5
      user: instill-ai
    setup:
      api-key: ${secret.INSTILL_SECRET}
variable:
  experience:
    title: experience
    description: describe your work experience
    type: string
    instill-ui-multiline: true
output:
  resume_format:
    title: resume_format
    value: ${groq-0.output.text}
"""


async def test_readme_recipe_runs_on_the_platform_key(fake):
    registry = default_registry()
    recipe = parse_recipe(README_RECIPE, registry=registry)
    events: list[Event] = []
    setups = {"groq": PlatformSetup("groq", "gsk_platform", fake.base_url)}
    result = await execute(
        recipe,
        recipe.bind_rows([{"experience": "Led the migration of 40 services to Kubernetes."}]),
        registry=registry,
        config={"openai_backoff_seconds": 0.01, "platform_setups": setups},
        on_event=events.append,
    )
    prompt = (
        "Rewrite this experience using the STAR (Situation, Task, Action, Result) method for a resume or CV:\n\n"
        "Led the migration of 40 services to Kubernetes."
    )
    assert result.rows[0].outputs == {"resume_format": f"You said: {prompt}"}
    [request] = fake.requests
    assert request.headers["authorization"] == "Bearer gsk_platform"
    assert request.body == {
        "model": "llama3-groq-70b-8192-tool-use-preview",
        "max_tokens": 300,
        "temperature": 0.05,
        "top_p": 0.5,
        "user": "instill-ai",
        "messages": [
            {"role": "system", "content": "You are a helpful resume assistant."},
            {"role": "user", "content": prompt},
        ],
        "stream": True,
    }
    assert (
        len([e for e in events if isinstance(e, ComponentOutputUpdated)]) == len(tokens_of(f"You said: {prompt}")) + 1
    )
