"""The gemini component's TASK_CACHE (Gemini's cached contents: create, list, get,
update, delete) against the local Gemini server (tests/components/fake_gemini.py), and
TASK_CHAT reading a cache through ``cached-content``."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.gemini import COMPONENT
from pipelines.engine import execute, parse_recipe
from pipelines.engine.components import ComponentError
from pipelines.engine.platform import PlatformSetup
from pipelines.engine.values import File
from tests.components import fake_vendor
from tests.components.fake_gemini import KEY, running

FAST = {"http_allowed_hosts": ["127.0.0.1"], "openai_backoff_seconds": 0.01}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BOOK = "It was the best of times, it was the worst of times."

vendor_server, fake = fake_vendor.fixtures(running)


async def cache(fake, input: dict[str, Any], **config: Any) -> dict[str, Any]:
    setup = {"api-key": KEY, "base-url": fake.base_url}
    return await fake_vendor.run_task(COMPONENT, "TASK_CACHE", input, setup, {**FAST, **config}, None)


async def chat(fake, input: dict[str, Any]) -> dict[str, Any]:
    setup = {"api-key": KEY, "base-url": fake.base_url}
    return await fake_vendor.run_task(COMPONENT, "TASK_CHAT", input, setup, FAST, None)


def test_cache_definition_matches_instill():
    """TASK_CACHE's input and output field names are Instill's (gemini v0 config/tasks.yaml)."""
    task = COMPONENT.tasks["TASK_CACHE"]
    names = """operation model cache-name prompt images audio videos documents system-message display-name
        system-instruction contents tools tool-config ttl expire-time page-size page-token"""
    assert set(task.input_schema["properties"]) == set(names.split())
    assert task.input_schema["properties"]["operation"]["enum"] == ["create", "list", "get", "update", "delete"]
    assert set(task.output_schema["properties"]) == {
        "operation",
        "cached-content",
        "cached-contents",
        "next-page-token",
    }


async def test_create_get_update_use_and_delete_a_cache(fake):
    created = await cache(
        fake,
        {
            "operation": "create",
            "model": "gemini-2.5-flash",
            "prompt": BOOK,
            "documents": [File(PDF, mime_type="application/pdf")],
            "system-message": "Answer from the book only.",
            "display-name": "dickens",
            "ttl": "600s",
            "tools": [{"function-declarations": [{"name": "lookup", "parameters": {"type": "object"}}]}],
        },
    )
    [request] = fake.requests
    assert request.path == "/v1beta/cachedContents" and request.headers["x-goog-api-key"] == KEY
    assert request.body == {
        "model": "models/gemini-2.5-flash",
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": BOOK},
                    {"inlineData": {"mimeType": "application/pdf", "data": base64.b64encode(PDF).decode()}},
                ],
            }
        ],
        "systemInstruction": {"parts": [{"text": "Answer from the book only."}]},
        "tools": [{"functionDeclarations": [{"name": "lookup", "parameters": {"type": "object"}}]}],
        "displayName": "dickens",
        "ttl": "600s",
    }
    content = created["cached-content"]
    assert created["operation"] == "create"
    assert content["name"].startswith("cachedContents/") and content["display-name"] == "dickens"
    assert content["model"] == "models/gemini-2.5-flash"
    assert content["usage-metadata"] == {"total-token-count": len(BOOK.split()) + 258}
    assert {"create-time", "update-time", "expire-time"} <= set(content)

    got = await cache(fake, {"operation": "get", "cache-name": content["name"]})
    assert got == {"operation": "get", "cached-content": content}
    assert fake.requests[-1].path == "/v1beta/" + content["name"]

    updated = await cache(fake, {"operation": "update", "cache-name": content["name"], "ttl": "7200s"})
    assert fake.requests[-1].path == f"/v1beta/{content['name']}?updateMask=ttl"
    assert fake.requests[-1].body == {"ttl": "7200s"}
    assert updated["cached-content"]["expire-time"] > content["expire-time"]
    moved = await cache(
        fake, {"operation": "update", "cache-name": content["name"], "expire-time": "2030-01-02T03:04:05Z"}
    )
    assert fake.requests[-1].path.endswith("?updateMask=expireTime")
    assert moved["cached-content"]["expire-time"].startswith("2030-01-02T03:04:05")

    answer = await chat(fake, {"model": "gemini-2.5-flash", "prompt": "Who?", "cached-content": content["name"]})
    assert fake.requests[-1].body["cachedContent"] == content["name"]
    assert answer["usage"]["cached-content-token-count"] == content["usage-metadata"]["total-token-count"]

    assert await cache(fake, {"operation": "delete", "cache-name": content["name"]}) == {"operation": "delete"}
    assert fake.requests[-1].path == "/v1beta/" + content["name"]
    with pytest.raises(ComponentError, match="403: CachedContent not found"):
        await cache(fake, {"operation": "get", "cache-name": content["name"]})
    with pytest.raises(ComponentError, match="403: CachedContent not found"):
        await chat(fake, {"model": "gemini-2.5-flash", "prompt": "Who?", "cached-content": content["name"]})


async def test_list_pages_through_the_caches(fake):
    assert await cache(fake, {"operation": "list"}) == {"operation": "list", "cached-contents": []}
    names = []
    for i in range(3):
        contents = [{"role": "user", "parts": [{"text": f"part {i}"}]}]
        created = await cache(fake, {"operation": "create", "model": "gemini-2.5-pro", "contents": contents})
        names.append(created["cached-content"]["name"])
    first = await cache(fake, {"operation": "list", "page-size": 2})
    assert fake.requests[-1].path == "/v1beta/cachedContents?pageSize=2"
    assert [c["name"] for c in first["cached-contents"]] == names[:2]
    second = await cache(fake, {"operation": "list", "page-size": 2, "page-token": first["next-page-token"]})
    assert [c["name"] for c in second["cached-contents"]] == names[2:]
    assert "next-page-token" not in second
    assert all("contents" not in c for c in first["cached-contents"])


async def test_every_operation_passes_the_model_host_allow_list(fake):
    """An allowed model host admits the cache paths the component builds, queries included."""
    port = fake.base_url.rsplit(":", 1)[1]
    config = {"http_allowed_hosts": [], "llm_allowed_hosts": [f"127.0.0.1:{port}"]}
    created = await cache(fake, {"operation": "create", "model": "m", "prompt": "x"}, **config)
    name = created["cached-content"]["name"]
    listed = await cache(fake, {"operation": "list", "page-size": 1}, **config)
    assert listed["cached-contents"][0]["name"] == name
    await cache(fake, {"operation": "update", "cache-name": name, "ttl": "60s"}, **config)
    await cache(fake, {"operation": "get", "cache-name": name}, **config)
    await cache(fake, {"operation": "delete", "cache-name": name}, **config)


@pytest.mark.parametrize(
    ("input", "message"),
    [
        ({"operation": "purge"}, "operation must be one of create, list, get, update, delete"),
        ({"operation": "create", "model": "gemini-2.5-flash"}, "create: contents or a prompt or media"),
        ({"operation": "create", "prompt": "x"}, "model"),
        ({"operation": "create", "model": "m:embedContent", "prompt": "x"}, "not a Gemini model name"),
        ({"operation": "create", "model": "m", "prompt": "x", "ttl": "60"}, "ttl .* is not a duration"),
        (
            {"operation": "create", "model": "m", "prompt": "x", "ttl": "60s", "expire-time": "2030-01-01T00:00:00Z"},
            "give ttl or expire-time, not both",
        ),
        ({"operation": "update", "cache-name": "cachedContents/abc"}, "update: ttl or expire-time is required"),
        ({"operation": "update", "cache-name": "c", "expire-time": "tomorrow"}, "not an RFC 3339 time"),
        ({"operation": "get"}, "cache-name is required for get"),
        ({"operation": "delete", "cache-name": "cachedContents/../models"}, "is not a cached content's name"),
        ({"operation": "list", "page-size": 0}, "page-size must be a whole number from 1 to 1000"),
        ({"operation": "list", "page-token": "a&b=c"}, "page-token must be the next-page-token"),
    ],
)
async def test_bad_input_is_a_clear_error_sent_nowhere(fake, input, message):
    with pytest.raises(ComponentError, match=message):
        await cache(fake, input)
    assert fake.requests == []


async def test_googles_refusals_carry_its_message(fake):
    fake.min_cache_tokens = 1024
    with pytest.raises(ComponentError, match=r"400: Cached content is too small\. total_token_count=1,"):
        await cache(fake, {"operation": "create", "model": "gemini-2.5-flash", "prompt": "short"})
    with pytest.raises(ComponentError, match="403: CachedContent not found"):
        await cache(fake, {"operation": "delete", "cache-name": "nothere"})
    fake.fail(503)
    listed = await cache(fake, {"operation": "list"})  # retried
    assert listed == {"operation": "list", "cached-contents": []}


# A pipeline that caches a document and asks about it through the cache, with Instill's
# field names (TASK_CACHE's create, then TASK_CHAT's cached-content).
RECIPE = """version: v1beta
component:
  cache:
    type: gemini
    task: TASK_CACHE
    input:
      operation: create
      model: gemini-2.5-flash
      prompt: ${variable.book}
      ttl: 300s
  ask:
    type: gemini
    task: TASK_CHAT
    input:
      model: gemini-2.5-flash
      prompt: ${variable.question}
      cached-content: ${cache.output.cached-content.name}
variable:
  book:
    type: string
  question:
    type: string
output:
  cache:
    value: ${cache.output.cached-content.name}
  answer:
    value: ${ask.output.texts[0]}
  cached-tokens:
    value: ${ask.output.usage.cached-content-token-count}
"""


async def test_a_pipeline_caches_then_asks_through_the_cache(fake):
    registry = default_registry()
    recipe = parse_recipe(RECIPE, registry=registry)
    config = {
        "openai_backoff_seconds": 0.01,
        "platform_setups": {"gemini": PlatformSetup("gemini", KEY, fake.base_url)},
    }
    result = await execute(
        recipe, recipe.bind_rows([{"book": BOOK, "question": "Which times?"}]), registry=registry, config=config
    )
    outputs = result.rows[0].outputs
    assert outputs["cache"].startswith("cachedContents/")
    assert outputs["answer"] == "You said: Which times?"
    assert outputs["cached-tokens"] == len(BOOK.split())
    assert [r.path for r in fake.requests] == [
        "/v1beta/cachedContents",
        "/v1beta/models/gemini-2.5-flash:generateContent",
    ]
