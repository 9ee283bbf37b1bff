"""The ``chroma`` data component: items in Chroma collections over Chroma's HTTP API
(Instill ``chroma`` v0: ``TASK_BATCH_UPSERT``, ``TASK_UPSERT``, ``TASK_QUERY``,
``TASK_DELETE``, ``TASK_CREATE_COLLECTION``, ``TASK_DELETE_COLLECTION``; setup
``api-key`` and ``url``).

Instill spoke Chroma's v1 API, which Chroma servers since 1.0 refuse ("The v1 API is
deprecated"); this speaks v2, in the default tenant and database
(``/api/v2/tenants/default_tenant/databases/default_database``), with the bodies v1 had:

- a collection is looked up by name (``GET .../collections/{name}``) for its id, then
  items are upserted (``POST .../collections/{id}/upsert``: ``ids``, ``embeddings``,
  ``metadatas``, ``documents``, ``uris``), queried (``.../query`` with
  ``query_embeddings``, ``n_results``, ``where``, ``where_document``) or deleted
  (``.../delete``; deleting nothing is an error, as in Instill);
- collections are created (``POST .../collections``: ``name``, ``metadata``,
  ``configuration``, ``get_or_create``) and deleted (``DELETE .../collections/{name}``).

The key is sent as ``Authorization: Bearer`` (Chroma's token authentication) when given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.components import vector_stores as vs
from pipelines.engine.components import ComponentError, TaskContext

API = "/api/v2/tenants/default_tenant/databases/default_database/collections"
_FILTER = vs.obj("Filter", "The metadata filter to be applied to the data with Chroma where filter.")
_FILTER_DOCUMENT = vs.string("Filter Document", "The document content filter to be applied to the data.")

SETUP_SCHEMA = vs.setup_schema(
    "Chroma Connection",
    {
        "api-key": vs.string("API Key", "Fill in your Chroma API key."),
        "url": vs.string(
            "Chroma URL Endpoint", "Fill in your Chroma hosted public URL endpoint with port, e.g http://1.2.3:8000."
        ),
    },
    ["api-key", "url"],
)
QUERY_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to perform vector similarity search on."),
        "vector": vs.vector(description="An array of dimensions for the vector query."),
        "n-results": vs.integer("N Results", "The N amount of items to return from the vector search operation."),
        "filter": _FILTER,
        "filter-document": _FILTER_DOCUMENT,
        "fields": vs.strings("Fields", "The fields to be returned from the vector search operation."),
    },
    ["collection-name", "vector", "n-results"],
)
QUERY_OUTPUT = vs.status_output("Vector search status.", result=vs.search_result("items", "Items"))
BATCH_UPSERT_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to upsert the item into."),
        "array-id": vs.strings("Array ID", "The array of id."),
        "array-metadata": vs.objects("Array Metadata", "The array of vector metadata."),
        "array-vector": vs.vectors(),
        "array-document": vs.strings("Array Document", "The array of document string values."),
        "array-uri": vs.strings("Array URI", "The array of uri."),
    },
    ["collection-name", "array-id", "array-metadata", "array-vector"],
)
UPSERT_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to upsert the item into."),
        "id": vs.string("ID", "The ID of the item."),
        "metadata": vs.obj("Metadata", "The vector metadata."),
        "vector": vs.vector(),
        "document": vs.string("Document", "The document string value."),
        "uri": vs.string("URI", "The uri of the item."),
    },
    ["collection-name", "id", "metadata", "vector"],
)
DELETE_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to delete the object from."),
        "id": vs.string("ID", "The ID of the item."),
        "filter": _FILTER,
        "filter-document": _FILTER_DOCUMENT,
    },
    ["collection-name"],
)
CREATE_COLLECTION_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to create."),
        "metadata": vs.obj("Config", "The metadata of the collection."),
        "configuration": vs.obj("Configuration", "The configuration of the collection."),
        "get-or-create": vs.boolean("Get or Create", "If true, the collection will be created if it does not exist."),
    },
    ["collection-name"],
)
DELETE_COLLECTION_INPUT = vs.io(
    {"collection-name": vs.collection("The name of the collection to delete.")}, ["collection-name"]
)


def _headers(setup: Mapping[str, Any]) -> dict[str, str]:
    key = setup.get("api-key")
    return {"Authorization": f"Bearer {key}"} if key else {}


async def _call(ctx: TaskContext, method: str, path: str, body: Any = None) -> Any:
    base = vs.endpoint(ctx, "Chroma", "http://localhost:8000", default_scheme="http")
    return await vs.call(ctx, method, base, API + path, body, headers=_headers(ctx.setup))


async def _collection_id(ctx: TaskContext, input: Mapping[str, Any]) -> str:
    name = vs.name(input, "collection-name")
    found = vs.answer_object(await _call(ctx, "GET", f"/{name}"), f"collection {name}")
    if not isinstance(found.get("id"), str) or not vs.NAME.fullmatch(found["id"]):
        raise ComponentError(f"Chroma answered collection {name} without an id.")
    return str(found["id"])


def _document_filter(input: Mapping[str, Any]) -> dict[str, Any] | None:
    """Instill's ``filter-document`` is Chroma's ``where_document``: an object, or a text it must contain."""
    value = input.get("filter-document")
    if value in (None, ""):
        return None
    if isinstance(value, str):
        return {"$contains": value}
    if isinstance(value, Mapping):
        return dict(value)
    raise ComponentError("filter-document must be a text to contain or a where_document object.")


def _metadata(value: Any, field: str) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        raise ComponentError(f"{field} must be an object.")
    return dict(value) or None  # Chroma refuses an empty metadata object


async def _upsert(ctx: TaskContext, input: Mapping[str, Any], body: dict[str, Any]) -> None:
    collection = await _collection_id(ctx, input)
    await _call(ctx, "POST", f"/{collection}/upsert", body)


async def run_upsert(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    item_id = vs.text(input, "id")
    if item_id is None:
        raise ComponentError("id is required: the ID of the item.")
    body: dict[str, Any] = {
        "ids": [item_id],
        "embeddings": [vs.floats(input.get("vector"), "vector")],
        "metadatas": [_metadata(input.get("metadata", {}), "metadata")],
    }
    for field, sent in (("document", "documents"), ("uri", "uris")):
        value = vs.text(input, field)
        if value is not None:
            body[sent] = [value]
    await _upsert(ctx, input, body)
    return {"status": "Successfully upserted 1 item"}


async def run_batch_upsert(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    ids = vs.listed(input, "array-id") or []
    vectors = vs.listed(input, "array-vector") or []
    metadata = vs.listed(input, "array-metadata") or []
    arrays = {"array-id": ids, "array-vector": vectors, "array-metadata": metadata}
    for field in ("array-document", "array-uri"):
        given = vs.listed(input, field, required=False)
        if given is not None:
            arrays[field] = given
    vs.same_length({field: len(values) for field, values in arrays.items()})
    if not all(isinstance(i, str) and i for i in ids):
        raise ComponentError("array-id must hold non-empty strings.")
    body: dict[str, Any] = {
        "ids": ids,
        "embeddings": [vs.floats(v, f"array-vector[{i}]") for i, v in enumerate(vectors)],
        "metadatas": [_metadata(m, f"array-metadata[{i}]") for i, m in enumerate(metadata)],
    }
    for field, sent in (("array-document", "documents"), ("array-uri", "uris")):
        if field in arrays:
            if not all(isinstance(v, str) for v in arrays[field]):
                raise ComponentError(f"{field} must hold strings.")
            body[sent] = arrays[field]
    await _upsert(ctx, input, body)
    return {"status": f"Successfully batch upserted {len(ids)} items"}


def _first(answer: Mapping[str, Any], key: str, count: int) -> list[Any]:
    """The first query's list of ``key`` (Chroma answers one list per query embedding)."""
    lists = answer.get(key)
    values = lists[0] if isinstance(lists, list) and lists and isinstance(lists[0], list) else None
    return values if values is not None and len(values) == count else [None] * count


