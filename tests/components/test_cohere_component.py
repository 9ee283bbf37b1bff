"""The cohere component against a real local server speaking Cohere's v2 API
(tests/components/fake_cohere.py): streamed chat with citations, embed, rerank, and
the platform key PIPELINE_COHERE_API_KEY / _BASE_URL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.cohere import COMPONENT
from pipelines.engine import ComponentOutputUpdated, Event, RecipeInvalid, execute, parse_recipe
from pipelines.engine.components import ComponentError
from pipelines.engine.platform import PlatformSetup
from tests.components import fake_vendor
from tests.components.fake_cohere import KEY, relevance, running, words_of

FAST = {"http_allowed_hosts": ["127.0.0.1"], "openai_backoff_seconds": 0.01}


vendor_server, fake = fake_vendor.fixtures(running)


async def run_task(fake, task: str, input: dict[str, Any], *, published: list | None = None, **setup: Any):
    setup = {"api-key": KEY, "base-url": fake.base_url, **setup}
    return await fake_vendor.run_task(COMPONENT, task, input, setup, FAST, published)


def test_definition_matches_instill():
    """Type, tasks and field names of Instill's cohere v0 (pkg/component/ai/cohere/v0/config)."""
    assert COMPONENT.type == "cohere"
    assert set(COMPONENT.tasks) == {"TASK_TEXT_GENERATION_CHAT", "TASK_TEXT_EMBEDDINGS", "TASK_TEXT_RERANKING"}
    chat = COMPONENT.tasks["TASK_TEXT_GENERATION_CHAT"]
    assert set(chat.input_schema["properties"]) == {
        "chat-history",
        "max-new-tokens",
        "model-name",
        "prompt",
        "prompt-images",
        "seed",
        "system-message",
        "temperature",
        "top-k",
        "documents",
    }
    assert set(chat.output_schema["properties"]) == {"text", "citations", "usage"}
    embed = COMPONENT.tasks["TASK_TEXT_EMBEDDINGS"].input_schema
    assert embed["required"] == ["text", "model-name", "input-type", "embedding-type"]
    rerank = COMPONENT.tasks["TASK_TEXT_RERANKING"]
    assert set(rerank.output_schema["properties"]) == {"ranking", "indexes", "relevance", "usage"}
    assert COMPONENT.credential_fields == {"api-key"}


async def test_chat_streams_content_deltas_and_reports_billed_usage(fake):
    published: list[dict] = []
    out = await run_task(
        fake,
        "TASK_TEXT_GENERATION_CHAT",
        {"model-name": "command-r-plus", "prompt": "hello there"},
        published=published,
    )
    words = words_of("You said: hello there")
    assert published == [{"text": "".join(words[: i + 1])} for i in range(len(words))]
    # billed input tokens: the fake counts words (5 of the system message, 2 of the prompt)
    assert out == {
        "text": "You said: hello there",
        "citations": [],
        "usage": {"input-tokens": 7, "output-tokens": len(words)},
    }


async def test_chat_request_is_cohere_v2_with_instills_defaults(fake):
    """System message, Instill's USER/CHATBOT history (v2 roles), the prompt; Instill's
    defaults max_tokens 50, temperature 0.7, k 10, seed 42; the key as a bearer token."""
    history = [
        {"role": "USER", "content": [{"type": "text", "text": "Hi"}]},
        {
            "role": "CHATBOT",
            "content": [{"type": "text", "text": "Hello!"}, {"type": "image_url", "image-url": {"url": "x"}}],
        },
    ]
    await run_task(
        fake, "TASK_TEXT_GENERATION_CHAT", {"model-name": "command-r", "prompt": "Bye", "chat-history": history}
    )
    [request] = fake.requests
    assert request.path == "/v2/chat"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["accept"] == "text/event-stream"
    assert request.body == {
        "model": "command-r",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Bye"},
        ],
        "stream": True,
        "max_tokens": 50,
        "temperature": 0.7,
        "k": 10,
        "seed": 42,
    }


async def test_chat_with_documents_gives_citations(fake):
    input = {
        "model-name": "command-r-plus",
        "prompt": "tall penguins",
        "system-message": "Answer from the documents.",
        "documents": ["Emperor penguins are the tallest."],
        "max-new-tokens": 200,
        "temperature": 0.3,
        "top-k": 5,
        "seed": 7,
    }
    out = await run_task(fake, "TASK_TEXT_GENERATION_CHAT", input)
    body = fake.requests[0].body
    assert body["documents"] == ["Emperor penguins are the tallest."]
    assert (body["max_tokens"], body["temperature"], body["k"], body["seed"]) == (200, 0.3, 5, 7)
    assert out["citations"] == [{"start": 10, "end": 23, "text": "tall penguins"}]


