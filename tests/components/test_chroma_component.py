"""The ``chroma`` component against a real Chroma server (``chroma run``, started by
tests/components/chroma_server.py): Instill's tasks and field names over Chroma's v2
API, its setup from a connection, and Chroma's own errors naming what went wrong."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.chroma import COMPONENT
from pipelines.engine import execute, parse_recipe
from pipelines.engine.components import ComponentError
from pipelines.engine.connections import packed
from tests.components import chroma_server
from tests.components.fake_vendor import run_task


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from chroma_server.serve(tmp_path_factory.mktemp("chroma"))


@pytest.fixture
def collection() -> str:
    return f"docs-{uuid.uuid4().hex[:8]}"


def config(url: str) -> dict[str, Any]:
    return {"openai_backoff_seconds": 0.01, "llm_allowed_hosts": (url.removeprefix("http://"),)}


async def run(url: str, task: str, input: dict[str, Any]) -> dict[str, Any]:
    return await run_task(COMPONENT, task, input, {"api-key": "", "url": url}, config(url), None)


async def test_items_round_trip_through_a_real_chroma(chroma_url, collection):
    assert await run(chroma_url, "TASK_CREATE_COLLECTION", {"collection-name": collection}) == {
        "status": "Successfully created 1 collection"
    }
    out = await run(
        chroma_url,
        "TASK_BATCH_UPSERT",
        {
            "collection-name": collection,
            "array-id": ["cat", "dog", "car"],
            "array-metadata": [{"kind": "animal"}, {"kind": "animal"}, {"kind": "machine"}],
            "array-vector": [[1, 0, 0], [0.8, 0.2, 0], [0, 0, 1]],
            "array-document": ["A cat purrs.", "A dog barks.", "A car drives."],
        },
    )
    assert out == {"status": "Successfully batch upserted 3 items"}

    found = await run(chroma_url, "TASK_QUERY", {"collection-name": collection, "vector": [1, 0, 0], "n-results": 2})
    assert found["status"] == "Successfully queryed 2 items"
    result = found["result"]
    assert result["ids"] == ["cat", "dog"]
    assert result["metadata"] == [{"kind": "animal"}, {"kind": "animal"}]
    assert result["vectors"][0] == pytest.approx([1, 0, 0])
    first = result["items"][0]
    assert first["id"] == "cat" and first["document"] == "A cat purrs." and first["kind"] == "animal"
    assert first["distance"] == pytest.approx(0, abs=1e-6)

    machines = await run(
        chroma_url,
        "TASK_QUERY",
        {"collection-name": collection, "vector": [1, 0, 0], "n-results": 3, "filter": {"kind": "machine"}},
    )
    assert machines["result"]["ids"] == ["car"]
    barking = await run(
        chroma_url,
        "TASK_QUERY",
        {"collection-name": collection, "vector": [1, 0, 0], "n-results": 3, "filter-document": "barks"},
    )
    assert barking["result"]["ids"] == ["dog"]

    await run(
        chroma_url,
        "TASK_UPSERT",
        {
            "collection-name": collection,
            "id": "cat",
            "metadata": {"kind": "pet"},
            "vector": [0, 1, 0],
            "document": "A cat.",
        },
    )
    pets = await run(
        chroma_url,
        "TASK_QUERY",
        {"collection-name": collection, "vector": [0, 1, 0], "n-results": 1, "fields": ["kind"]},
    )
    assert pets["result"]["ids"] == ["cat"] and pets["result"]["metadata"] == [{"kind": "pet"}]

    assert await run(chroma_url, "TASK_DELETE", {"collection-name": collection, "filter": {"kind": "animal"}}) == {
        "status": "Successfully deleted 1 items"
    }
    with pytest.raises(ComponentError, match="item not found"):
        await run(chroma_url, "TASK_DELETE", {"collection-name": collection, "filter": {"kind": "animal"}})
    assert await run(chroma_url, "TASK_DELETE_COLLECTION", {"collection-name": collection}) == {
        "status": "Successfully deleted 1 collection"
    }


async def test_chroma_errors_reach_the_user(chroma_url, collection):
    with pytest.raises(ComponentError, match=rf"answered 404: Collection \[{collection}\] does not exist"):
        await run(chroma_url, "TASK_UPSERT", {"collection-name": collection, "id": "1", "metadata": {}, "vector": [1]})
    await run(chroma_url, "TASK_CREATE_COLLECTION", {"collection-name": collection})
    with pytest.raises(ComponentError, match=rf"Collection \[{collection}\] already exists"):
        await run(chroma_url, "TASK_CREATE_COLLECTION", {"collection-name": collection})
    # get-or-create makes creating idempotent, as Chroma's get_or_create does.
    await run(chroma_url, "TASK_CREATE_COLLECTION", {"collection-name": collection, "get-or-create": True})
    await run(chroma_url, "TASK_UPSERT", {"collection-name": collection, "id": "1", "metadata": {}, "vector": [1, 2]})
    with pytest.raises(ComponentError, match="expecting embedding with dimension of 2, got 3"):
        await run(
            chroma_url, "TASK_UPSERT", {"collection-name": collection, "id": "2", "metadata": {}, "vector": [1, 2, 3]}
        )


@pytest.mark.parametrize(
    ("task", "input", "words"),
    [
        ("TASK_DELETE", {"collection-name": "docs"}, "id, filter or filter-document is required"),
        ("TASK_QUERY", {"collection-name": "docs", "vector": [1], "n-results": "3"}, "n-results must be a positive"),
        (
            "TASK_BATCH_UPSERT",
            {"collection-name": "docs", "array-id": ["a"], "array-vector": [[1]], "array-metadata": [{}, {}]},
            "array-metadata has 2",
        ),
        (
            "TASK_UPSERT",
            {"collection-name": "docs", "id": "a", "metadata": 3, "vector": [1]},
            "metadata must be an object",
        ),
    ],
)
async def test_bad_input_is_refused_before_any_request(task, input, words):
    # No server here: the input is refused before anything is sent.
    with pytest.raises(ComponentError, match=words):
        await run("http://127.0.0.1:9", task, input)


RECIPE = """
version: v1beta
component:
  chroma-0:
    type: chroma
    task: TASK_CREATE_COLLECTION
    input:
      collection-name: NAME
      get-or-create: true
    setup: ${connection.my-chroma}
output:
  status:
    title: status
    value: ${chroma-0.output.status}
"""


async def test_setup_from_a_connection(chroma_url, collection):
    registry = default_registry()
    recipe = parse_recipe(RECIPE.replace("NAME", collection), registry=registry)
    secrets = packed("my-chroma", {"api-key": "chroma-token", "url": chroma_url}, ["chroma-token"])
    result = await execute(
        recipe, recipe.bind_rows([{}]), registry=registry, config=config(chroma_url), secrets=[secrets]
    )
    assert result.rows[0].outputs == {"status": "Successfully created 1 collection"}, result.rows[0].components
