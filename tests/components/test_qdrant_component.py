"""The ``qdrant`` component against a local server speaking Qdrant's REST wire format
(tests/components/fake_vector_stores.py): Instill's tasks and field names, its setup
through ``${secret.*}``, ``${connection.*}`` and the server's ``PIPELINE_QDRANT_*``
settings, retries, and errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.qdrant import COMPONENT
from pipelines.engine import execute, parse_recipe
from pipelines.engine.components import ComponentError
from pipelines.engine.connections import packed
from pipelines.engine.platform import PlatformSetup
from tests.components.fake_vector_stores import FakeStore, start_qdrant
from tests.components.fake_vendor import fixtures, run_task

vendor_server, fake = fixtures(start_qdrant)
CONFIG = {"openai_backoff_seconds": 0.01}


def allowed(fake: FakeStore) -> dict[str, Any]:
    host = fake.base_url.removeprefix("http://")
    return {**CONFIG, "llm_allowed_hosts": (host,)}


def setup(fake: FakeStore) -> dict[str, str]:
    return {"api-key": fake.key, "url": fake.base_url}


async def run(fake: FakeStore, task: str, input: dict[str, Any], **options: Any) -> dict[str, Any]:
    return await run_task(COMPONENT, task, input, options.get("setup", setup(fake)), allowed(fake), None)


async def make_collection(fake: FakeStore, size: int = 3) -> None:
    config = {"vectors": {"size": size, "distance": "Cosine"}}
    out = await run(fake, "TASK_CREATE_COLLECTION", {"collection-name": "docs", "config": config})
    assert out == {"status": "Successfully created 1 collection"}


async def test_upsert_search_and_delete_round_trip(fake):
    await make_collection(fake)
    out = await run(
        fake,
        "TASK_BATCH_UPSERT",
        {
            "collection-name": "docs",
            "array-id": ["1", "2", "a9d3c7b4-31c4-4b9e-8f3e-3f1a6f0b6f10"],
            "array-metadata": [{"name": "cat"}, {"name": "dog"}, {"name": "car"}],
            "array-vector": [[1, 0, 0], [0.9, 0.1, 0], [0, 0, 1]],
        },
    )
    assert out == {"status": "Successfully batch upserted 3 points"}
    # Digits are Qdrant's integer ids; the wire format is Qdrant's batch.
    upsert = fake.requests[-1]
    assert upsert.path == "/collections/docs/points?wait=true&ordering=weak"
    assert upsert.headers["api-key"] == fake.key
    assert upsert.body["batch"]["ids"] == [1, 2, "a9d3c7b4-31c4-4b9e-8f3e-3f1a6f0b6f10"]

    found = await run(
        fake, "TASK_VECTOR_SEARCH", {"collection-name": "docs", "vector": [1, 0, 0], "limit": 2, "payloads": ["name"]}
    )
    assert found["status"] == "Successfully vector searched 2 points"
    result = found["result"]
    assert result["ids"] == ["1", "2"]
    assert result["metadata"] == [{"name": "cat"}, {"name": "dog"}]
    assert result["vectors"] == [[1.0, 0.0, 0.0], [0.9, 0.1, 0.0]]
    assert result["points"][0] == {"name": "cat", "id": "1", "score": pytest.approx(1.0), "vector": [1.0, 0.0, 0.0]}
    assert fake.requests[-1].body == {
        "vector": [1.0, 0.0, 0.0],
        "limit": 2,
        "with_vector": True,
        "with_payload": ["name"],
    }

    filtered = await run(
        fake,
        "TASK_VECTOR_SEARCH",
        {
            "collection-name": "docs",
            "vector": [1, 0, 0],
            "limit": 5,
            "filter": {"must": [{"key": "name", "match": {"value": "car"}}]},
            "min-score": -1,
        },
    )
    assert filtered["result"]["ids"] == ["a9d3c7b4-31c4-4b9e-8f3e-3f1a6f0b6f10"]
    assert fake.requests[-1].body["score_threshold"] == -1

    assert await run(fake, "TASK_DELETE", {"collection-name": "docs", "id": "1", "ordering": "strong"}) == {
        "status": "Successfully deleted points"
    }
    assert fake.requests[-1].path == "/collections/docs/points/delete?wait=true&ordering=strong"
    assert fake.requests[-1].body == {"points": [1]}
    left = await run(fake, "TASK_VECTOR_SEARCH", {"collection-name": "docs", "vector": [1, 0, 0], "limit": 5})
    assert left["result"]["ids"] == ["2", "a9d3c7b4-31c4-4b9e-8f3e-3f1a6f0b6f10"]

    await run(fake, "TASK_UPSERT", {"collection-name": "docs", "id": "7", "vector": [0, 1, 0], "metadata": {"n": 7}})
    assert fake.requests[-1].body == {"batch": {"ids": [7], "vectors": [[0.0, 1.0, 0.0]], "payloads": [{"n": 7}]}}
    assert fake.collections["docs"].points[7] == {"vector": [0.0, 1.0, 0.0], "payload": {"n": 7}}

    assert await run(fake, "TASK_DELETE_COLLECTION", {"collection-name": "docs"}) == {
        "status": "Successfully deleted 1 collection"
    }
    assert "docs" not in fake.collections


async def test_qdrant_errors_reach_the_user_with_its_message(fake):
    with pytest.raises(ComponentError, match=r"answered 404: Not found: Collection `nope` doesn't exist!"):
        await run(fake, "TASK_UPSERT", {"collection-name": "nope", "id": "1", "vector": [1]})
    await make_collection(fake, size=3)
    with pytest.raises(
        ComponentError, match=r"answered 400: Wrong input: Vector dimension error: expected dim: 3, got 2"
    ):
        await run(fake, "TASK_UPSERT", {"collection-name": "docs", "id": "1", "vector": [1, 2]})
    with pytest.raises(ComponentError, match="answered 401"):
        await run(
            fake, "TASK_DELETE_COLLECTION", {"collection-name": "docs"}, setup={"url": fake.base_url, "api-key": "x"}
        )


async def test_overload_is_retried(fake):
    await make_collection(fake)
    fake.fail(503, times=2)
    out = await run(fake, "TASK_UPSERT", {"collection-name": "docs", "id": "1", "vector": [1, 0, 0]})
    assert out["status"] == "Successfully upserted 1 point"
    assert fake.paths()[-3:] == ["/collections/docs/points?wait=true&ordering=weak"] * 3


@pytest.mark.parametrize(
    ("task", "input", "words"),
    [
        ("TASK_UPSERT", {"collection-name": "docs", "id": "1", "vector": []}, "vector must be a non-empty list"),
        ("TASK_UPSERT", {"collection-name": "docs", "id": "1", "vector": [1, "x"]}, r"vector\[1\] must be a number"),
        ("TASK_UPSERT", {"collection-name": "a/b", "id": "1", "vector": [1]}, "collection-name 'a/b' may hold only"),
        ("TASK_UPSERT", {"collection-name": "docs", "vector": [1]}, "id must be an unsigned integer or a UUID"),
        ("TASK_DELETE", {"collection-name": "docs"}, "id or filter is required"),
        (
            "TASK_BATCH_UPSERT",
            {"collection-name": "docs", "array-id": ["1", "2"], "array-vector": [[1]]},
            "array-id has 2, array-vector has 1",
        ),
        ("TASK_VECTOR_SEARCH", {"collection-name": "docs", "vector": [1], "limit": 0}, "limit must be a positive"),
        (
            "TASK_UPSERT",
            {"collection-name": "docs", "id": "1", "vector": [1], "ordering": "eventual"},
            "ordering must be",
        ),
    ],
)
async def test_bad_input_is_refused_before_any_request(fake, task, input, words):
    with pytest.raises(ComponentError, match=words):
        await run(fake, task, input)
    assert fake.requests == []


async def test_setup_without_url_says_so(fake):
    with pytest.raises(ComponentError, match=r"setup\.url is required: the Qdrant endpoint"):
        await run(fake, "TASK_DELETE_COLLECTION", {"collection-name": "docs"}, setup={"api-key": "k"})


async def test_loopback_is_refused_unless_allowed(fake):
    with pytest.raises(ComponentError, match="loopback"):
        await run_task(COMPONENT, "TASK_DELETE_COLLECTION", {"collection-name": "docs"}, setup(fake), CONFIG, None)


RECIPE = """
version: v1beta
variable:
  name:
    title: name
    type: string
