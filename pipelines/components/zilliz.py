"""The ``zilliz`` data component: Zilliz Cloud, Milvus's hosted service, over the same
RESTful API v2 (Instill ``zilliz`` v0: ``TASK_VECTOR_SEARCH``, ``TASK_UPSERT``,
``TASK_BATCH_UPSERT``, ``TASK_DELETE``, ``TASK_CREATE_COLLECTION``,
``TASK_DROP_COLLECTION``, ``TASK_CREATE_PARTITION``, ``TASK_DROP_PARTITION``; setup
``url``, the cluster's public endpoint, and ``api-key``).

The tasks are :mod:`~pipelines.components.milvus`'s (the same calls and bodies, Zilliz's
errors in a 200 answer's ``code`` as Milvus's); the key is sent as
``Authorization: Bearer <api-key>``, and ``index-params`` of a new collection is one
object, as Instill's Zilliz definition has it (a list is taken too).
"""

from __future__ import annotations

from pipelines.components import milvus
from pipelines.components import vector_stores as vs

SETUP_SCHEMA = vs.setup_schema(
    "Zilliz Connection",
    {
        "url": vs.string("Zilliz URL Endpoint", "Fill in your Zilliz public URL endpoint."),
        "api-key": vs.string("Zilliz API Key", "Fill in your Zilliz API key."),
    },
    ["url", "api-key"],
)
CREATE_COLLECTION_INPUT = {
    **milvus.CREATE_COLLECTION_INPUT,
    "properties": {
        **milvus.CREATE_COLLECTION_INPUT["properties"],
        "index-params": vs.obj("Index Parameters", "The index parameters to be applied to the collection."),
    },
}
TASK_NAMES = (
    "TASK_VECTOR_SEARCH",
    "TASK_UPSERT",
    "TASK_BATCH_UPSERT",
    "TASK_DELETE",
    "TASK_CREATE_COLLECTION",
    "TASK_DROP_COLLECTION",
    "TASK_CREATE_PARTITION",
    "TASK_DROP_PARTITION",
)
TASKS: list[vs.TaskSpec] = [
    (name, title, text, CREATE_COLLECTION_INPUT if name == "TASK_CREATE_COLLECTION" else input, output, run)
    for name, title, text, input, output, run in milvus.TASKS
    if name in TASK_NAMES
]

COMPONENT = vs.definition("zilliz", "Zilliz", SETUP_SCHEMA, frozenset({"api-key"}), TASKS)
