"""The ollama component against a real local server speaking Ollama's native API
(tests/components/fake_ollama.py): streamed NDJSON chat, embeddings, guarded pulls,
and the platform's PIPELINE_OLLAMA_BASE_URL."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.ollama import COMPONENT
from pipelines.engine import ComponentOutputUpdated, Event, RecipeInvalid, execute, parse_recipe
from pipelines.engine.components import ComponentError
from pipelines.engine.platform import PlatformSetup
from tests.components import fake_vendor
from tests.components.fake_ollama import answer_for, embedding_for, running, words_of

FAST = {"http_allowed_hosts": ["127.0.0.1"], "openai_backoff_seconds": 0.01}
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


vendor_server, fake = fake_vendor.fixtures(running)


async def run_task(
    fake, task: str, input: dict[str, Any], *, published: list | None = None, setup: dict | None = None, **config: Any
) -> dict[str, Any]:
    setup = {"endpoint": fake.base_url, **(setup or {})}
    return await fake_vendor.run_task(COMPONENT, task, input, setup, {**FAST, **config}, published)


async def chat(fake, input: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return await run_task(fake, "TASK_TEXT_GENERATION_CHAT", {"model": "llama3.2", **input}, **kwargs)


def test_definition_matches_instill():
    """Type, tasks and field names of Instill's ollama v0 (pkg/component/ai/ollama/v0/config)."""
    assert COMPONENT.type == "ollama"
    assert set(COMPONENT.tasks) == {"TASK_TEXT_GENERATION_CHAT", "TASK_TEXT_EMBEDDINGS"}
    chat_input = COMPONENT.tasks["TASK_TEXT_GENERATION_CHAT"].input_schema["properties"]
    assert set(chat_input) == {
        "chat-history",
        "max-new-tokens",
        "model",
        "prompt",
        "prompt-images",
        "seed",
        "system-message",
        "temperature",
        "top-k",
    }
    assert chat_input["temperature"]["default"] == 0.7 and chat_input["top-k"]["default"] == 10
    assert {"endpoint", "auto-pull"} <= set(COMPONENT.setup_schema["properties"])


async def test_chat_streams_ndjson_as_cumulative_text_and_reports_usage(fake):
    published: list[dict] = []
    out = await chat(fake, {"prompt": "hello there"}, published=published)
    words = words_of(answer_for("hello there"))
    assert published == [{"text": "".join(words[: i + 1])} for i in range(len(words))]
    # prompt_eval_count counts words of the messages (5 of the system message, 2 of the prompt)
    assert out == {
        "text": "You said: hello there",
        "usage": {"input-tokens": 7, "output-tokens": len(words)},
    }


async def test_chat_request_is_ollamas_native_body(fake):
    """Instill's fields become Ollama's: messages, options (temperature, top_k, seed,
    num_predict), images as bare base64; stream is on."""
    data_uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    await chat(
        fake,
        {
            "prompt": "What is in this picture?",
            "system-message": "Be brief.",
            "prompt-images": [data_uri],
            "seed": 42,
            "temperature": 0.2,
            "top-k": 5,
            "max-new-tokens": 100,
        },
    )
    [request] = fake.requests
    assert request.path == "/api/chat"
    assert request.body == {
        "model": "llama3.2",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is in this picture?", "images": [base64.b64encode(PNG).decode()]},
        ],
        "stream": True,
        "options": {"temperature": 0.2, "top_k": 5, "seed": 42, "num_predict": 100},
    }


async def test_chat_defaults_are_instills(fake):
    await chat(fake, {"prompt": "hi"})
    body = fake.requests[0].body
    assert body["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}
    assert body["options"] == {"temperature": 0.7, "top_k": 10}


async def test_chat_history_in_instills_multimodal_parts(fake):
    """Instill's parts ({type: text}, {type: image_url, image-url: {url}}) become Ollama's
    content and images; the system message is not sent with a history."""
    b64 = base64.b64encode(PNG).decode()
    history = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Look: "}, {"type": "image_url", "image-url": {"url": b64}}],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "A pixel."}]},
    ]
    out = await chat(fake, {"prompt": "And now?", "chat-history": history})
    assert fake.requests[0].body["messages"] == [
        {"role": "user", "content": "Look: ", "images": [b64]},
        {"role": "assistant", "content": "A pixel."},
        {"role": "user", "content": "And now?"},
    ]
    assert out["text"] == "You said: And now?"


async def test_embeddings_use_api_embed(fake):
    out = await run_task(fake, "TASK_TEXT_EMBEDDINGS", {"model": "nomic-embed-text", "text": "Why is the sky blue?"})
    assert out == {"embedding": embedding_for("Why is the sky blue?")}
    [request] = fake.requests
    assert request.path == "/api/embed"
    assert request.body == {"model": "nomic-embed-text", "input": "Why is the sky blue?"}


async def test_a_missing_model_is_not_pulled_unless_the_setup_asks(fake):
    with pytest.raises(ComponentError, match=r'model "moondream" not found.*auto-pull: true'):
        await chat(fake, {"model": "moondream", "prompt": "hi"})
    assert fake.paths() == ["/api/chat"]


async def test_auto_pull_pulls_the_model_then_answers(fake):
    out = await chat(fake, {"model": "moondream", "prompt": "hi"}, setup={"auto-pull": True})
    assert out["text"] == "You said: hi"
    assert fake.paths() == ["/api/chat", "/api/pull", "/api/chat"]
    assert fake.requests[1].body == {"model": "moondream", "stream": True}
    out = await run_task(fake, "TASK_TEXT_EMBEDDINGS", {"model": "all-minilm", "text": "x"}, setup={"auto-pull": True})
    assert out["embedding"] == embedding_for("x")


