"""The openai component against a real local OpenAI-compatible server (tests/fake_openai.py)."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import pytest

from pipelines.components import default_registry, openai
from pipelines.components.openai import COMPONENT
from pipelines.engine import ComponentOutputUpdated, Event, PipelineOutputUpdated, RecipeInvalid, execute, parse_recipe
from pipelines.engine.components import ComponentError, TaskContext
from pipelines.engine.values import File
from tests.fake_openai import answer_for, expected_embedding, tokens_of

# Loopback is refused by default; these tests allow the fake's host, and retry fast.
FAST = {"http_allowed_hosts": ["127.0.0.1"], "openai_backoff_seconds": 0.01}
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def setup(fake, **extra: Any) -> dict[str, Any]:
    return {"base-url": fake.base_url, **extra}


async def generate(
    fake, input: dict[str, Any], *, published: list | None = None, setup_extra: dict | None = None, **config: Any
):
    """Run TASK_TEXT_GENERATION as the engine would, collecting what it publishes."""

    async def emit(output: dict[str, Any]) -> None:
        if published is not None:
            published.append(json.loads(json.dumps(output)))

    ctx = TaskContext(
        component_id="llm",
        task="TASK_TEXT_GENERATION",
        setup=setup(fake, **(setup_extra or {})),
        config={**FAST, **config},
        emit_output=emit,
    )
    return await COMPONENT.tasks["TASK_TEXT_GENERATION"].run({"model": "fake-model", **input}, ctx)


async def test_text_generation_streams_cumulative_texts_and_reports_usage(fake_openai):
    """Each streamed chunk publishes the cumulative texts; the output adds the usage."""
    published: list[dict] = []
    out = await generate(fake_openai, {"prompt": "hello there"}, published=published)
    answer = "You said: hello there"
    tokens = tokens_of(answer)
    assert [p["texts"][0] for p in published] == ["".join(tokens[: i + 1]) for i in range(len(tokens))]
    assert all(set(p) == {"texts"} for p in published)
    assert out == {
        "texts": [answer],
        # the fake counts words: 5 of the default system message, 2 of the prompt
        "usage": {"prompt-tokens": 7, "completion-tokens": len(tokens), "total-tokens": 7 + len(tokens)},
    }


async def test_text_generation_request_carries_instill_fields_as_openai_fields(fake_openai):
    """Model, messages and every option are sent under OpenAI's names, with the key from setup."""
    await generate(
        fake_openai,
        {
            "prompt": "hi",
            "system-message": "Be brief.",
            "temperature": 0.2,
            "top-p": 0.9,
            "max-tokens": 50,
            "n": 1,
            "stop": "\n\n",
            "presence-penalty": 0.5,
            "frequency-penalty": -0.5,
            "response-format": {"type": "json_object"},
        },
        setup_extra={"api-key": "sk-test", "organization": "org-1"},
    )
    [request] = fake_openai.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.headers["openai-organization"] == "org-1"
    assert request.body == {
        "model": "fake-model",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 50,
        "n": 1,
        "stop": "\n\n",
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
        "response_format": {"type": "json_object"},
    }


