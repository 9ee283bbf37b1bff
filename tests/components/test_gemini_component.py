"""The gemini component against a real local server speaking the Gemini REST API
(tests/components/fake_gemini.py): generateContent, streamGenerateContent?alt=sse,
embedContent, and Instill's README example recipes through the engine."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.gemini import COMPONENT
from pipelines.engine import ComponentOutputUpdated, Event, execute, parse_recipe
from pipelines.engine.components import ComponentError
from pipelines.engine.platform import PlatformSetup
from pipelines.engine.values import File
from tests.components import fake_vendor
from tests.components.fake_gemini import KEY, PNG_B64, embedding_for, running, words_of

FAST = {"http_allowed_hosts": ["127.0.0.1"], "openai_backoff_seconds": 0.01}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


vendor_server, fake = fake_vendor.fixtures(running)


async def run_task(fake, task: str, input: dict[str, Any], *, published: list | None = None, **config: Any):
    setup = {"api-key": KEY, "base-url": fake.base_url}
    return await fake_vendor.run_task(COMPONENT, task, input, setup, {**FAST, **config}, published)


def test_definition_matches_instill():
    """Type, tasks and field names of Instill's gemini v0 (pkg/component/ai/gemini/v0/config;
    TASK_CACHE's in test_gemini_cache.py)."""
    assert COMPONENT.type == "gemini"
    assert set(COMPONENT.tasks) == {"TASK_CHAT", "TASK_CACHE", "TASK_TEXT_EMBEDDINGS"}
    chat = COMPONENT.tasks["TASK_CHAT"]
    assert {
        "model",
        "stream",
        "prompt",
        "images",
        "audio",
        "videos",
        "documents",
        "system-message",
        "chat-history",
        "max-output-tokens",
        "temperature",
        "top-k",
        "top-p",
        "seed",
        "contents",
        "tools",
        "tool-config",
        "safety-settings",
        "system-instruction",
        "generation-config",
        "cached-content",
    } == set(chat.input_schema["properties"])
    assert {"texts", "images", "usage", "candidates", "prompt-feedback", "model-version", "response-id"} <= set(
        chat.output_schema["properties"]
    )
    embed = COMPONENT.tasks["TASK_TEXT_EMBEDDINGS"].input_schema
    # task-type is required by Instill and filled with its default when left out (as the README recipe does)
    assert (
        embed["required"] == ["text", "model"] and embed["properties"]["task-type"]["default"] == "SEMANTIC_SIMILARITY"
    )


async def test_generate_content_request_and_output(fake):
    """Instill's simple fields become Gemini's body; the answer becomes Instill's outputs."""
    out = await run_task(
        fake,
        "TASK_CHAT",
        {
            "model": "gemini-2.5-flash",
            "prompt": "Describe this",
            "images": ["data:image/png;base64," + PNG_B64],
            "documents": [File(PDF, mime_type="application/pdf")],
            "system-message": "You are a helpful assistant.",
            "chat-history": [
                {"role": "user", "parts": [{"text": "Hi"}]},
                {"role": "model", "parts": [{"text": "Hello"}]},
            ],
            "temperature": 1,
            "top-p": 1,
            "max-output-tokens": 256,
            "generation-config": {"response-mime-type": "text/plain", "thinking-config": {"thinking-budget": 0}},
            "safety-settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        },
    )
    [request] = fake.requests
    assert request.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert request.headers["x-goog-api-key"] == KEY
    assert request.body == {
        "contents": [
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Hello"}]},
            {
                "role": "user",
                "parts": [
                    {"text": "Describe this"},
                    {"inlineData": {"mimeType": "image/png", "data": PNG_B64}},
                    {"inlineData": {"mimeType": "application/pdf", "data": base64.b64encode(PDF).decode()}},
                ],
            },
        ],
        "systemInstruction": {"parts": [{"text": "You are a helpful assistant."}]},
        "generationConfig": {
            "responseMimeType": "text/plain",
            "thinkingConfig": {"thinkingBudget": 0},
            "maxOutputTokens": 256,
            "temperature": 1,
            "topP": 1,
        },
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
    }
    assert out == {
        "texts": ["You said: Describe this"],
        "usage": {
            "prompt-token-count": 4,
            "candidates-token-count": 4,
            "total-token-count": 8,
            "prompt-tokens-details": [{"modality": "TEXT", "token-count": 4}],
        },
        "usage-metadata": out["usage"],
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "You said: Describe this"}]},
                "index": 0,
                "finish-reason": "STOP",
            }
        ],
        "model-version": "gemini-2.5-flash",
        "response-id": "mAitaLmkHPPlz7IPvtfUqQ4",
    }


