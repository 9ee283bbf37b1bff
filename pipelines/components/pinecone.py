"""The ``pinecone`` data component: vectors in a Pinecone index and Pinecone's reranker
(Instill ``pinecone`` v0: ``TASK_QUERY``, ``TASK_UPSERT``, ``TASK_BATCH_UPSERT``,
``TASK_RERANK``; setup ``api-key`` and ``url``, the index's host).

- upserts ``POST {url}/vectors/upsert`` (``vectors`` of ``id``, ``values``, ``metadata``;
  ``namespace``) and answers Pinecone's ``upsertedCount``;
- queries ``POST {url}/query`` by vector or by the ``id`` of a stored vector (``topK``,
  ``filter``, ``includeValues``, ``includeMetadata``); matches under ``min-score`` are
  dropped, as Instill drops them;
- reranks with Pinecone's inference API, ``POST https://api.pinecone.io/rerank`` with
  Instill's model (``bge-reranker-v2-m3``). An index that is not on Pinecone's cloud (a
  ``url`` outside ``pinecone.io``: Pinecone Local, a compatible server) reranks at its
  own root.

The key is sent as Pinecone's ``Api-Key`` header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pipelines.components import vector_stores as vs
from pipelines.engine.components import ComponentError, TaskContext

INFERENCE_URL = "https://api.pinecone.io"
API_VERSION = "2024-10"
RERANK_MODEL = "bge-reranker-v2-m3"
_NAMESPACE = vs.string("Namespace", "The namespace to query or write (the default namespace when empty).")
_METADATA = vs.obj("Metadata", "The vector metadata.")

SETUP_SCHEMA = vs.setup_schema(
    "Pinecone Connection",
    {
        "api-key": vs.string(
            "API Key", "Fill in your Pinecone AI API key. You can create an api key in Pinecone Console."
        ),
        "url": vs.string(
            "Pinecone Index URL",
            "Fill in your Pinecone index URL. It is in the form of https://{index_name}-{project_id}.svc.{environment}.pinecone.io.",
        ),
    },
    ["api-key"],
)
QUERY_INPUT = vs.io(
    {
        "id": vs.string(
            "ID",
            "The unique ID of the vector to be used as a query vector. If present, the vector parameter will be ignored.",
        ),
        "vector": vs.vector(description="An array of dimensions for the query vector."),
        "top-k": vs.integer("Top K", "The number of results to return for each query."),
        "namespace": _NAMESPACE,
        "filter": vs.obj("Filter", "The filter to apply on vector metadata, in Pinecone's metadata filter language."),
        "min-score": vs.number("Minimum Score", "Exclude results whose score is below this value."),
        "include-metadata": vs.boolean(
            "Include Metadata", "Indicates whether metadata is included in the response as well as the IDs."
        ),
        "include-values": vs.boolean("Include Values", "Indicates whether vector values are included in the response."),
    },
    ["top-k", "vector"],
)
QUERY_OUTPUT = vs.io(
    {
        "matches": {
            "type": "array",
            "title": "Matches",
            "items": {
                "type": "object",
                "title": "Match",
                "properties": {
                    "id": {"type": "string", "title": "ID"},
                    "metadata": {"type": "object", "title": "Metadata"},
                    "score": {"type": "number", "title": "Score"},
                    "values": {"type": "array", "title": "Values", "items": {"type": "number"}},
                },
                "required": ["id", "score"],
            },
        },
        "namespace": vs.string("Namespace", "The namespace of the query."),
    },
    ["namespace", "matches"],
    "Output",
)
UPSERT_INPUT = vs.io(
    {
        "id": vs.string("ID", "This is the vector's unique id."),
        "metadata": _METADATA,
        "values": vs.vector("Values", "An array of dimensions for the vector to be saved."),
        "namespace": _NAMESPACE,
    },
    ["id", "values"],
)
BATCH_UPSERT_INPUT = vs.io(
    {
        "vectors": {
            "type": "array",
            "title": "Vectors",
            "description": "Array of vectors to upsert.",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "id": vs.string("ID", "The unique ID of the vector."),
                    "metadata": _METADATA,
                    "values": vs.vector("Values", "An array of dimensions for the vector to be saved."),
                },
                "required": ["id", "values"],
            },
        },
        "namespace": _NAMESPACE,
    },
    ["vectors"],
)
UPSERT_OUTPUT = vs.io(
    {"upserted-count": vs.integer("Upserted Count", "Number of records modified or added.")},
    ["upserted-count"],
    "Output",
)
RERANK_INPUT = vs.io(
    {
        "query": vs.string("Query", "The query to rerank the documents."),
        "documents": vs.strings("Documents", "The documents to rerank."),
        "top-n": vs.integer(
            "Top N", "The number of results to return sorted by relevance. Defaults to the number of inputs."
        ),
    },
    ["query", "documents"],
)
RERANK_OUTPUT = vs.io(
    {
        "documents": {"type": "array", "title": "Reranked documents.", "items": {"type": "string"}},
        "scores": {"type": "array", "title": "Scores", "items": {"type": "number"}},
    },
    ["documents", "scores"],
    "Output",
)


def _headers(setup: Mapping[str, Any]) -> dict[str, str]:
    headers = {"User-Agent": "source_tag=instillai", "X-Pinecone-API-Version": API_VERSION}
    if setup.get("api-key"):
        headers["Api-Key"] = str(setup["api-key"])
    return headers


def _index(ctx: TaskContext) -> str:
    return vs.endpoint(ctx, "Pinecone index", "https://my-index-abc123.svc.us-east1-gcp.pinecone.io")


def _namespace(input: Mapping[str, Any]) -> str:
    return vs.text(input, "namespace") or ""


def _vector(value: Any, where: str) -> dict[str, Any]:
    """One vector: ``where`` is its place in the input (``vectors[2].``; empty: the input itself)."""
    if not isinstance(value, Mapping):
        raise ComponentError(f"{where.rstrip('.')} must be an object with an id and values.")
    vector_id = value.get("id")
    if not isinstance(vector_id, str) or not vector_id:
        raise ComponentError(f"{where}id is required: the vector's unique id.")
    out: dict[str, Any] = {"id": vector_id, "values": vs.floats(value.get("values"), f"{where}values")}
    metadata = value.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise ComponentError(f"{where}metadata must be an object.")
        out["metadata"] = dict(metadata)
    return out


async def _upsert(ctx: TaskContext, vectors: list[dict[str, Any]], namespace: str) -> dict[str, Any]:
    body: dict[str, Any] = {"vectors": vectors}
    if namespace:
        body["namespace"] = namespace
    answer = vs.answer_object(
        await vs.call(ctx, "POST", _index(ctx), "/vectors/upsert", body, headers=_headers(ctx.setup)), "upsert"
    )
    count = answer.get("upsertedCount")
    return {"upserted-count": count if isinstance(count, int) else len(vectors)}


async def run_upsert(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    # Instill's TASK_UPSERT has the vector's fields at the top of its input.
    vector = _vector({key: input.get(key) for key in ("id", "values", "metadata")}, "")
    return await _upsert(ctx, [vector], _namespace(input))


async def run_batch_upsert(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    vectors = vs.listed(input, "vectors") or []
    return await _upsert(ctx, [_vector(v, f"vectors[{i}].") for i, v in enumerate(vectors)], _namespace(input))


async def run_query(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    body: dict[str, Any] = {
        "namespace": _namespace(input),
        "topK": vs.positive(input, "top-k", required=True),
        "includeValues": bool(input.get("include-values", False)),
        "includeMetadata": bool(input.get("include-metadata", False)),
    }
    query_id = vs.text(input, "id")
    if query_id is not None:  # by a stored vector's id: the vector is ignored, as in Instill
        body["id"] = query_id
    else:
        body["vector"] = vs.floats(input.get("vector"), "vector")
    filter = vs.mapping(input, "filter")
    if filter:
        body["filter"] = filter
    min_score = input.get("min-score")
    if min_score is not None and (isinstance(min_score, bool) or not isinstance(min_score, int | float)):
        raise ComponentError("min-score must be a number.")
    answer = vs.answer_object(
        await vs.call(ctx, "POST", _index(ctx), "/query", body, headers=_headers(ctx.setup)), "query"
    )
    matches = []
    for match in answer.get("matches") or []:
        if not isinstance(match, Mapping):
            continue
        score = match.get("score")
        if min_score and isinstance(score, int | float) and score < min_score:
            continue
        out = {"id": match.get("id"), "score": score}
        if match.get("values"):
            out["values"] = match["values"]
        if match.get("metadata") is not None:
            out["metadata"] = match["metadata"]
        matches.append(out)
    return {"namespace": str(answer.get("namespace") or ""), "matches": matches}


def _inference_root(ctx: TaskContext) -> str:
    url = ctx.setup.get("url")
    if isinstance(url, str) and url:
        host = urlsplit(url if "://" in url else f"https://{url}").hostname or ""
        if host != "pinecone.io" and not host.endswith(".pinecone.io"):
            return _index(ctx)
    return INFERENCE_URL


async def run_rerank(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    query = vs.text(input, "query")
    if query is None:
        raise ComponentError("query is required: the query to rerank the documents by.")
    documents = vs.listed(input, "documents") or []
    if not all(isinstance(d, str) for d in documents):
        raise ComponentError("documents must be a list of strings.")
    body: dict[str, Any] = {"model": RERANK_MODEL, "query": query, "documents": [{"text": d} for d in documents]}
    top_n = vs.positive(input, "top-n")
    if top_n:
        body["top_n"] = top_n
    answer = vs.answer_object(
        await vs.call(ctx, "POST", _inference_root(ctx), "/rerank", body, headers=_headers(ctx.setup)), "rerank"
    )
    ranked = [d for d in answer.get("data") or [] if isinstance(d, Mapping)]
    texts = []
    for d in ranked:
        index = d.get("index")
        document = d.get("document")
        text = document.get("text") if isinstance(document, Mapping) else None
        if text is None and isinstance(index, int) and 0 <= index < len(documents):
            text = documents[index]
        texts.append(text)
    return {"documents": texts, "scores": [d.get("score") for d in ranked]}


COMPONENT = vs.definition(
    "pinecone",
    "Pinecone",
    SETUP_SCHEMA,
    frozenset({"api-key"}),
    [
        (
            "TASK_QUERY",
            "Query",
            "Retrieve the ids of the most similar items in a namespace, along with their similarity scores.",
            QUERY_INPUT,
            QUERY_OUTPUT,
            run_query,
        ),
        (
            "TASK_UPSERT",
            "Upsert",
            "Writes vectors into a namespace. If a new value is upserted for an existing vector id, it will overwrite the previous value.",
            UPSERT_INPUT,
            UPSERT_OUTPUT,
            run_upsert,
        ),
        (
            "TASK_BATCH_UPSERT",
            "Batch Upsert",
            "Writes vectors into a namespace. If a new value is upserted for an existing vector ID, it will overwrite the previous value.",
            BATCH_UPSERT_INPUT,
            UPSERT_OUTPUT,
            run_batch_upsert,
        ),
        (
            "TASK_RERANK",
            "Rerank",
            "Rerank documents, such as text passages, according to their relevance to a query.",
            RERANK_INPUT,
            RERANK_OUTPUT,
            run_rerank,
        ),
    ],
)