async def run_query(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    body: dict[str, Any] = {
        "query_embeddings": [vs.floats(input.get("vector"), "vector")],
        "n_results": vs.positive(input, "n-results", required=True),
        "include": ["embeddings", "metadatas", "distances", "documents", "uris"],
    }
    where = vs.mapping(input, "filter")
    if where:
        body["where"] = where
    where_document = _document_filter(input)
    if where_document:
        body["where_document"] = where_document
    fields = vs.listed(input, "fields", required=False)
    collection = await _collection_id(ctx, input)
    answer = vs.answer_object(await _call(ctx, "POST", f"/{collection}/query", body), "query")
    lists = answer.get("ids")
    ids = lists[0] if isinstance(lists, list) and lists else None
    if not isinstance(ids, list):
        raise ComponentError("Chroma answered the query without ids.")
    count = len(ids)
    vectors = _first(answer, "embeddings", count)
    metadatas = [dict(m) if isinstance(m, Mapping) else {} for m in _first(answer, "metadatas", count)]
    if fields is not None:
        metadatas = [{k: v for k, v in m.items() if k in fields} for m in metadatas]
    distances = _first(answer, "distances", count)
    documents = _first(answer, "documents", count)
    uris = _first(answer, "uris", count)
    items = []
    for i, item_id in enumerate(ids):
        item = {k: v for k, v in metadatas[i].items() if k != "id"}
        item.update({"distance": distances[i], "id": item_id, "vector": vectors[i]})
        if uris[i] is not None:
            item["uri"] = uris[i]
        if documents[i] is not None:
            item["document"] = documents[i]
        items.append(item)
    result = {"ids": ids, "items": items, "vectors": vectors, "metadata": metadatas}
    return {"status": f"Successfully queryed {count} items", "result": result}


async def run_delete(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    body: dict[str, Any] = {}
    item_id = vs.text(input, "id")
    if item_id is not None:
        body["ids"] = [item_id]
    where = vs.mapping(input, "filter")
    if where is not None:
        body["where"] = where
    where_document = _document_filter(input)
    if where_document is not None:
        body["where_document"] = where_document
    if not body:
        raise ComponentError("id, filter or filter-document is required: which items to delete.")
    collection = await _collection_id(ctx, input)
    answer = await _call(ctx, "POST", f"/{collection}/delete", body)
    deleted = answer.get("deleted") if isinstance(answer, Mapping) else None
    if deleted == 0:
        raise ComponentError("item not found: nothing in the collection matched id, filter or filter-document.")
    shown = f"{deleted} items" if isinstance(deleted, int) else "the items"
    return {"status": f"Successfully deleted {shown}"}


async def run_create_collection(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    body: dict[str, Any] = {"name": vs.name(input, "collection-name")}
    for field in ("metadata", "configuration"):
        value = vs.mapping(input, field)
        if value:
            body[field] = value
    get_or_create = input.get("get-or-create", False)
    if not isinstance(get_or_create, bool):
        raise ComponentError("get-or-create must be true or false.")
    body["get_or_create"] = get_or_create
    await _call(ctx, "POST", "", body)
    return {"status": "Successfully created 1 collection"}


async def run_delete_collection(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    await _call(ctx, "DELETE", f"/{vs.name(input, 'collection-name')}")
    return {"status": "Successfully deleted 1 collection"}


COMPONENT = vs.definition(
    "chroma",
    "Chroma",
    SETUP_SCHEMA,
    frozenset({"api-key"}),
    [
        (
            "TASK_BATCH_UPSERT",
            "Batch Upsert",
            "Upsert multiple vector items into a collection, existing items will be updated",
            BATCH_UPSERT_INPUT,
            vs.status_output("Batch add status."),
            run_batch_upsert,
        ),
        (
            "TASK_UPSERT",
            "Upsert",
            "Upsert a vector item into a collection, existing item will be updated",
            UPSERT_INPUT,
            vs.status_output("Add status."),
            run_upsert,
        ),
        ("TASK_QUERY", "Query", "Perform a vector search on a collection", QUERY_INPUT, QUERY_OUTPUT, run_query),
        (
            "TASK_DELETE",
            "Delete",
            "Delete vector items from a collection",
            DELETE_INPUT,
            vs.status_output("Delete status."),
            run_delete,
        ),
        (
            "TASK_CREATE_COLLECTION",
            "Create Collection",
            "Create a collection",
            CREATE_COLLECTION_INPUT,
            vs.status_output("Create collection status."),
            run_create_collection,
        ),
        (
            "TASK_DELETE_COLLECTION",
            "Delete Collection",
            "Delete a collection",
            DELETE_COLLECTION_INPUT,
            vs.status_output("Delete collection status."),
            run_delete_collection,
        ),
    ],
)
