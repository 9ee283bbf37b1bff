"""The ``pinecone`` component against a local server speaking Pinecone's data-plane and
inference wire format (tests/components/fake_vector_stores.py). The vectors and the
namespace are those of Instill's own test (pkg/component/data/pinecone/v0/component_test.go:
vectors A "pumpkin" and B "cerulean", namespace "pantone", threshold 0.9)."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.pinecone import COMPONENT
from pipelines.engine import execute, parse_recipe
from pipelines.engine.components import ComponentError
from tests.components.fake_vector_stores import FakeStore, start_pinecone
from tests.components.fake_vendor import fixtures, run_task

vendor_server, fake = fixtures(start_pinecone)
CONFIG = {"openai_backoff_seconds": 0.01}
VECTOR_A = {"id": "A", "values": [2.23, 1.0], "metadata": {"color": "pumpkin"}}
VECTOR_B = {"id": "B", "values": [-3.32, 1.0], "metadata": {"color": "cerulean"}}


def allowed(fake: FakeStore) -> dict[str, Any]:
    return {**CONFIG, "llm_allowed_hosts": (fake.base_url.removeprefix("http://"),)}


async def run(fake: FakeStore, task: str, input: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    setup = {"api-key": key or fake.key, "url": fake.base_url}
    return await run_task(COMPONENT, task, input, setup, allowed(fake), None)


async def test_upsert_then_query_by_vector_and_by_id(fake):
    out = await run(fake, "TASK_BATCH_UPSERT", {"vectors": [VECTOR_A, VECTOR_B], "namespace": "pantone"})
    assert out == {"upserted-count": 2}
    request = fake.requests[-1]
    assert request.path == "/vectors/upsert"
    assert request.headers["api-key"] == fake.key
    assert request.body == {"vectors": [VECTOR_A, VECTOR_B], "namespace": "pantone"}

    query = {"namespace": "pantone", "vector": [2.0, 1.0], "top-k": 2, "include-metadata": True, "include-values": True}
    found = await run(fake, "TASK_QUERY", query)
    assert found["namespace"] == "pantone"
    assert [m["id"] for m in found["matches"]] == ["A", "B"]
    assert found["matches"][0]["metadata"] == {"color": "pumpkin"}
    assert found["matches"][0]["values"] == [2.23, 1.0]
    assert fake.requests[-1].body == {
        "namespace": "pantone",
        "topK": 2,
        "includeValues": True,
        "includeMetadata": True,
        "vector": [2.0, 1.0],
    }

    # Instill drops the matches under min-score; by id, the vector is not sent.
    above = await run(fake, "TASK_QUERY", {**query, "id": "A", "min-score": 0.9, "include-values": False})
    assert [m["id"] for m in above["matches"]] == ["A"]
    assert "values" not in above["matches"][0]
    assert fake.requests[-1].body["id"] == "A" and "vector" not in fake.requests[-1].body

    single = await run(fake, "TASK_UPSERT", {"id": "C", "values": [0.5, 0.5], "metadata": {"color": "sage"}})
    assert single == {"upserted-count": 1}
    assert fake.requests[-1].body == {"vectors": [{"id": "C", "values": [0.5, 0.5], "metadata": {"color": "sage"}}]}


async def test_rerank_orders_the_documents(fake):
    documents = ["Paris is the capital of France.", "The capital of Germany is Berlin.", "Bananas are yellow."]
    out = await run(fake, "TASK_RERANK", {"query": "the capital of France", "documents": documents, "top-n": 2})
    assert out["documents"] == documents[:2]
    assert len(out["scores"]) == 2 and out["scores"][0] >= out["scores"][1]
    request = fake.requests[-1]
    assert request.path == "/rerank"
    assert request.body == {
        "model": "bge-reranker-v2-m3",
        "query": "the capital of France",
        "documents": [{"text": d} for d in documents],
        "top_n": 2,
    }
    assert request.headers["x-pinecone-api-version"] == "2024-10"


async def test_errors_and_retries(fake):
    with pytest.raises(ComponentError, match="answered 401: Invalid API Key"):
        await run(fake, "TASK_UPSERT", {"id": "A", "values": [1.0]}, key="wrong")
    fake.fail(429)
    assert await run(fake, "TASK_UPSERT", {"id": "A", "values": [1.0]}) == {"upserted-count": 1}
    fake.fail(500, times=5)
    with pytest.raises(ComponentError, match=r"answered 500: The service is overloaded.*\(after 3 attempts\)"):
        await run(fake, "TASK_UPSERT", {"id": "A", "values": [1.0]})


@pytest.mark.parametrize(
    ("task", "input", "words"),
    [
        ("TASK_UPSERT", {"values": [1]}, "^id is required"),
        ("TASK_UPSERT", {"id": "A", "values": [1], "metadata": "x"}, "^metadata must be an object"),
        ("TASK_BATCH_UPSERT", {"vectors": [{"id": "A", "values": []}]}, r"vectors\[0\].values must be a non-empty"),
        ("TASK_BATCH_UPSERT", {"vectors": []}, "vectors must be a non-empty list"),
        ("TASK_QUERY", {"vector": [1], "top-k": -1}, "top-k must be a positive integer"),
        ("TASK_RERANK", {"query": "q", "documents": [1]}, "documents must be a list of strings"),
    ],
)
async def test_bad_input_is_refused_before_any_request(fake, task, input, words):
    with pytest.raises(ComponentError, match=words):
        await run(fake, task, input)
    assert fake.requests == []


RECIPE = """
version: v1beta
component:
  pinecone-0:
    type: pinecone
    task: TASK_UPSERT
    input:
      id: A
      values: [2.23]
    setup:
      api-key: ${secret.pinecone-key}
      url: URL
output:
  count:
    title: count
    value: ${pinecone-0.output.upserted-count}
"""


async def test_recipe_with_a_secret_key(fake):
    registry = default_registry()
    recipe = parse_recipe(RECIPE.replace("URL", fake.base_url), registry=registry)
    result = await execute(
        recipe, recipe.bind_rows([{}]), registry=registry, config=allowed(fake), secrets=[{"pinecone-key": fake.key}]
    )
    assert result.rows[0].outputs == {"count": 1}, result.rows[0].components
