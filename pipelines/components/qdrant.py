"""The ``qdrant`` data component: points in Qdrant collections over its REST API
(Instill ``qdrant`` v0: ``TASK_VECTOR_SEARCH``, ``TASK_BATCH_UPSERT``, ``TASK_UPSERT``,
``TASK_DELETE``, ``TASK_CREATE_COLLECTION``, ``TASK_DELETE_COLLECTION``; setup
``api-key`` and ``url``).

- upserts ``PUT /collections/{name}/points?wait=true&ordering=...`` with a ``batch`` of
  ids, vectors and payloads (the metadata). Qdrant's ids are unsigned integers or UUIDs:
  an id of digits is sent as the integer;
- search ``POST /collections/{name}/points/search`` with ``with_vector`` and the payloads
  asked for; each point of the result carries its payload, ``id``, ``score`` and
  ``vector``;
- delete ``POST /collections/{name}/points/delete?wait=true&ordering=...`` by id or filter;
- collections ``PUT`` / ``DELETE /collections/{name}`` (the ``config`` is Qdrant's body).

The key is sent as Qdrant's ``api-key`` header; see :mod:`.vector_stores` for the
endpoint, the outbound guard and retries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.components import vector_stores as vs
from pipelines.engine.components import ComponentError, TaskContext

ORDERINGS = ("weak", "medium", "strong")
_ORDERING = vs.string("Ordering", "The ordering guarantees of the batch upsert.", default="weak", enum=list(ORDERINGS))
_ID = vs.string("ID", "The ID of the point.")
_METADATA = vs.obj("Metadata", "The vector metadata payload.")
_FILTER = vs.obj("Filter", "The properties filter to be applied to the data with Qdrant filter.")

SETUP_SCHEMA = vs.setup_schema(
    "Qdrant Connection",
    {
        "api-key": vs.string(
            "API Key", "Fill in your Qdrant API key. Please refer to clusters in Qdrant data access control."
        ),
        "url": vs.string(
            "Qdrant URL Endpoint",
            "Fill in your Qdrant URL endpoint. Please refer to clusters in Qdrant cluster details.",
        ),
    },
    ["api-key", "url"],
)

SEARCH_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to perform vector similarity search on."),
        "vector": vs.vector(description="An array of dimensions for the vector query."),
        "limit": vs.integer("Limit", "The limit of points, empty for all points."),
        "payloads": vs.strings(
            "Payloads", "The payloads to return in the points. If empty then all payloads will be returned."
        ),
        "filter": _FILTER,
        "params": vs.obj("Params", "The additional parameters to be passed to the search."),
        "min-score": vs.number("Min Score", "The minimum score of the points to be returned."),
    },
    ["collection-name", "vector", "limit"],
)
SEARCH_OUTPUT = vs.status_output("Vector search status.", result=vs.search_result("points", "Points"))
BATCH_UPSERT_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to upsert the point into."),
        "array-id": vs.strings("Array ID", "The array of id."),
        "array-metadata": vs.objects("Array Metadata", "The array of vector metadata payload."),
        "array-vector": vs.vectors(),
        "ordering": _ORDERING,
    },
    ["collection-name", "array-id", "array-vector"],
)
UPSERT_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to upsert the point into."),
        "id": _ID,
        "metadata": _METADATA,
        "vector": vs.vector(),
        "ordering": _ORDERING,
    },
    ["collection-name", "id", "vector"],
)
DELETE_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to delete the object from."),
        "id": _ID,
        "filter": _FILTER,
        "ordering": _ORDERING,
    },
    ["collection-name"],
)
CREATE_COLLECTION_INPUT = vs.io(
    {
        "collection-name": vs.collection("The name of the collection to create."),
        "config": vs.obj("Config", "The configuration of the collection (Qdrant's create-collection body)."),
    },
    ["collection-name", "config"],
)
DELETE_COLLECTION_INPUT = vs.io(
    {"collection-name": vs.collection("The name of the collection to delete.")}, ["collection-name"]
)


def _headers(setup: Mapping[str, Any]) -> dict[str, str]:
    key = setup.get("api-key")
    return {"api-key": str(key)} if key else {}


async def _call(ctx: TaskContext, method: str, path: str, body: Any = None) -> Any:
    base = vs.endpoint(ctx, "Qdrant", "https://xyz.cloud.qdrant.io:6333", default_scheme="http")
    return await vs.call(ctx, method, base, path, body, headers=_headers(ctx.setup))


def _point_id(value: Any, field: str) -> int | str:
    """Qdrant's id: an unsigned integer (digits) or a UUID string."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if not isinstance(value, str) or not value:
        raise ComponentError(f"{field} must be an unsigned integer or a UUID.")
    return int(value) if value.isdigit() else value


def _ordering(input: Mapping[str, Any]) -> str:
    ordering = input.get("ordering") or "weak"
    if ordering not in ORDERINGS:
        raise ComponentError(f"ordering must be one of {', '.join(ORDERINGS)}.")
    return str(ordering)