component:
  qdrant-0:
    type: qdrant
    task: TASK_CREATE_COLLECTION
    input:
      collection-name: ${variable.name}
      config:
        vectors:
          size: 2
          distance: Cosine
SETUP
output:
  status:
    title: status
    value: ${qdrant-0.output.status}
"""


async def recipe_run(text: str, config: dict[str, Any], secrets: dict[str, str] | None = None):
    registry = default_registry()
    recipe = parse_recipe(text, registry=registry)
    return await execute(
        recipe, recipe.bind_rows([{"name": "docs"}]), registry=registry, config=config, secrets=[secrets or {}]
    )


@pytest.mark.parametrize("how", ["secret", "connection", "platform"])
async def test_setup_from_a_secret_a_connection_or_the_server(fake, how):
    if how == "secret":
        text = RECIPE.replace("SETUP", f"    setup:\n      api-key: ${{secret.qdrant-key}}\n      url: {fake.base_url}")
        result = await recipe_run(text, allowed(fake), {"qdrant-key": fake.key})
    elif how == "connection":
        text = RECIPE.replace("SETUP", "    setup: ${connection.my-qdrant}")
        result = await recipe_run(text, allowed(fake), packed("my-qdrant", setup(fake), [fake.key]))
    else:  # no setup: PIPELINE_QDRANT_API_KEY / PIPELINE_QDRANT_BASE_URL, whose host is then allowed
        text = RECIPE.replace("SETUP", "")
        platform = {"qdrant": PlatformSetup("qdrant", fake.key, fake.base_url, "url")}
        result = await recipe_run(text, {**CONFIG, "platform_setups": platform})
    row = result.rows[0]
    assert not row.errored, row.components
    assert row.outputs == {"status": "Successfully created 1 collection"}
    assert fake.requests[-1].headers["api-key"] == fake.key
    assert "docs" in fake.collections


async def test_the_server_key_goes_only_to_the_server_url(fake):
    text = RECIPE.replace(
        "SETUP", "    setup:\n      api-key: ${secret.INSTILL_SECRET}\n      url: http://elsewhere:6333"
    )
    platform = {"qdrant": PlatformSetup("qdrant", fake.key, fake.base_url, "url")}
    result = await recipe_run(text, {**CONFIG, "platform_setups": platform})
    error = result.rows[0].components["qdrant-0"].error or ""
    assert "setup.url cannot be set when the key is ${secret.INSTILL_SECRET}" in error
    assert fake.requests == []


def test_a_literal_url_that_cannot_be_an_endpoint_is_a_recipe_error():
    from pipelines.engine import RecipeInvalid

    text = RECIPE.replace("SETUP", "    setup:\n      api-key: ${secret.k}\n      url: ftp://x")
    with pytest.raises(RecipeInvalid, match="url must be an http"):
        parse_recipe(text, registry=default_registry())