async def test_default_system_message_and_no_key(fake_openai):
    """Without system-message Instill's default is sent; without api-key no Authorization header."""
    await generate(fake_openai, {"prompt": "hi"})
    [request] = fake_openai.requests
    assert request.body["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}
    assert "authorization" not in request.headers


async def test_chat_history_replaces_the_system_message(fake_openai):
    """Chat history is sent before the prompt (Instill's content parts kept); system-message is not sent."""
    history = [
        {"role": "system", "content": [{"type": "text", "text": "You are a pirate."}]},
        {"role": "user", "content": "Who are you?"},
        {"role": "assistant", "content": [{"type": "text", "text": "Arr."}]},
    ]
    out = await generate(fake_openai, {"prompt": "And now?", "system-message": "ignored", "chat-history": history})
    assert fake_openai.requests[0].body["messages"] == [
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": "Who are you?"},
        {"role": "assistant", "content": "Arr."},
        {"role": "user", "content": "And now?"},
    ]
    assert out["texts"] == ["You said: And now?"]


async def test_images_are_sent_as_data_uris(fake_openai):
    """Image files, data URIs, raw base64 and URLs become image_url parts of the user message."""
    as_file = File(PNG, filename="dot.png")
    data_uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    images = [as_file, data_uri, base64.b64encode(PNG).decode(), "https://example.com/cat.jpg"]
    await generate(fake_openai, {"prompt": "What is this?", "images": images})
    content = fake_openai.requests[0].body["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "What is this?"}
    assert [part["image_url"]["url"] for part in content[1:]] == [
        data_uri,
        data_uri,
        data_uri,
        "https://example.com/cat.jpg",
    ]


async def test_an_image_that_is_not_an_image_fails(fake_openai):
    with pytest.raises(ComponentError, match=r"images\[0\] must be an image, got application/pdf"):
        await generate(fake_openai, {"prompt": "x", "images": [File(b"%PDF-1.4 nope")]})
    assert fake_openai.requests == []


async def test_several_choices_stream_into_several_texts(fake_openai):
    """n: 2 gives two texts, each built from its own choice index."""
    published: list[dict] = []
    out = await generate(fake_openai, {"prompt": "two", "n": 2}, published=published)
    assert out["texts"] == ["You said: two", "[1] You said: two"]
    assert published[-1]["texts"] == out["texts"]


async def test_json_schema_response_format_is_parsed_and_wrapped(fake_openai):
    """response-format json_schema takes Instill's JSON text; a bare schema is wrapped with a name."""
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    await generate(
        fake_openai, {"prompt": "x", "response-format": {"type": "json_schema", "json-schema": json.dumps(schema)}}
    )
    assert fake_openai.requests[0].body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema},
    }
    with pytest.raises(ComponentError, match="not valid JSON"):
        await generate(fake_openai, {"prompt": "x", "response-format": {"type": "json_schema", "json-schema": "{nope"}})


async def test_a_server_that_does_not_stream_still_answers(fake_openai):
    """When the server ignores stream and answers one JSON completion, texts and usage come from it."""
    fake_openai.ignore_stream = True
    out = await generate(fake_openai, {"prompt": "plain"})
    assert out["texts"] == ["You said: plain"] and out["usage"]["total-tokens"] == 6 + 3


async def test_usage_is_left_out_when_the_server_gives_none(fake_openai):
    fake_openai.send_usage = False
    out = await generate(fake_openai, {"prompt": "hi"})
    assert out == {"texts": ["You said: hi"]}


async def test_missing_prompt_fails_without_a_request(fake_openai):
    with pytest.raises(ComponentError, match="prompt is required"):
        await generate(fake_openai, {"prompt": None})
    assert fake_openai.requests == []


# --- embeddings -------------------------------------------------------------------------


async def test_text_embeddings(run, fake_openai):
    """TASK_TEXT_EMBEDDINGS sends model, input and dimensions and returns the embedding."""
    out = await run(
        COMPONENT,
        "TASK_TEXT_EMBEDDINGS",
        {"model": "text-embedding-3-small", "text": "hello", "dimensions": 4},
        setup=setup(fake_openai, **{"api-key": "sk-e"}),
        **FAST,
    )
    assert out == {"embedding": expected_embedding("hello", 4)}
    [request] = fake_openai.requests
    assert request.path == "/v1/embeddings" and request.headers["authorization"] == "Bearer sk-e"
    assert request.body == {"model": "text-embedding-3-small", "input": "hello", "dimensions": 4}


async def test_embeddings_errors_are_component_errors(run, fake_openai):
    fake_openai.fail(400, message="Invalid model nope.")
    with pytest.raises(ComponentError, match=re.escape("answered 400: Invalid model nope.")):
        await run(COMPONENT, "TASK_TEXT_EMBEDDINGS", {"model": "nope", "text": "x"}, setup=setup(fake_openai), **FAST)


