"""The ``milvus`` data component: entities in Milvus collections over its RESTful API v2
(Instill ``milvus`` v0: ``TASK_VECTOR_SEARCH``, ``TASK_UPSERT``, ``TASK_BATCH_UPSERT``,
``TASK_DELETE``, ``TASK_CREATE_COLLECTION``, ``TASK_DROP_COLLECTION``,
``TASK_CREATE_PARTITION``, ``TASK_DROP_PARTITION``, ``TASK_CREATE_INDEX``,
``TASK_DROP_INDEX``; setup ``url``, ``username``, ``password``).

Every call is a ``POST /v2/vectordb/<resource>/<action>`` with ``collectionName`` (and
``partitionName``, ``data``, ``filter`` ...). Milvus answers HTTP 200 with ``code`` 0 on
success and another ``code`` with a ``message`` on failure, which fails the task.

- search loads the collection (``collections/load``), reads its fields
  (``collections/describe``: the primary key, and every field when ``fields`` is not
  given), then ``entities/search`` with ``annsField`` (``vector-field``), ``filter``,
  ``limit``, ``offset``, ``groupingField``, ``searchParams``; each entity found is
  answered whole in ``data``, its primary key in ``ids``, its vector in ``vectors``, its
  other fields in ``metadata``;
- dropping a collection, a partition or an index releases the collection first, as
  Instill does.

The credentials are sent as Milvus's ``Authorization: Bearer <username>:<password>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.components import vector_stores as vs
from pipelines.engine.components import ComponentError, TaskContext

__all__ = [
    "API",
    "BATCH_UPSERT_INPUT",
    "COLLECTION_ONLY",
    "COMPONENT",
    "CREATE_COLLECTION_INPUT",
    "CREATE_INDEX_INPUT",
    "DELETE_INPUT",
    "DROP_INDEX_INPUT",
    "METRIC_TYPES",
    "PARTITION_INPUT",
    "SEARCH_INPUT",
    "SEARCH_OUTPUT",
    "SETUP_SCHEMA",
    "TASKS",
    "UPSERT_INPUT",
    "run_batch_upsert",
    "run_create_collection",
    "run_create_index",
    "run_create_partition",
    "run_delete",
    "run_drop_collection",
    "run_drop_index",
    "run_drop_partition",
    "run_upsert",
    "run_vector_search",
]

API = "/v2/vectordb"
METRIC_TYPES = ("L2", "IP", "COSINE")
_PARTITION = vs.string(
    "Partition Name", "The name of the partition to upsert the data from. If empty then default partition will be used."
)

SETUP_SCHEMA = vs.setup_schema(
    "Milvus Connection",
    {
        "url": vs.string(
            "Milvus URL Endpoint",
            "Fill in your Milvus public URL endpoint with port number, e.g http://3.25.202.142:19530.",
        ),
        "username": vs.string("Milvus Username", "Fill in your Milvus username."),
        "password": vs.string("Milvus Password", "Fill in your Milvus password."),
    },
    ["url", "username", "password"],
)
SEARCH_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to perform vector similarity search on."),
        "partition-name": vs.string("Partition Name", "The name of the partition to vector search the data from."),
        "vector": vs.vector(description="An array of dimensions for the vector search."),
        "vector-field": vs.string("Vector Field", "The name of the field to perform vector search on."),
        "limit": vs.integer("Limit", "The limit of the data to return."),
        "fields": vs.strings("Fields", "The fields to return in the data. If empty then all fields will be returned."),
        "filter": vs.string("Filter", "The properties filter to be applied to the data with milvus scalar filter."),
        "offset": vs.integer("Offset", "The offset of the data to return."),
        "grouping-field": vs.string("Grouping Field", "The name of the field to group the data by."),
        "search-params": vs.obj(
            "Search Parameters", "The search parameters to be applied to the data with milvus search parameters."
        ),
    },
    ["collection-name", "vector", "vector-field", "limit"],
)
SEARCH_OUTPUT = vs.status_output("Search status.", result=vs.search_result("data", "Data"))
UPSERT_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to upsert the data into."),
        "partition-name": _PARTITION,
        "data": vs.obj("Data", "The data."),
    },
    ["collection-name", "data"],
)
BATCH_UPSERT_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to upsert the data into."),
        "partition-name": _PARTITION,
        "array-data": vs.objects("Array Data", "The data."),
    },
    ["collection-name", "array-data"],
)
DELETE_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to delete the data from."),
        "partition-name": vs.string(
            "Partition Name",
            "The name of the partition to delete the data from. If empty then default partition will be used.",
        ),
        "filter": vs.string("Filter", "The properties filter to be applied to the data with milvus scalar filter."),
    },
    ["collection-name"],
)
CREATE_COLLECTION_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to create."),
        "dimension": vs.integer("Dimension", "The dimension of the collection."),
        "id-type": vs.string("ID Type", "The type of the id."),
        "schema": vs.obj("Schema", "The schema of the collection."),
        "auto-id": vs.boolean("Auto ID", "Whether to auto generate id."),
        "metric-type": vs.string(
            "Metric Type", "The metric type of the collection.", enum=list(METRIC_TYPES), default="L2"
        ),
        "index-params": vs.objects("Index Parameters", "The index parameters to be applied to the collection."),
        "params": vs.obj("Parameters", "The parameters to be applied to the collection."),
    },
    ["collection-name", "dimension"],
)
COLLECTION_ONLY = vs.io({"collection-name": vs.collection("The name of the collection to drop.")}, ["collection-name"])
PARTITION_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection of the partition."),
        "partition-name": vs.string("Partition Name", "The name of the partition."),
    },
    ["collection-name", "partition-name"],
)
CREATE_INDEX_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to create the index in."),
        "index-params": vs.obj(
            "Index Parameters", "The index parameters to be applied to the collection with milvus index parameters."
        ),
    },
    ["collection-name", "index-params"],
)
DROP_INDEX_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to drop the index from."),
        "index-name": vs.string("Index Name", "The name of the index to drop."),
    },
    ["collection-name", "index-name"],
)


def _headers(setup: Mapping[str, Any]) -> dict[str, str]:
    """Milvus's ``<username>:<password>`` token, or an API key (Zilliz Cloud's, a platform key)."""
    if setup.get("api-key"):
        return {"Authorization": f"Bearer {setup['api-key']}"}
    username, password = setup.get("username") or "", setup.get("password") or ""
    return {"Authorization": f"Bearer {username}:{password}"} if username or password else {}


def _check(payload: Any, where: str) -> None:
    """Milvus reports its errors in a 200 answer: a ``code`` other than 0 (or 200), with a ``message``."""
    if not isinstance(payload, Mapping):
        raise ComponentError(f"{where} answered {type(payload).__name__} where an object was expected.")
    code = payload.get("code", 0)
    if code not in (0, 200):
        raise ComponentError(f"{where} answered code {code}: {str(payload.get('message') or 'no message')[:500]}")


async def _call(ctx: TaskContext, action: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
    base = vs.endpoint(ctx, "Milvus (or Zilliz Cloud)", "http://localhost:19530", default_scheme="http")
    answer: Mapping[str, Any] = await vs.call(
        ctx, "POST", base, f"{API}/{action}", body, headers=_headers(ctx.setup), check=_check
    )
    return answer


def _partition(input: Mapping[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    partition = vs.name(input, "partition-name", required=False)
    if partition:
        body["partitionName"] = partition
    return body


def _entity(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not value:
        raise ComponentError(f"{field} must be an object of the entity's fields.")
    return dict(value)


async def _upsert(ctx: TaskContext, input: Mapping[str, Any], data: list[dict[str, Any]]) -> int:
    body = _partition(input, {"collectionName": vs.name(input, "collection-name"), "data": data})
    answer = await _call(ctx, "entities/upsert", body)
    found = answer.get("data")
    count = found.get("upsertCount") if isinstance(found, Mapping) else None
    return count if isinstance(count, int) else len(data)


async def run_upsert(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    await _upsert(ctx, input, [_entity(input.get("data"), "data")])
    return {"status": "Successfully upserted 1 data"}


async def run_batch_upsert(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    data = vs.listed(input, "array-data") or []
    count = await _upsert(ctx, input, [_entity(d, f"array-data[{i}]") for i, d in enumerate(data)])
    return {"status": f"Successfully batch upserted {count} data"}


async def run_vector_search(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    collection = vs.name(input, "collection-name")
    vector_field = vs.text(input, "vector-field")
    if vector_field is None:
        raise ComponentError("vector-field is required: the field of the collection that holds the vectors.")
    body: dict[str, Any] = {
        "collectionName": collection,
        "data": [vs.floats(input.get("vector"), "vector")],
        "annsField": vector_field,
        "limit": vs.positive(input, "limit", required=True),
    }
    _partition(input, body)
    filter = vs.text(input, "filter")
    if filter:
        body["filter"] = filter
    offset = input.get("offset")
    if offset:
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ComponentError("offset must be a non-negative integer.")
        body["offset"] = offset
    grouping = vs.text(input, "grouping-field")
    if grouping:
        body["groupingField"] = grouping
    params = vs.mapping(input, "search-params")
    if params:
        body["searchParams"] = params
    asked = vs.listed(input, "fields", required=False)
    if asked is not None and not all(isinstance(f, str) for f in asked):
        raise ComponentError("fields must be a list of field names.")
    await _call(ctx, "collections/load", {"collectionName": collection})
    described = await _call(ctx, "collections/describe", {"collectionName": collection})
    info = vs.part(described, "data")
    schema = [f for f in info.get("fields") or [] if isinstance(f, Mapping)]
    primary = next((str(f.get("name")) for f in schema if f.get("primaryKey")), "id")
    body["outputFields"] = (
        [primary, vector_field, *asked] if asked is not None else [str(f.get("name")) for f in schema]
    )
    answer = await _call(ctx, "entities/search", body)
    found = [d for d in answer.get("data") or [] if isinstance(d, Mapping)]
    ids, vectors, metadata = [], [], []
    for entity in found:
        ids.append(str(entity.get(primary)))
        vectors.append(entity.get(vector_field))
        if asked is not None:
            metadata.append({f: entity.get(f) for f in asked})
        else:
            metadata.append({k: v for k, v in entity.items() if k not in ("distance", vector_field)})
    result = {"ids": ids, "data": [dict(d) for d in found], "vectors": vectors, "metadata": metadata}
    return {"status": f"Successfully searched {len(found)} data", "result": result}


async def run_delete(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    filter = vs.text(input, "filter")
    if filter is None:
        raise ComponentError("filter is required: which entities to delete, such as id in [1, 2].")
    body = _partition(input, {"collectionName": vs.name(input, "collection-name"), "filter": filter})
    await _call(ctx, "entities/delete", body)
    return {"status": "Successfully deleted data"}


async def run_create_collection(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    metric = input.get("metric-type") or "L2"
    if metric not in METRIC_TYPES:
        raise ComponentError(f"metric-type must be one of {', '.join(METRIC_TYPES)}.")
    auto_id = input.get("auto-id", False)
    if not isinstance(auto_id, bool):
        raise ComponentError("auto-id must be true or false.")
    body: dict[str, Any] = {
        "collectionName": vs.name(input, "collection-name"),
        "dimension": vs.positive(input, "dimension", required=True),
        "metricType": metric,
        "autoID": auto_id,
    }
    id_type = vs.text(input, "id-type")
    if id_type:
        body["idType"] = id_type
    for field, sent in (("schema", "schema"), ("params", "params")):
        value = vs.mapping(input, field)
        if value is not None:
            body[sent] = value
    index = input.get("index-params")
    if index is not None:
        items = [index] if isinstance(index, Mapping) else index
        if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
            raise ComponentError("index-params must be a list of index parameter objects.")
        body["indexParams"] = [dict(i) for i in items]
    await _call(ctx, "collections/create", body)
    return {"status": "Successfully created 1 collection"}


async def _released(ctx: TaskContext, collection: str) -> None:
    await _call(ctx, "collections/release", {"collectionName": collection})


async def run_drop_collection(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    collection = vs.name(input, "collection-name")
    await _released(ctx, collection)
    await _call(ctx, "collections/drop", {"collectionName": collection})
    return {"status": "Successfully dropped 1 collection"}


async def _partition_action(ctx: TaskContext, input: Mapping[str, Any], action: str) -> None:
    body = {"collectionName": vs.name(input, "collection-name"), "partitionName": vs.name(input, "partition-name")}
    if action == "drop":
        await _released(ctx, body["collectionName"])
    await _call(ctx, f"partitions/{action}", body)


async def run_create_partition(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    await _partition_action(ctx, input, "create")
    return {"status": "Successfully created 1 partition"}


async def run_drop_partition(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    await _partition_action(ctx, input, "drop")
    return {"status": "Successfully dropped 1 partition"}


async def run_create_index(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    params = vs.mapping(input, "index-params", required=True)
    await _call(ctx, "indexes/create", {"collectionName": vs.name(input, "collection-name"), "indexParams": [params]})
    return {"status": "Successfully created 1 index"}


async def run_drop_index(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    collection = vs.name(input, "collection-name")
    index = vs.name(input, "index-name")
    await _released(ctx, collection)
    await _call(ctx, "indexes/drop", {"collectionName": collection, "indexName": index})
    return {"status": "Successfully dropped 1 index"}


def _status(description: str) -> dict[str, Any]:
    return vs.status_output(description)


#: The tasks, in Instill's order (``zilliz`` has the first eight).
TASKS: list[vs.TaskSpec] = [
    vs.vector_search(SEARCH_INPUT, SEARCH_OUTPUT, run_vector_search),
    (
        "TASK_UPSERT",
        "Upsert",
        "Insert a vector data into a collection",
        UPSERT_INPUT,
        _status("Upsert status."),
        run_upsert,
    ),
    (
        "TASK_BATCH_UPSERT",
        "Batch Upsert",
        "Insert a batch of vector data into a collection",
        BATCH_UPSERT_INPUT,
        _status("Batch upsert status."),
        run_batch_upsert,
    ),
    (
        "TASK_DELETE",
        "Delete",
        "Delete vector data from a collection",
        DELETE_INPUT,
        _status("Delete status."),
        run_delete,
    ),
    (
        "TASK_CREATE_COLLECTION",
        "Create Collection",
        "Create a collection",
        CREATE_COLLECTION_INPUT,
        _status("Create collection status."),
        run_create_collection,
    ),
    (
        "TASK_DROP_COLLECTION",
        "Drop Collection",
        "Drop a collection",
        COLLECTION_ONLY,
        _status("Drop collection status."),
        run_drop_collection,
    ),
    (
        "TASK_CREATE_PARTITION",
        "Create Partition",
        "Create a partition in a collection",
        PARTITION_INPUT,
        _status("Create partition status."),
        run_create_partition,
    ),
    (
        "TASK_DROP_PARTITION",
        "Drop Partition",
        "Drop a partition from a collection",
        PARTITION_INPUT,
        _status("Drop partition status."),
        run_drop_partition,
    ),
    (
        "TASK_CREATE_INDEX",
        "Create Index",
        "Create an index in a collection",
        CREATE_INDEX_INPUT,
        _status("Create index status."),
        run_create_index,
    ),
    (
        "TASK_DROP_INDEX",
        "Drop Index",
        "Drop an index from a collection",
        DROP_INDEX_INPUT,
        _status("Drop index status."),
        run_drop_index,
    ),
]

COMPONENT = vs.definition("milvus", "Milvus", SETUP_SCHEMA, frozenset({"password"}), TASKS)
