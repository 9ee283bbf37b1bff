"""The ``weaviate`` data component: objects in Weaviate collections (classes) over its
REST and GraphQL APIs (Instill ``weaviate`` v0: ``TASK_VECTOR_SEARCH``, ``TASK_INSERT``,
``TASK_BATCH_INSERT``, ``TASK_DELETE``, ``TASK_UPDATE``, ``TASK_DELETE_COLLECTION``; setup
``api-key`` and ``url``, a host without scheme as Instill has it, https then).

- insert ``POST /v1/objects`` (``class``, ``id``, ``properties``: the metadata, ``vector``);
  batch insert ``POST /v1/batch/objects``, where an object Weaviate refuses fails the task
  with its message;
- update ``PATCH /v1/objects/{class}/{id}`` (a merge, as Instill's);
- delete ``DELETE /v1/objects/{class}/{id}`` by id, or ``DELETE /v1/batch/objects`` with a
  ``match`` of the ``filter`` (Weaviate's where filter: ``path``, ``operator``,
  ``value*``, ``operands``);
- vector search is a GraphQL ``Get`` (``POST /v1/graphql``) with ``nearVector``, ``where``,
  ``limit`` and ``tenant``, asking for the ``fields`` (all the collection's properties,
  from ``GET /v1/schema/{class}``, when none are named) and ``_additional { id distance
  vector }``;
- delete collection ``DELETE /v1/schema/{class}``.

The key is sent as ``Authorization: Bearer``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pipelines.components import vector_stores as vs
from pipelines.engine.components import ComponentError, TaskContext

#: A GraphQL name: Weaviate's class and property names.
_GRAPHQL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,230}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
OPERATORS = (
    "And",
    "Or",
    "Equal",
    "NotEqual",
    "GreaterThan",
    "GreaterThanEqual",
    "LessThan",
    "LessThanEqual",
    "Like",
    "WithinGeoRange",
    "IsNull",
    "ContainsAny",
    "ContainsAll",
)
VALUE_KEYS = ("valueInt", "valueBoolean", "valueString", "valueText", "valueNumber", "valueDate")
_FILTER = vs.obj(
    "Filter",
    "The properties filter to be applied to the data with GraphQL queries, which starts with WHERE field "
    "(path, operator, valueText ..., operands).",
)

SETUP_SCHEMA = vs.setup_schema(
    "Weaviate Connection",
    {
        "api-key": vs.string("API Key", "Fill in your Weaviate API key. Please refer to clusters in Weaviate Console."),
        "url": vs.string(
            "Weaviate URL Endpoint",
            "Fill in your Weaviate base URL without https:// or http://. Please refer to clusters in Weaviate Console.",
        ),
    },
    ["api-key", "url"],
)
SEARCH_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to perform vector similarity search on."),
        "vector": vs.vector(description="An array of dimensions for the vector query."),
        "limit": vs.integer("Limit", "The limit of objects, empty for all objects."),
        "fields": vs.strings(
            "Fields", "The fields to return in the objects. If empty then all fields will be returned."
        ),
        "filter": _FILTER,
        "tenant": vs.string("Tenant", "The tenant to perform the vector search on."),
    },
    ["collection-name"],
)
SEARCH_OUTPUT = vs.status_output("Vector search status.", result=vs.search_result("objects", "Objects"))
INSERT_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to upsert the object into."),
        "id": vs.string("ID", "The ID of the object (a UUID)."),
        "vector": vs.vector(),
        "metadata": vs.obj("Metadata", "The vector metadata properties."),
    },
    ["collection-name", "vector", "metadata"],
)
BATCH_INSERT_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to upsert the object into."),
        "array-id": vs.strings("Array ID", "The array of id."),
        "array-metadata": vs.objects("Array Metadata", "The array of vector metadata properties."),
        "array-vector": vs.vectors(),
    },
    ["collection-name", "array-metadata", "array-vector"],
)
DELETE_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to delete the object from."),
        "id": vs.string("ID", "The ID of the object."),
        "filter": _FILTER,
    },
    ["collection-name"],
)
UPDATE_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to update the object in."),
        "id": vs.string("ID", "The ID of the object."),
        "update-vector": vs.vector("Update Vector", "The updated vector value, optional."),
        "update-metadata": vs.obj("Update Metadata", "The updated vector metadata properties, optional."),
    },
    ["collection-name", "id"],
)
DELETE_COLLECTION_INPUT = vs.io(
    {"collection-name": vs.collection("The name of the collection to delete.")}, ["collection-name"]
)


def _headers(setup: Mapping[str, Any]) -> dict[str, str]:
    key = setup.get("api-key")
    return {"Authorization": f"Bearer {key}"} if key else {}


async def _call(ctx: TaskContext, method: str, path: str, body: Any = None) -> Any:
    base = vs.endpoint(ctx, "Weaviate", "my-cluster.weaviate.network")
    return await vs.call(ctx, method, base, path, body, headers=_headers(ctx.setup))


def _class(input: Mapping[str, Any]) -> str:
    name = vs.name(input, "collection-name")
    if not _GRAPHQL_NAME.fullmatch(name):
        raise ComponentError(f"collection-name {name!r} must start with a letter and hold letters, digits and '_'.")
    return name


def _uuid(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise ComponentError(f"{field} must be a UUID (Weaviate's object ids are), got {value!r:.60}.")
    return value


def _properties(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ComponentError(f"{field} must be an object of properties.")
    return dict(value)


async def run_insert(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    body: dict[str, Any] = {
        "class": _class(input),
        "properties": _properties(input.get("metadata"), "metadata"),
        "vector": vs.floats(input.get("vector"), "vector"),
    }
    if input.get("id") not in (None, ""):
        body["id"] = _uuid(input["id"], "id")
    await _call(ctx, "POST", "/v1/objects", body)
    return {"status": "Successfully inserted 1 object"}


async def run_batch_insert(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    collection = _class(input)
    metadata = vs.listed(input, "array-metadata") or []
    vectors = vs.listed(input, "array-vector") or []
    ids = vs.listed(input, "array-id", required=False)
    counts = {"array-metadata": len(metadata), "array-vector": len(vectors)}
    if ids is not None:
        counts["array-id"] = len(ids)
    vs.same_length(counts)
    objects = []
    for i, properties in enumerate(metadata):
        item: dict[str, Any] = {
            "class": collection,
            "properties": _properties(properties, f"array-metadata[{i}]"),
            "vector": vs.floats(vectors[i], f"array-vector[{i}]"),
        }
        if ids is not None:
            item["id"] = _uuid(ids[i], f"array-id[{i}]")
        objects.append(item)
    answer = await _call(ctx, "POST", "/v1/batch/objects", {"objects": objects})
    for i, result in enumerate(answer if isinstance(answer, list) else []):
        errors = ((result or {}).get("result") or {}).get("errors") if isinstance(result, Mapping) else None
        if errors:
            messages = [e.get("message") for e in errors.get("error") or [] if isinstance(e, Mapping)]
            raise ComponentError(f"Weaviate refused object {i} of the batch: {'; '.join(map(str, messages))[:500]}")
    return {"status": f"Successfully batch inserted {len(objects)} objects"}


async def run_update(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    collection = _class(input)
    object_id = _uuid(input.get("id"), "id")
    vector = input.get("update-vector")
    metadata = input.get("update-metadata")
    if vector is None and metadata is None:
        raise ComponentError("update-vector or update-metadata is required: what to change.")
    body: dict[str, Any] = {"class": collection, "id": object_id}
    if metadata is not None:
        body["properties"] = _properties(metadata, "update-metadata")
    if vector is not None:
        body["vector"] = vs.floats(vector, "update-vector")
    await _call(ctx, "PATCH", f"/v1/objects/{collection}/{object_id}", body)
    return {"status": "Successfully updated 1 object"}


def where_filter(value: Any, field: str = "filter") -> str:
    """Instill's filter object as a GraphQL ``where`` argument (operators are enums,
    paths lists of strings, values JSON literals); anything else is refused by name."""
    if not isinstance(value, Mapping):
        raise ComponentError(f"{field} must be an object (path, operator, value...).")
    parts = []
    for key, item in value.items():
        if key == "operator":
            if item not in OPERATORS:
                raise ComponentError(f"{field}.operator must be one of {', '.join(OPERATORS)}.")
            parts.append(f"operator: {item}")
        elif key == "path":
            path = [item] if isinstance(item, str) else item
            if not isinstance(path, list) or not path or not all(isinstance(p, str) for p in path):
                raise ComponentError(f"{field}.path must be a property name or a list of them.")
            parts.append(f"path: {json.dumps(path)}")
        elif key == "operands":
            if not isinstance(item, list) or not item:
                raise ComponentError(f"{field}.operands must be a list of filters.")
            operands = ", ".join(where_filter(o, f"{field}.operands[{i}]") for i, o in enumerate(item))
            parts.append(f"operands: [{operands}]")
        elif key in VALUE_KEYS:
            if not isinstance(item, str | int | float | bool | list):
                raise ComponentError(f"{field}.{key} must be a value, not {type(item).__name__}.")
            parts.append(f"{key}: {json.dumps(item)}")
        else:
            raise ComponentError(
                f"{field} has an unknown key {key!r}: use path, operator, operands or {', '.join(VALUE_KEYS)}."
            )
    return "{" + ", ".join(parts) + "}"


def _rest_filter(value: Mapping[str, Any]) -> dict[str, Any]:
    """The filter as the REST API takes it: ``path`` always a list."""
    out = dict(value)
    if isinstance(out.get("path"), str):
        out["path"] = [out["path"]]
    if isinstance(out.get("operands"), list):
        out["operands"] = [_rest_filter(o) for o in out["operands"]]
    return out


async def _all_fields(ctx: TaskContext, collection: str) -> list[str]:
    schema = vs.answer_object(await _call(ctx, "GET", f"/v1/schema/{collection}"), "schema")
    return [
        p["name"] for p in schema.get("properties") or [] if isinstance(p, Mapping) and isinstance(p.get("name"), str)
    ]


async def run_vector_search(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    collection = _class(input)
    arguments = []
    if input.get("vector") is not None:
        arguments.append(f"nearVector: {{vector: {json.dumps(vs.floats(input['vector'], 'vector'))}}}")
    filter = input.get("filter")
    if filter:
        arguments.append(f"where: {where_filter(filter)}")
    limit = vs.positive(input, "limit")
    if limit:
        arguments.append(f"limit: {limit}")
    tenant = vs.text(input, "tenant")
    if tenant is not None:
        arguments.append(f"tenant: {json.dumps(tenant)}")
    fields = vs.listed(input, "fields", required=False)
    if fields is None:
        fields = await _all_fields(ctx, collection)
    for i, name in enumerate(fields):
        if not isinstance(name, str) or not _GRAPHQL_NAME.fullmatch(name):
            raise ComponentError(f"fields[{i}] must be a property name (letters, digits, '_').")
    selection = " ".join([*fields, "_additional { id distance vector }"])
    query = f"{{ Get {{ {collection}({', '.join(arguments)}) {{ {selection} }} }} }}"
    answer = vs.answer_object(await _call(ctx, "POST", "/v1/graphql", {"query": query}), "graphql")
    errors = answer.get("errors")
    if errors:
        messages = (
            [e.get("message") for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else [errors]
        )
        raise ComponentError(f"Weaviate refused the search: {'; '.join(map(str, messages))[:500]}")
    data = answer.get("data")
    found = data.get("Get", {}).get(collection) if isinstance(data, Mapping) else None
    if not isinstance(found, list):
        raise ComponentError(f"Weaviate answered the search without objects of {collection}.")
    ids, objects, vectors, metadata = [], [], [], []
    for item in found:
        if not isinstance(item, Mapping):
            continue
        extra = vs.part(item, "_additional")
        ids.append(str(extra.get("id")))
        vectors.append(extra.get("vector"))
        metadata.append({k: v for k, v in item.items() if k != "_additional"})
        objects.append(dict(item))
    result = {"ids": ids, "objects": objects, "vectors": vectors, "metadata": metadata}
    return {"status": f"Successfully found {len(objects)} objects", "result": result}


async def run_delete(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    collection = _class(input)
    if input.get("id") not in (None, ""):
        object_id = _uuid(input["id"], "id")
        await _call(ctx, "DELETE", f"/v1/objects/{collection}/{object_id}")
        return {"status": "Successfully deleted 1 objects"}
    filter = input.get("filter")
    if not filter:
        raise ComponentError("id or filter is required: which objects to delete.")
    where_filter(filter)  # refused here, by name, before Weaviate sees it
    match = {"class": collection, "where": _rest_filter(filter)}
    answer = await _call(ctx, "DELETE", "/v1/batch/objects", {"match": match})
    results = answer.get("results") if isinstance(answer, Mapping) else None
    successful = results.get("successful") if isinstance(results, Mapping) else None
    return {"status": f"Successfully deleted {successful if isinstance(successful, int) else 0} objects"}


async def run_delete_collection(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    await _call(ctx, "DELETE", f"/v1/schema/{_class(input)}")
    return {"status": "Successfully deleted 1 collection"}


COMPONENT = vs.definition(
    "weaviate",
    "Weaviate",
    SETUP_SCHEMA,
    frozenset({"api-key"}),
    [
        vs.vector_search(SEARCH_INPUT, SEARCH_OUTPUT, run_vector_search),
        (
            "TASK_INSERT",
            "Insert",
            "Insert a vector object into a collection",
            INSERT_INPUT,
            vs.status_output("Insert status."),
            run_insert,
        ),
        (
            "TASK_BATCH_INSERT",
            "Batch Insert",
            "Insert multiple vector objects into a collection",
            BATCH_INSERT_INPUT,
            vs.status_output("Batch insert status."),
            run_batch_insert,
        ),
        (
            "TASK_DELETE",
            "Delete",
            "Delete vector objects from a collection",
            DELETE_INPUT,
            vs.status_output("Delete status."),
            run_delete,
        ),
        (
            "TASK_UPDATE",
            "Update",
            "Update vector object in a collection",
            UPDATE_INPUT,
            vs.status_output("Update status."),
            run_update,
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