async def test_stream_true_uses_sse_and_publishes_cumulative_texts(fake):
    published: list[dict] = []
    out = await run_task(
        fake, "TASK_CHAT", {"model": "gemini-2.5-pro", "prompt": "hello there", "stream": True}, published=published
    )
    assert fake.requests[0].path == "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    words = words_of("You said: hello there")
    assert published == [{"texts": ["".join(words[: i + 1])]} for i in range(len(words))]
    assert out["texts"] == ["You said: hello there"]
    assert out["candidates"][0]["content"]["parts"] == [{"text": "You said: hello there"}]
    assert out["candidates"][0]["finish-reason"] == "STOP"
    assert out["usage"]["total-token-count"] == 2 + len(words)


async def test_the_sse_path_passes_the_model_host_allow_list(fake):
    """An allowed model host admits the component's own paths, ?alt=sse included, and no other query."""
    port = fake.base_url.rsplit(":", 1)[1]
    config = {"http_allowed_hosts": [], "llm_allowed_hosts": [f"127.0.0.1:{port}"]}
    out = await run_task(fake, "TASK_CHAT", {"model": "m", "prompt": "hi", "stream": True}, **config)
    assert out["texts"] == ["You said: hi"]
    with pytest.raises(ComponentError, match="not a Gemini model name"):
        await run_task(fake, "TASK_CHAT", {"model": "m:embedContent?alt=sse#", "prompt": "hi"}, **config)


async def test_generated_images_become_files_and_leave_the_candidates(fake):
    fake.draw = True
    out = await run_task(fake, "TASK_CHAT", {"model": "gemini-2.5-flash-image", "prompt": "draw"})
    [image] = out["images"]
    assert isinstance(image, File) and image.mime_type == "image/png" and image.base64() == PNG_B64
    assert out["candidates"][0]["content"]["parts"][1] == {"inline-data": {"mime-type": "image/png"}}


async def test_embed_content(fake):
    out = await run_task(
        fake,
        "TASK_TEXT_EMBEDDINGS",
        {
            "model": "gemini-embedding-001",
            "text": "What is the meaning of life?",
            "task-type": "RETRIEVAL_DOCUMENT",
            "title": "Life",
            "output-dimensionality": 3,
        },
    )
    assert out == {"embedding": embedding_for("What is the meaning of life?")}
    [request] = fake.requests
    assert request.path == "/v1beta/models/gemini-embedding-001:embedContent"
    assert request.body == {
        "model": "models/gemini-embedding-001",
        "content": {"parts": [{"text": "What is the meaning of life?"}]},
        "taskType": "RETRIEVAL_DOCUMENT",
        "title": "Life",
        "outputDimensionality": 3,
    }


async def test_errors_carry_googles_message_and_5xx_is_retried(fake):
    with pytest.raises(ComponentError, match="answered 400: API key not valid"):
        await fake_vendor.run_task(
            COMPONENT,
            "TASK_CHAT",
            {"model": "m", "prompt": "x"},
            {"api-key": "bad", "base-url": fake.base_url},
            FAST,
            None,
        )
    fake.fail(503)
    out = await run_task(fake, "TASK_TEXT_EMBEDDINGS", {"model": "m", "text": "x", "task-type": "CLUSTERING"})
    assert out["embedding"] == embedding_for("x")
    with pytest.raises(ComponentError, match="prompt \\(or contents, or chat-history\\) is required"):
        await run_task(fake, "TASK_CHAT", {"model": "m"})
    with pytest.raises(ComponentError, match="must be image, got application/pdf"):
        await run_task(
            fake, "TASK_CHAT", {"model": "m", "prompt": "x", "images": [File(PDF, mime_type="application/pdf")]}
        )


# --- Instill's README example recipes (pkg/component/ai/gemini/v0/README.mdx, "Example Recipes") ---

# "Embed a text input", byte-for-byte: no setup, so the server's PIPELINE_GEMINI_API_KEY.
EMBED_RECIPE = """version: v1beta
component:
  gemini:
    type: gemini
    task: TASK_TEXT_EMBEDDINGS
    input:
      model: gemini-embedding-001
      text: ${variable.text}
variable:
  text:
    title: Text
    description: Text to embed
    type: string
output:
  embedding:
    title: Embedding result
    value: ${gemini.output.embedding}
"""

