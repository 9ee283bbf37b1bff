"""The ``weaviate`` component against a local server speaking Weaviate's REST and GraphQL
wire format (tests/components/fake_vector_stores.py): Instill's tasks and fields, the
GraphQL ``Get`` it sends, the filter refused by name, and Weaviate's own errors."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.components.weaviate import COMPONENT
from pipelines.engine.components import ComponentError
from tests.components.fake_vector_stores import FakeStore, start_weaviate
from tests.components.fake_vendor import fixtures, run_task

vendor_server, fake = fixtures(start_weaviate)
CONFIG = {"openai_backoff_seconds": 0.01}
IDS = ["36ddd591-2dee-4e7e-a3cc-eb86d30a4303", "6a0ef9d0-4a2b-4f0e-8d3c-2c9f0b9b7e11"]


async def run(fake: FakeStore, task: str, input: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    # Instill's url has no scheme (https then); the local server is http.
    setup = {"api-key": key or fake.key, "url": fake.base_url}
    config = {**CONFIG, "llm_allowed_hosts": (fake.base_url.removeprefix("http://"),)}
    return await run_task(COMPONENT, task, input, setup, config, None)


async def test_insert_search_update_and_delete(fake):
    out = await run(
        fake,
        "TASK_BATCH_INSERT",
        {
            "collection-name": "Article",
            "array-id": IDS,
            "array-metadata": [{"title": "Cats", "lang": "en"}, {"title": "Chats", "lang": "fr"}],
            "array-vector": [[1, 0], [0, 1]],
        },
    )
    assert out == {"status": "Successfully batch inserted 2 objects"}
    assert fake.requests[-1].path == "/v1/batch/objects"
    assert fake.requests[-1].headers["authorization"] == f"Bearer {fake.key}"
    assert fake.requests[-1].body["objects"][0] == {
        "class": "Article",
        "properties": {"title": "Cats", "lang": "en"},
        "vector": [1.0, 0.0],
        "id": IDS[0],
    }
    await run(
        fake,
        "TASK_INSERT",
        {"collection-name": "Article", "vector": [0.7, 0.7], "metadata": {"title": "Both", "lang": "en"}},
    )

    found = await run(fake, "TASK_VECTOR_SEARCH", {"collection-name": "Article", "vector": [1, 0.1], "limit": 2})
    assert found["status"] == "Successfully found 2 objects"
    result = found["result"]
    assert result["ids"][0] == IDS[0]
    assert result["metadata"][0] == {"lang": "en", "title": "Cats"}
    assert result["vectors"][0] == [1.0, 0.0]
    assert result["objects"][0]["_additional"]["id"] == IDS[0]
    # No fields named: all the class's properties, read from its schema.
    assert fake.paths()[-2:] == ["/v1/schema/Article", "/v1/graphql"]
    assert fake.requests[-1].body == {
        "query": "{ Get { Article(nearVector: {vector: [1.0, 0.1]}, limit: 2) { lang title _additional { id distance vector } } } }"
    }

    french = await run(
        fake,
        "TASK_VECTOR_SEARCH",
        {
            "collection-name": "Article",
            "vector": [1, 0],
            "fields": ["title"],
            "filter": {"path": "lang", "operator": "Equal", "valueText": "fr"},
            "tenant": "tenantA",
        },
    )
    assert french["result"]["metadata"] == [{"title": "Chats"}]
    assert 'where: {path: ["lang"], operator: Equal, valueText: "fr"}' in fake.requests[-1].body["query"]
    assert 'tenant: "tenantA"' in fake.requests[-1].body["query"]

    assert await run(
        fake, "TASK_UPDATE", {"collection-name": "Article", "id": IDS[1], "update-metadata": {"title": "Les chats"}}
    ) == {"status": "Successfully updated 1 object"}
    assert fake.requests[-1].path == f"/v1/objects/Article/{IDS[1]}"
    assert fake.collections["Article"].points[IDS[1]]["payload"]["title"] == "Les chats"

    deleted = await run(
        fake,
        "TASK_DELETE",
        {"collection-name": "Article", "filter": {"path": "lang", "operator": "Equal", "valueText": "en"}},
    )
    assert deleted == {"status": "Successfully deleted 2 objects"}
    assert fake.requests[-1].body == {
        "match": {"class": "Article", "where": {"path": ["lang"], "operator": "Equal", "valueText": "en"}}
    }
    assert await run(fake, "TASK_DELETE", {"collection-name": "Article", "id": IDS[1]}) == {
        "status": "Successfully deleted 1 objects"
    }
    assert await run(fake, "TASK_DELETE_COLLECTION", {"collection-name": "Article"}) == {
        "status": "Successfully deleted 1 collection"
    }


async def test_weaviate_errors_reach_the_user(fake):
    with pytest.raises(ComponentError, match="answered 404: no object with id"):
        await run(fake, "TASK_DELETE", {"collection-name": "Article", "id": IDS[0]})
    with pytest.raises(ComponentError, match="answered 401: anonymous access not enabled"):
        await run(fake, "TASK_DELETE_COLLECTION", {"collection-name": "Article"}, key="wrong")
    await run(fake, "TASK_INSERT", {"collection-name": "Article", "vector": [1, 0], "metadata": {}})
    with pytest.raises(ComponentError, match="refused object 0 of the batch: vector lengths don't match"):
        await run(
            fake,
            "TASK_BATCH_INSERT",
            {"collection-name": "Article", "array-metadata": [{}], "array-vector": [[1, 2, 3]]},
        )
    with pytest.raises(ComponentError, match='refused the search: Cannot query field "Nope"'):
        await run(fake, "TASK_VECTOR_SEARCH", {"collection-name": "Nope", "vector": [1, 0], "fields": ["title"]})


@pytest.mark.parametrize(
    ("task", "input", "words"),
    [
        ("TASK_INSERT", {"collection-name": "Article", "id": "7", "vector": [1], "metadata": {}}, "id must be a UUID"),
        ("TASK_INSERT", {"collection-name": "my-class", "vector": [1], "metadata": {}}, "must start with a letter"),
        ("TASK_UPDATE", {"collection-name": "Article", "id": IDS[0]}, "update-vector or update-metadata is required"),
        ("TASK_DELETE", {"collection-name": "Article"}, "id or filter is required"),
        (
            "TASK_VECTOR_SEARCH",
            {"collection-name": "Article", "fields": ["title"], "filter": {"path": "x", "operator": "Equal) { }"}},
            "filter.operator must be one of",
        ),
        (
            "TASK_VECTOR_SEARCH",
            {"collection-name": "Article", "fields": ["title"], "filter": {"path": "x", "sql": "1"}},
            "filter has an unknown key 'sql'",
        ),
        (
            "TASK_VECTOR_SEARCH",
            {"collection-name": "Article", "fields": ["a b"]},
            r"fields\[0\] must be a property name",
        ),
    ],
)
async def test_bad_input_is_refused_before_any_request(fake, task, input, words):
    with pytest.raises(ComponentError, match=words):
        await run(fake, task, input)
    assert fake.requests == []


def test_a_url_without_scheme_is_https_as_instill_has_it():
    from pipelines.components import vector_stores as vs
    from pipelines.engine.components import TaskContext

    ctx = TaskContext("weaviate-0", "TASK_INSERT", setup={"url": "my-cluster.weaviate.network/"})
    assert vs.endpoint(ctx, "Weaviate", "x") == "https://my-cluster.weaviate.network"
    ctx = TaskContext("qdrant-0", "TASK_UPSERT", setup={"url": "localhost:6333"})
    assert vs.endpoint(ctx, "Qdrant", "x", default_scheme="http") == "http://localhost:6333"
    with pytest.raises(ComponentError, match=r"setup\.url must not hold credentials"):
        vs.endpoint(TaskContext("c", "t", setup={"url": "http://u:p@host"}), "Chroma", "x")