async def test_the_pull_endpoint_is_only_reachable_when_auto_pull_is_on(fake):
    """With only the model host allowed (host:port plus the component's own paths), the
    chat works and a pull is a refused path unless the setup asks for it."""
    port = fake.base_url.rsplit(":", 1)[1]
    config = {"http_allowed_hosts": [], "llm_allowed_hosts": [f"127.0.0.1:{port}"]}
    assert (await chat(fake, {"prompt": "hi"}, **config))["text"] == "You said: hi"
    with pytest.raises(ComponentError, match="auto-pull"):
        await chat(fake, {"model": "moondream", "prompt": "hi"}, **config)
    assert "/api/pull" not in fake.paths()
    with pytest.raises(ComponentError, match="PIPELINE_HTTP_ALLOWED_HOSTS"):
        await chat(fake, {"prompt": "hi"}, http_allowed_hosts=[])


async def test_429_and_5xx_are_retried_errors_are_reported(fake):
    fake.fail(503)
    fake.fail(429)
    assert (await chat(fake, {"prompt": "hi"}))["text"] == "You said: hi"
    assert fake.paths() == ["/api/chat"] * 3
    fake.fail(500, times=3)
    with pytest.raises(ComponentError, match=r"answered 500: fake failure 500 \(after 3 attempts\)"):
        await chat(fake, {"prompt": "hi"})
    fake.fail(400)
    with pytest.raises(ComponentError, match="answered 400: fake failure 400"):
        await chat(fake, {"prompt": "hi"})


async def test_an_error_line_in_the_stream_fails_the_task_after_the_published_text(fake):
    fake.stream_error = "an error was encountered while running the model"
    published: list[dict] = []
    with pytest.raises(ComponentError, match="an error was encountered while running the model"):
        await chat(fake, {"prompt": "one two three"}, published=published)
    assert published[-1] == {"text": "You said: "}
    assert len(fake.requests) == 1  # not retried


async def test_bad_inputs_are_clear_errors(fake):
    with pytest.raises(ComponentError, match=r"prompt-images: Ollama takes image data, not URLs"):
        await chat(fake, {"prompt": "x", "prompt-images": ["https://example.com/cat.png"]})
    with pytest.raises(ComponentError, match="prompt is required"):
        await chat(fake, {"prompt": ""})
    with pytest.raises(ComponentError, match=r"setup\.endpoint must not hold credentials"):
        await chat(fake, {"prompt": "x"}, setup={"endpoint": "http://user:pw@127.0.0.1:1"})


# --- through the engine ---------------------------------------------------------------------

# The setup and input shape of Instill's ollama README ("Setup": endpoint and auto-pull;
# TASK_TEXT_GENERATION_CHAT's input fields), pkg/component/ai/ollama/v0/README.mdx.
RECIPE = """
version: v1beta
variable:
  prompt:
    instill-format: string
    title: Prompt
component:
  ollama-0:
    type: ollama
    task: TASK_TEXT_GENERATION_CHAT
    input:
      model: llama3.2
      prompt: ${variable.prompt}
      system-message: You are a helpful assistant.
      temperature: 0.7
      top-k: 10
    setup:
      endpoint: __ENDPOINT__
      auto-pull: false
output:
  answer:
    title: Answer
    value: ${ollama-0.output.text}
"""

# The same recipe with no setup: the server's PIPELINE_OLLAMA_BASE_URL is used.
NO_SETUP = RECIPE.replace("    setup:\n      endpoint: __ENDPOINT__\n      auto-pull: false\n", "")


async def run_recipe(text: str, config: dict[str, Any]):
    registry = default_registry()
    recipe = parse_recipe(text, registry=registry)
    events: list[Event] = []
    result = await execute(
        recipe, recipe.bind_rows([{"prompt": "stream me"}]), registry=registry, config=config, on_event=events.append
    )
    return result, events


async def test_engine_streams_component_outputs(fake):
    result, events = await run_recipe(RECIPE.replace("__ENDPOINT__", fake.base_url), FAST)
    assert result.rows[0].outputs == {"answer": "You said: stream me"}
    texts = [e.payload()["output"]["text"] for e in events if isinstance(e, ComponentOutputUpdated)]
    words = words_of("You said: stream me")
    assert texts == ["".join(words[: i + 1]) for i in range(len(words))] + ["You said: stream me"]


async def test_no_setup_uses_the_platform_base_url_which_counts_as_allowed(fake):
    """PIPELINE_OLLAMA_BASE_URL: a recipe with no setup reaches that server, which the
    outbound guard then allows for ollama components (no allow list here)."""
    config = {"openai_backoff_seconds": 0.01, "platform_setups": {"ollama": PlatformSetup("ollama", "", fake.base_url)}}
    result, _ = await run_recipe(NO_SETUP, config)
    assert result.rows[0].outputs == {"answer": "You said: stream me"}
    assert fake.paths() == ["/api/chat"]


def test_a_bad_literal_endpoint_is_a_recipe_error(fake):
    with pytest.raises(RecipeInvalid) as info:
        parse_recipe(RECIPE.replace("__ENDPOINT__", "ftp://host"), registry=default_registry())
    assert any(p.location == "component.ollama-0.setup.endpoint" for p in info.value.problems)
