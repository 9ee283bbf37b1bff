"""The vector stores in ``/v1beta/component-definitions``: Instill's ids, data type,
task names (in Instill's order) and setup fields, with the input fields its recipes use."""

from __future__ import annotations

import pytest

URL = "/v1beta/component-definitions"

# Instill's pkg/component/data/<type>/v0/config/definition.yaml availableTasks and setup.yaml;
# Zilliz's are Milvus's but the index tasks.
ZILLIZ = [
    "TASK_VECTOR_SEARCH", "TASK_UPSERT", "TASK_BATCH_UPSERT", "TASK_DELETE",
    "TASK_CREATE_COLLECTION", "TASK_DROP_COLLECTION", "TASK_CREATE_PARTITION", "TASK_DROP_PARTITION",
]  # fmt: skip
INSTILL = {
    "qdrant": (
        [
            "TASK_VECTOR_SEARCH",
            "TASK_BATCH_UPSERT",
            "TASK_UPSERT",
            "TASK_DELETE",
            "TASK_CREATE_COLLECTION",
            "TASK_DELETE_COLLECTION",
        ],
        {"api-key", "url"},
    ),
    "pinecone": (["TASK_QUERY", "TASK_UPSERT", "TASK_BATCH_UPSERT", "TASK_RERANK"], {"api-key", "url"}),
    "weaviate": (
        [
            "TASK_VECTOR_SEARCH",
            "TASK_INSERT",
            "TASK_BATCH_INSERT",
            "TASK_DELETE",
            "TASK_UPDATE",
            "TASK_DELETE_COLLECTION",
        ],
        {"api-key", "url"},
    ),
    "milvus": ([*ZILLIZ, "TASK_CREATE_INDEX", "TASK_DROP_INDEX"], {"url", "username", "password"}),
    "zilliz": (ZILLIZ, {"url", "api-key"}),
    "chroma": (
        [
            "TASK_BATCH_UPSERT",
            "TASK_UPSERT",
            "TASK_QUERY",
            "TASK_DELETE",
            "TASK_CREATE_COLLECTION",
            "TASK_DELETE_COLLECTION",
        ],
        {"api-key", "url"},
    ),
}


@pytest.mark.parametrize("component_type", sorted(INSTILL))
def test_each_store_is_listed_as_instill_defines_it(anon, db, component_type):
    tasks, setup = INSTILL[component_type]
    response = anon.get(f"{URL}/{component_type}?view=VIEW_FULL")
    assert response.status_code == 200, response.content
    body = response.json()["componentDefinition"]
    assert body["id"] == component_type and body["type"] == "COMPONENT_TYPE_DATA"
    assert [t["name"] for t in body["tasks"]] == tasks
    branches = body["spec"]["componentSpecification"]["oneOf"]
    assert all(set(b["properties"]["setup"]["properties"]) == setup for b in branches)


def test_stores_are_found_by_type_and_task(anon, db):
    found = anon.get(f'{URL}?pageSize=100&filter=component_type="COMPONENT_TYPE_DATA"').json()
    assert set(INSTILL) <= {d["id"] for d in found["componentDefinitions"]}
    rerank = anon.get(f'{URL}?filter=tasks:"TASK_RERANK"').json()
    assert [d["id"] for d in rerank["componentDefinitions"]] == ["pinecone"]