async def test_embeddings_v2_by_type_with_billed_tokens(fake):
    input = {
        "model-name": "embed-multilingual-v3.0",
        "text": "hello world",
        "input-type": "search_document",
        "embedding-type": "float",
    }
    out = await run_task(fake, "TASK_TEXT_EMBEDDINGS", input)
    assert out == {"embedding": [0.11, 0.5, -0.25], "usage": {"tokens": 2}}
    assert fake.requests[0].path == "/v2/embed"
    assert fake.requests[0].body == {
        "model": "embed-multilingual-v3.0",
        "texts": ["hello world"],
        "input_type": "search_document",
        "embedding_types": ["float"],
    }
    out = await run_task(fake, "TASK_TEXT_EMBEDDINGS", {**input, "embedding-type": "int8"})
    assert out["embedding"] == [12, -7, 3]
    with pytest.raises(ComponentError, match="embedding-type must be one of float, int8"):
        await run_task(fake, "TASK_TEXT_EMBEDDINGS", {**input, "embedding-type": "double"})


async def test_rerank_orders_the_documents_by_relevance(fake):
    documents = [
        "Carson City is the capital of Nevada.",
        "Washington, D.C. is the capital of the United States.",
        "Paris",
    ]
    query = "What is the capital of the United States?"
    out = await run_task(
        fake, "TASK_TEXT_RERANKING", {"model-name": "rerank-multilingual-v3.0", "query": query, "documents": documents}
    )
    scores = [relevance(query, d) for d in documents]
    order = sorted(range(3), key=lambda i: -scores[i])
    assert out == {
        "ranking": [documents[i] for i in order],
        "indexes": order,
        "relevance": [scores[i] for i in order],
        "usage": {"search-counts": 1},
    }
    assert fake.requests[0].path == "/v2/rerank"
    assert fake.requests[0].body == {"model": "rerank-multilingual-v3.0", "query": query, "documents": documents}
    out = await run_task(
        fake,
        "TASK_TEXT_RERANKING",
        {"model-name": "rerank-v3.5", "query": query, "documents": documents, "top-n": 1, "max-chunks-per-doc": 10},
    )
    assert out["indexes"] == order[:1]
    assert fake.requests[1].body["top_n"] == 1 and "max_chunks_per_doc" not in fake.requests[1].body


async def test_errors_carry_coheres_message_and_5xx_is_retried(fake):
    with pytest.raises(ComponentError, match="answered 401: invalid api token"):
        await run_task(fake, "TASK_TEXT_GENERATION_CHAT", {"model-name": "m", "prompt": "x"}, **{"api-key": "wrong"})
    fake.fail(429)
    fake.fail(500)
    out = await run_task(fake, "TASK_TEXT_RERANKING", {"model-name": "m", "query": "a", "documents": ["a"]})
    assert out["indexes"] == [0]
    assert len(fake.requests) == 4


# --- through the engine ---------------------------------------------------------------------

# The setup and input shape of Instill's cohere README ("Setup": api-key; the chat
# task's input), pkg/component/ai/cohere/v0/README.mdx, with the platform's key.
RECIPE = """
version: v1beta
variable:
  prompt:
    instill-format: string
component:
  cohere-0:
    type: cohere
    task: TASK_TEXT_GENERATION_CHAT
    input:
      model-name: command-r-plus
      prompt: ${variable.prompt}
    setup:
      api-key: ${secret.INSTILL_SECRET}
output:
  answer:
    value: ${cohere-0.output.text}
  usage:
    value: ${cohere-0.output.usage}
"""


async def test_the_platform_key_reaches_cohere_and_the_answer_streams(fake):
    registry = default_registry()
    recipe = parse_recipe(RECIPE, registry=registry)
    events: list[Event] = []
    config = {
        "openai_backoff_seconds": 0.01,
        "platform_setups": {"cohere": PlatformSetup("cohere", KEY, fake.base_url)},
    }
    result = await execute(
        recipe, recipe.bind_rows([{"prompt": "stream me"}]), registry=registry, config=config, on_event=events.append
    )
    assert result.rows[0].outputs == {"answer": "You said: stream me", "usage": {"input-tokens": 7, "output-tokens": 4}}
    streamed = [e.payload()["output"]["text"] for e in events if isinstance(e, ComponentOutputUpdated)]
    assert streamed[:3] == ["You ", "You said: ", "You said: stream "]
    assert KEY not in json.dumps([e.payload() for e in events])


def test_a_plaintext_key_is_a_recipe_error():
    with pytest.raises(RecipeInvalid) as info:
        parse_recipe(RECIPE.replace("${secret.INSTILL_SECRET}", "plaintext"), registry=default_registry())
    assert any(p.location == "component.cohere-0.setup.api-key" for p in info.value.problems)