# --- errors and retries -------------------------------------------------------------------


async def test_401_is_an_error_with_the_providers_message_and_no_retry(fake_openai):
    """An authentication failure names the status and the provider's message, after one attempt."""
    fake_openai.require_key("sk-right")
    with pytest.raises(ComponentError) as info:
        await generate(fake_openai, {"prompt": "x"}, setup_extra={"api-key": "sk-wrong"})
    assert "answered 401: Incorrect API key provided." in str(info.value)
    assert len(fake_openai.requests) == 1


async def test_429_and_5xx_are_retried_then_succeed(fake_openai):
    """Two transient failures, then the answer: three attempts, one result."""
    fake_openai.fail(429)
    fake_openai.fail(503, message="Overloaded.")
    out = await generate(fake_openai, {"prompt": "again"})
    assert out["texts"] == ["You said: again"]
    assert len(fake_openai.requests) == 3


async def test_retries_are_bounded(fake_openai):
    """A server that keeps failing gets three attempts, then its message is the error."""
    fake_openai.fail(500, times=5)
    with pytest.raises(ComponentError, match=r"answered 500: The server had an error\. \(after 3 attempts\)"):
        await generate(fake_openai, {"prompt": "x"})
    assert len(fake_openai.requests) == 3


async def test_retry_after_is_honoured(fake_openai):
    """A 429 with Retry-After: 1 waits about a second before the next attempt."""
    fake_openai.fail(429, Retry_After="1")
    started = time.monotonic()
    await generate(fake_openai, {"prompt": "x"})
    assert time.monotonic() - started >= 0.9
    assert len(fake_openai.requests) == 2


def test_retry_delay_caps_retry_after_and_backs_off_exponentially():
    assert openai.retry_delay(1, 3600, 0.5) == openai.MAX_RETRY_AFTER
    assert openai.retry_delay(1, 2.5, 0.5) == 2.5
    assert 0.25 <= openai.retry_delay(1, None, 0.5) <= 0.5
    assert 1.0 <= openai.retry_delay(3, None, 0.5) <= 2.0


async def test_timeouts_are_retried_then_reported(fake_openai):
    """A server slower than http_timeout: three attempts, then a timeout error. (Far
    slower: on a busy machine an event loop stalled past a short delay finds the answer
    already there, and no read ever times out.)"""
    fake_openai.delay = 3.0
    with pytest.raises(ComponentError, match=r"timed out after 0.2 s \(after 3 attempts\)"):
        await generate(fake_openai, {"prompt": "x"}, http_timeout=0.2)
    assert len(fake_openai.requests) == 3


async def test_a_stream_that_stalls_after_text_is_not_retried(fake_openai):
    """Once text has been published, a broken stream fails without repeating the request."""
    fake_openai.stall_after = 3  # the role chunk and two words
    published: list[dict] = []
    with pytest.raises(ComponentError, match="broke off after it had started"):
        await generate(fake_openai, {"prompt": "one two three"}, published=published, http_timeout=0.3)
    assert [p["texts"][0] for p in published] == ["You ", "You said: "]
    assert len(fake_openai.requests) == 1


async def test_unreachable_server_is_retried_then_reported(fake_openai):
    """Nothing listening: connect errors are retried, then reported."""
    closed = "http://127.0.0.1:9/v1"  # discard port: nothing listens there
    ctx = TaskContext(component_id="llm", task="TASK_TEXT_GENERATION", setup={"base-url": closed}, config=FAST)
    with pytest.raises(ComponentError, match=r"failed: .*\(after 3 attempts\)"):
        await COMPONENT.tasks["TASK_TEXT_GENERATION"].run({"model": "m", "prompt": "x"}, ctx)


