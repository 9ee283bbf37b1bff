"""The ``milvus`` component against a local server speaking Milvus's RESTful API v2
(tests/components/fake_vector_stores.py): Instill's ten tasks, the calls each makes
(a search loads and describes the collection first; a drop releases it), and Milvus's
errors, which come in a 200 answer with a non-zero ``code``."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.components.milvus import COMPONENT
from pipelines.engine.components import ComponentError
from tests.components.fake_vector_stores import FakeStore, start_milvus
from tests.components.fake_vendor import fixtures, run_task

vendor_server, fake = fixtures(start_milvus)
CONFIG = {"openai_backoff_seconds": 0.01}


async def run(fake: FakeStore, task: str, input: dict[str, Any], password: str | None = None) -> dict[str, Any]:
    setup = {"url": fake.base_url, "username": "root", "password": password or fake.key}
    config = {**CONFIG, "llm_allowed_hosts": (fake.base_url.removeprefix("http://"),)}
    return await run_task(COMPONENT, task, input, setup, config, None)


def bodies(fake: FakeStore) -> list[tuple[str, Any]]:
    return [(r.path.removeprefix("/v2/vectordb/"), r.body) for r in fake.requests]


async def test_the_ten_tasks(fake):
    out = await run(
        fake, "TASK_CREATE_COLLECTION", {"collection-name": "books", "dimension": 2, "metric-type": "COSINE"}
    )
    assert out == {"status": "Successfully created 1 collection"}
    assert fake.requests[-1].headers["authorization"] == f"Bearer root:{fake.key}"
    assert bodies(fake)[-1] == (
        "collections/create",
        {"collectionName": "books", "dimension": 2, "metricType": "COSINE", "autoID": False},
    )
    data = [
        {"id": 1, "vector": [1, 0], "title": "Dune"},
        {"id": 2, "vector": [0.9, 0.1], "title": "Emma"},
        {"id": 3, "vector": [0, 1], "title": "Ulysses"},
    ]
    assert await run(fake, "TASK_BATCH_UPSERT", {"collection-name": "books", "array-data": data}) == {
        "status": "Successfully batch upserted 3 data"
    }
    assert bodies(fake)[-1] == ("entities/upsert", {"collectionName": "books", "data": data})

    found = await run(
        fake, "TASK_VECTOR_SEARCH", {"collection-name": "books", "vector": [1, 0], "vector-field": "vector", "limit": 2}
    )
    assert found["status"] == "Successfully searched 2 data"
    result = found["result"]
    assert result["ids"] == ["1", "2"]
    assert result["vectors"] == [[1, 0], [0.9, 0.1]]
    assert result["metadata"] == [{"id": 1, "title": "Dune"}, {"id": 2, "title": "Emma"}]
    assert result["data"][0]["title"] == "Dune" and "distance" in result["data"][0]
    assert [path for path, _ in bodies(fake)[-3:]] == ["collections/load", "collections/describe", "entities/search"]
    assert bodies(fake)[-1][1] == {
        "collectionName": "books",
        "data": [[1.0, 0.0]],
        "annsField": "vector",
        "limit": 2,
        "outputFields": ["id", "vector", "title"],
    }

    titled = await run(
        fake,
        "TASK_VECTOR_SEARCH",
        {
            "collection-name": "books",
            "vector": [1, 0],
            "vector-field": "vector",
            "limit": 5,
            "fields": ["title"],
            "filter": 'title == "Ulysses"',
        },
    )
    assert titled["result"]["metadata"] == [{"title": "Ulysses"}]
    assert bodies(fake)[-1][1]["outputFields"] == ["id", "vector", "title"]

    await run(
        fake, "TASK_UPSERT", {"collection-name": "books", "partition-name": "p1", "data": {"id": 4, "vector": [1, 1]}}
    )
    assert bodies(fake)[-1] == (
        "entities/upsert",
        {"collectionName": "books", "data": [{"id": 4, "vector": [1, 1]}], "partitionName": "p1"},
    )
    assert await run(fake, "TASK_DELETE", {"collection-name": "books", "filter": "id in [1, 4]"}) == {
        "status": "Successfully deleted data"
    }
    assert sorted(fake.collections["books"].points) == [2, 3]

    for task, input, status, calls in (
        ("TASK_CREATE_PARTITION", {"partition-name": "p2"}, "Successfully created 1 partition", ["partitions/create"]),
        (
            "TASK_DROP_PARTITION",
            {"partition-name": "p2"},
            "Successfully dropped 1 partition",
            ["collections/release", "partitions/drop"],
        ),
        (
            "TASK_CREATE_INDEX",
            {"index-params": {"fieldName": "vector", "indexName": "vi", "metricType": "COSINE"}},
            "Successfully created 1 index",
            ["indexes/create"],
        ),
        (
            "TASK_DROP_INDEX",
            {"index-name": "vi"},
            "Successfully dropped 1 index",
            ["collections/release", "indexes/drop"],
        ),
        ("TASK_DROP_COLLECTION", {}, "Successfully dropped 1 collection", ["collections/release", "collections/drop"]),
    ):
        before = len(fake.requests)
        assert await run(fake, task, {"collection-name": "books", **input}) == {"status": status}
        assert [path for path, _ in bodies(fake)[before:]] == calls
    assert bodies(fake)[-5][1] == {
        "collectionName": "books",
        "indexParams": [{"fieldName": "vector", "indexName": "vi", "metricType": "COSINE"}],
    }
    assert "books" not in fake.collections


async def test_milvus_errors_in_a_200_answer_fail_the_task(fake):
    with pytest.raises(ComponentError, match=r"answered code 100: collection not found\[collection=nope\]"):
        await run(fake, "TASK_UPSERT", {"collection-name": "nope", "data": {"id": 1, "vector": [1]}})
    with pytest.raises(ComponentError, match="answered code 1800: user hasn't authenticated"):
        await run(fake, "TASK_DROP_COLLECTION", {"collection-name": "x"}, password="wrong")
    await run(fake, "TASK_CREATE_COLLECTION", {"collection-name": "books", "dimension": 2})
    with pytest.raises(ComponentError, match=r"the dim \(3\) of field data\(vector\) is not equal to schema dim \(2\)"):
        await run(fake, "TASK_UPSERT", {"collection-name": "books", "data": {"id": 1, "vector": [1, 2, 3]}})


@pytest.mark.parametrize(
    ("task", "input", "words"),
    [
        ("TASK_DELETE", {"collection-name": "books"}, "filter is required"),
        ("TASK_UPSERT", {"collection-name": "books", "data": {}}, "data must be an object"),
        ("TASK_CREATE_COLLECTION", {"collection-name": "books", "dimension": 0}, "dimension must be a positive"),
        (
            "TASK_CREATE_COLLECTION",
            {"collection-name": "books", "dimension": 2, "metric-type": "HAMMING"},
            "metric-type must be one of",
        ),
        ("TASK_VECTOR_SEARCH", {"collection-name": "books", "vector": [1], "limit": 1}, "vector-field is required"),
        (
            "TASK_CREATE_PARTITION",
            {"collection-name": "books", "partition-name": "a b"},
            "partition-name 'a b' may hold only",
        ),
        ("TASK_DROP_INDEX", {"collection-name": "books"}, "index-name is required: the name of the index"),
    ],
)
async def test_bad_input_is_refused_before_any_request(fake, task, input, words):
    with pytest.raises(ComponentError, match=words):
        await run(fake, task, input)
    assert fake.requests == []


async def test_no_setup_uses_the_servers_milvus(fake):
    """Milvus's setup has no api-key field: PIPELINE_MILVUS_BASE_URL fills Instill's url of a
    component with no setup (its host is then allowed for milvus components), and
    PIPELINE_MILVUS_API_KEY is sent as the token (Milvus's ``user:password`` or an API key)."""
    from pipelines.components import default_registry
    from pipelines.engine import execute, parse_recipe
    from pipelines.engine.platform import PlatformSetup

    recipe_text = """
version: v1beta
component:
  milvus-0:
    type: milvus
    task: TASK_CREATE_COLLECTION
    input:
      collection-name: books
      dimension: 2
output:
  status:
    title: status
    value: ${milvus-0.output.status}
"""
    registry = default_registry()
    recipe = parse_recipe(recipe_text, registry=registry)
    platform = {"milvus": PlatformSetup("milvus", f"root:{fake.key}", fake.base_url, "url")}
    config = {**CONFIG, "platform_setups": platform}
    result = await execute(recipe, recipe.bind_rows([{}]), registry=registry, config=config)
    assert result.rows[0].outputs == {"status": "Successfully created 1 collection"}, result.rows[0].components
    assert fake.requests[-1].headers["authorization"] == f"Bearer root:{fake.key}"