# "Chat with multimodality inputs", byte-for-byte but for its setup: the README says
# `setup: ${connection.gemini}`, a connection; here the platform's key by name.
CHAT_RECIPE = """version: v1beta
component:
  gemini:
    type: gemini
    task: TASK_CHAT
    input:
      model: gemini-2.5-pro
      stream: ${variable.stream}
      prompt: ${variable.prompt}
      images:
        - ${variable.image:base64}
      documents:
        - ${variable.document:base64}
      system-message: You are a helpful assistant.
      temperature: 1
      top-p: 1
    setup:
      api-key: ${secret.INSTILL_SECRET}
variable:
  prompt:
    title: Prompt
    description: Prompt to instruct the model
    type: string
  document:
    title: Document
    description: Document to convert to Markdown
    type: document
  image:
    title: image
    description: Image to take a look
    type: image
  stream:
    title: Enable Stream
    description: whether to enable streaming
    type: boolean
output:
  texts:
    title: texts[0]
    value: ${gemini.output.texts[0]}
  usage:
    title: usage
    value: ${gemini.output.usage}
  candidates:
    title: candidates
    value: ${gemini.output.candidates}
  usage-metadata:
    title: usage-metadata
    value: ${gemini.output.usage-metadata}
  prompt-feedback:
    title: prompt-feedback
    value: ${gemini.output.prompt-feedback}
  model-version:
    title: model-version
    value: ${gemini.output.model-version}
  response-id:
    title: response-id
    value: ${gemini.output.response-id}
"""


def platform(fake) -> dict[str, Any]:
    return {"openai_backoff_seconds": 0.01, "platform_setups": {"gemini": PlatformSetup("gemini", KEY, fake.base_url)}}


async def run_recipe(text: str, row: dict[str, Any], config: dict[str, Any]):
    registry = default_registry()
    recipe = parse_recipe(text, registry=registry)
    events: list[Event] = []
    result = await execute(recipe, recipe.bind_rows([row]), registry=registry, config=config, on_event=events.append)
    return result, events


async def test_readme_embed_recipe(fake):
    result, _ = await run_recipe(EMBED_RECIPE, {"text": "Hello world"}, platform(fake))
    assert result.rows[0].outputs == {"embedding": embedding_for("Hello world")}
    assert fake.requests[0].headers["x-goog-api-key"] == KEY
    assert fake.requests[0].body["taskType"] == "SEMANTIC_SIMILARITY"


@pytest.mark.parametrize("stream", [False, True])
async def test_readme_multimodal_chat_recipe(fake, stream):
    row = {
        "prompt": "What do you see?",
        "image": "data:image/png;base64," + PNG_B64,
        "document": "data:application/pdf;base64," + base64.b64encode(PDF).decode(),
        "stream": stream,
    }
    result, events = await run_recipe(CHAT_RECIPE, row, platform(fake))
    outputs = result.rows[0].outputs
    assert outputs["texts"] == "You said: What do you see?"
    assert outputs["model-version"] == "gemini-2.5-pro"
    assert outputs["usage"]["total-token-count"] == outputs["usage-metadata"]["total-token-count"] == 10
    parts = fake.requests[0].body["contents"][0]["parts"]
    assert [list(p) for p in parts] == [["text"], ["inlineData"], ["inlineData"]]
    assert parts[1]["inlineData"] == {"mimeType": "image/png", "data": PNG_B64}
    assert parts[2]["inlineData"]["mimeType"] == "application/pdf"
    streamed = [e for e in events if isinstance(e, ComponentOutputUpdated)]
    assert len(streamed) == (7 if stream else 1)  # one per word, then the final output
    assert KEY not in json.dumps([e.payload() for e in events])


def test_an_allowed_model_host_admits_only_the_query_a_path_spells():
    import httpx

    from pipelines.components import gemini
    from pipelines.components.outbound import OutboundPolicy

    policy = OutboundPolicy.from_hosts(["127.0.0.1:1"], gemini.PATHS)
    base = "http://127.0.0.1:1/v1beta/models/m"
    assert policy.path_problem(httpx.URL(f"{base}:streamGenerateContent?alt=sse")) is None
    assert policy.path_problem(httpx.URL(f"{base}:generateContent")) is None
    for url in (
        f"{base}:generateContent?alt=sse",
        f"{base}:streamGenerateContent?alt=json",
        f"{base}:streamGenerateContent",
        "http://127.0.0.1:1/api/pull?x=:streamGenerateContent?alt=sse",
        f"{base}:streamGenerateContent?alt=sse&x=1",
        f"{base}:streamGenerateContent?x=1&alt=sse",
    ):
        assert policy.path_problem(httpx.URL(url)) is not None, url