async def test_local_base_url_is_refused_unless_allowed(fake_openai):
    """The outbound guard applies: loopback needs PIPELINE_HTTP_ALLOWED_HOSTS (host or host:port)."""
    with pytest.raises(ComponentError, match="PIPELINE_HTTP_ALLOWED_HOSTS"):
        await generate(fake_openai, {"prompt": "x"}, http_allowed_hosts=[])
    port = fake_openai.base_url.split(":")[2].split("/")[0]
    with pytest.raises(ComponentError, match="refused"):
        await generate(fake_openai, {"prompt": "x"}, http_allowed_hosts=["127.0.0.1:1"])
    out = await generate(fake_openai, {"prompt": "x"}, http_allowed_hosts=[f"127.0.0.1:{port}"])
    assert out["texts"] == ["You said: x"]
    assert len(fake_openai.requests) == 1


# --- through the engine ---------------------------------------------------------------------


def recipe(fake) -> dict[str, Any]:
    return {
        "variable": {"prompt": {"type": "string"}},
        "component": {
            "llm": {
                "type": "openai",
                "task": "TASK_TEXT_GENERATION",
                "input": {"model": "fake-model", "prompt": "${variable.prompt}"},
                "setup": {"api-key": "${secret.openai-key}", "base-url": fake.base_url},
            }
        },
        "output": {"answer": {"value": "${llm.output.texts[0]}"}, "usage": {"value": "${llm.output.usage}"}},
    }


async def test_engine_streams_each_chunk_as_component_then_pipeline_output(fake_openai):
    """Every chunk is a COMPONENT_OUTPUT_UPDATED with the cumulative texts, followed by a
    re-rendered PIPELINE_OUTPUT_UPDATED; the final output carries the usage."""
    registry = default_registry()
    parsed = parse_recipe(recipe(fake_openai), registry=registry)
    events: list[Event] = []
    result = await execute(
        parsed,
        parsed.bind_rows([{"prompt": "stream me please"}]),
        registry=registry,
        secrets={"openai-key": "sk-from-secret"},
        on_event=events.append,
        config=FAST,
    )
    answer = answer_for({"messages": [{"role": "user", "content": "stream me please"}]})
    tokens = tokens_of(answer)
    outputs = [i for i, e in enumerate(events) if isinstance(e, ComponentOutputUpdated)]
    assert len(outputs) == len(tokens) + 1  # one per chunk, then the final output
    for i in outputs:
        follower = events[i + 1]
        assert isinstance(follower, PipelineOutputUpdated)
        assert follower.payload()["output"]["answer"] == events[i].payload()["output"]["texts"][0]
    texts = [events[i].payload()["output"]["texts"][0] for i in outputs]
    assert texts == ["".join(tokens[: n + 1]) for n in range(len(tokens))] + [answer]
    assert "usage" not in events[outputs[0]].payload()["output"]
    assert events[outputs[-1]].payload()["output"]["usage"]["total-tokens"] > 0
    assert result.rows[0].outputs["answer"] == answer
    assert result.rows[0].outputs["usage"]["completion-tokens"] == len(tokens)
    assert fake_openai.requests[0].headers["authorization"] == "Bearer sk-from-secret"


def test_api_key_must_be_a_secret_reference(fake_openai):
    """A plaintext api-key is a recipe error, as for every credential field."""
    raw = recipe(fake_openai)
    raw["component"]["llm"]["setup"]["api-key"] = "sk-plaintext"
    with pytest.raises(RecipeInvalid) as info:
        parse_recipe(raw, registry=default_registry())
    assert any(p.location == "component.llm.setup.api-key" for p in info.value.problems)


def test_recipe_without_model_is_invalid():
    raw = {"component": {"llm": {"type": "openai", "task": "TASK_TEXT_GENERATION", "input": {"prompt": "x"}}}}
    with pytest.raises(RecipeInvalid, match="model"):
        parse_recipe(raw, registry=default_registry())