async def _upsert(
    ctx: TaskContext, input: Mapping[str, Any], ids: list[Any], vectors: list[Any], payloads: list[Any]
) -> None:
    collection = vs.name(input, "collection-name")
    body = {"batch": {"ids": ids, "vectors": vectors, "payloads": payloads}}
    await _call(ctx, "PUT", f"/collections/{collection}/points?wait=true&ordering={_ordering(input)}", body)


async def run_upsert(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    metadata = vs.mapping(input, "metadata") or {}
    await _upsert(
        ctx, input, [_point_id(input.get("id"), "id")], [vs.floats(input.get("vector"), "vector")], [metadata]
    )
    return {"status": "Successfully upserted 1 point"}


async def run_batch_upsert(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    ids = vs.listed(input, "array-id") or []
    vectors = vs.listed(input, "array-vector") or []
    metadata = vs.listed(input, "array-metadata", required=False)
    counts = {"array-id": len(ids), "array-vector": len(vectors)}
    if metadata is not None:
        counts["array-metadata"] = len(metadata)
    vs.same_length(counts)
    payloads = []
    for i in range(len(ids)):
        payload = metadata[i] if metadata is not None else {}
        if not isinstance(payload, Mapping):
            raise ComponentError(f"array-metadata[{i}] must be an object.")
        payloads.append(dict(payload))
    await _upsert(
        ctx,
        input,
        [_point_id(v, f"array-id[{i}]") for i, v in enumerate(ids)],
        [vs.floats(v, f"array-vector[{i}]") for i, v in enumerate(vectors)],
        payloads,
    )
    return {"status": f"Successfully batch upserted {len(vectors)} points"}


async def run_vector_search(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    collection = vs.name(input, "collection-name")
    payloads = vs.listed(input, "payloads", required=False)
    body: dict[str, Any] = {
        "vector": vs.floats(input.get("vector"), "vector"),
        "limit": vs.positive(input, "limit", required=True),
        "with_vector": True,
        "with_payload": payloads if payloads is not None else True,
    }
    for field, sent in (("filter", "filter"), ("params", "params")):
        value = vs.mapping(input, field)
        if value is not None:
            body[sent] = value
    min_score = input.get("min-score")
    if min_score is not None:
        if isinstance(min_score, bool) or not isinstance(min_score, int | float):
            raise ComponentError("min-score must be a number.")
        if min_score:
            body["score_threshold"] = min_score
    where = f"/collections/{collection}/points/search"
    answer = vs.answer_object(await _call(ctx, "POST", where, body), where)
    found = answer.get("result")
    if not isinstance(found, list):
        raise ComponentError(f"{where} answered without a result list.")
    ids: list[str] = []
    points: list[dict[str, Any]] = []
    vectors: list[Any] = []
    metadata: list[Any] = []
    for hit in found:
        if not isinstance(hit, Mapping):
            continue
        payload = vs.part(hit, "payload")
        point_id = str(hit.get("id"))
        point: dict[str, Any] = {**payload, "id": point_id, "score": hit.get("score"), "vector": hit.get("vector")}
        for extra in ("version", "shard_key", "order_value"):
            if hit.get(extra):
                point[extra] = hit[extra]
        ids.append(point_id)
        points.append(point)
        vectors.append(hit.get("vector"))
        metadata.append(dict(payload))
    result = {"ids": ids, "points": points, "vectors": vectors, "metadata": metadata}
    return {"status": f"Successfully vector searched {len(points)} points", "result": result}


async def run_delete(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    collection = vs.name(input, "collection-name")
    filter = vs.mapping(input, "filter")
    if input.get("id") in (None, "") and filter is None:
        raise ComponentError("id or filter is required: which points to delete.")
    body: dict[str, Any] = {}
    if input.get("id") not in (None, ""):
        body["points"] = [_point_id(input["id"], "id")]
    if filter is not None:
        body["filter"] = filter
    await _call(ctx, "POST", f"/collections/{collection}/points/delete?wait=true&ordering={_ordering(input)}", body)
    return {"status": "Successfully deleted points"}


async def run_create_collection(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    collection = vs.name(input, "collection-name")
    config = vs.mapping(input, "config", required=True)
    await _call(ctx, "PUT", f"/collections/{collection}", config)
    return {"status": "Successfully created 1 collection"}


async def run_delete_collection(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    collection = vs.name(input, "collection-name")
    await _call(ctx, "DELETE", f"/collections/{collection}")
    return {"status": "Successfully deleted 1 collection"}


COMPONENT = vs.definition(
    "qdrant",
    "Qdrant",
    SETUP_SCHEMA,
    frozenset({"api-key"}),
    [
        vs.vector_search(SEARCH_INPUT, SEARCH_OUTPUT, run_vector_search),
        (
            "TASK_BATCH_UPSERT",
            "Batch Upsert",
            "Insert multiple vector points into a collection",
            BATCH_UPSERT_INPUT,
            vs.status_output("Batch upsert status."),
            run_batch_upsert,
        ),
        (
            "TASK_UPSERT",
            "Upsert",
            "Upsert a vector point into a collection",
            UPSERT_INPUT,
            vs.status_output("Upsert status."),
            run_upsert,
        ),
        (
            "TASK_DELETE",
            "Delete",
            "Delete vector points from a collection",
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
