"""The ``zilliz`` component (Zilliz Cloud: Milvus's RESTful API v2 with an API key)
against the local Milvus wire-format server (tests/components/fake_vector_stores.py)."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.zilliz import COMPONENT
from pipelines.engine import RecipeInvalid, parse_recipe
from pipelines.engine.components import ComponentError
from tests.api.test_vector_store_definitions import ZILLIZ
from tests.components.fake_vector_stores import FakeStore, start_milvus
from tests.components.fake_vendor import fixtures, run_task

vendor_server, fake = fixtures(start_milvus)


async def run(fake: FakeStore, task: str, input: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    config = {"openai_backoff_seconds": 0.01, "llm_allowed_hosts": (fake.base_url.removeprefix("http://"),)}
    return await run_task(COMPONENT, task, input, {"url": fake.base_url, "api-key": key or fake.key}, config, None)


async def test_instills_eight_tasks_with_the_api_key(fake):
    assert list(COMPONENT.tasks) == ZILLIZ
    index = {"fieldName": "vector", "indexName": "vi", "metricType": "L2"}
    await run(fake, "TASK_CREATE_COLLECTION", {"collection-name": "docs", "dimension": 2, "index-params": index})
    assert fake.requests[-1].headers["authorization"] == f"Bearer {fake.key}"
    assert fake.requests[-1].body["indexParams"] == [index]  # Instill's one object, sent as Milvus's list
    await run(fake, "TASK_BATCH_UPSERT", {"collection-name": "docs", "array-data": [{"id": 1, "vector": [1, 0]}]})
    found = await run(
        fake, "TASK_VECTOR_SEARCH", {"collection-name": "docs", "vector": [1, 0], "vector-field": "vector", "limit": 1}
    )
    assert found["result"]["ids"] == ["1"]
    assert await run(fake, "TASK_CREATE_PARTITION", {"collection-name": "docs", "partition-name": "p"}) == {
        "status": "Successfully created 1 partition"
    }
    assert await run(fake, "TASK_DROP_COLLECTION", {"collection-name": "docs"}) == {
        "status": "Successfully dropped 1 collection"
    }
    with pytest.raises(ComponentError, match="answered code 1800: user hasn't authenticated"):
        await run(fake, "TASK_DROP_COLLECTION", {"collection-name": "docs"}, key="wrong")


def test_the_key_must_be_a_secret():
    recipe = """
version: v1beta
component:
  zilliz-0:
    type: zilliz
    task: TASK_DROP_COLLECTION
    input:
      collection-name: docs
    setup:
      url: https://in03-abc.api.gcp-us-west1.zillizcloud.com
      api-key: plain-key
"""
    with pytest.raises(RecipeInvalid, match="Plaintext values are forbidden in credential fields"):
        parse_recipe(recipe, registry=default_registry())
