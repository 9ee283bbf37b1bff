"""Local servers speaking the vector stores' HTTP wire formats, with an in-memory store
that really searches (cosine similarity): Qdrant's REST API (request and response
bodies as api.qdrant.tech's reference has them: ``{"result", "status", "time"}``,
errors as ``{"status": {"error"}}``) and Pinecone's data-plane and inference API
(``/vectors/upsert`` → ``upsertedCount``, ``/query`` → ``matches``, ``/rerank`` →
``data``; errors as ``{"code", "message"}``). Standard library only: the e2e RAG test
uses the Qdrant one too."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.components.fake_vendor import Fake, Handler, Recorded, RunningFake


def cosine(a: list[float], b: list[float]) -> float:
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(x * x for x in b)) or 1.0
    return sum(x * y for x, y in zip(a, b, strict=True)) / (na * nb)


@dataclass
class Collection:
    size: int | None = None
    points: dict[Any, dict[str, Any]] = field(default_factory=dict)


class FakeStore(Fake):
    """Collections of points (``{"vector", "payload"}`` by id), and the key it expects."""

    key = "store-key"

    def reset(self) -> None:
        super().reset()
        self.collections: dict[str, Collection] = {}


def _matches(payload: dict[str, Any], filter: dict[str, Any] | None) -> bool:
    """Qdrant's ``must`` of ``{"key", "match": {"value"}}`` conditions (what the tests use)."""
    if not filter:
        return True
    return all(payload.get(c.get("key")) == c.get("match", {}).get("value") for c in filter.get("must", []))


class QdrantHandler(Handler):
    def _answer(self, status: int, result: Any = None, error: str | None = None) -> None:
        if error is not None:
            self.send_json(status, {"status": {"error": error}, "time": 0.0001})
        else:
            self.send_json(status, {"result": result, "status": "ok", "time": 0.0001})

    def _route(self) -> None:
        body, failure = self.receive()
        fake: FakeStore = self.server.fake
        if failure:
            return self._answer(failure, error="Service Unavailable: try again")
        if self.headers.get("api-key") != fake.key:
            return self.send_json(401, {"error": "Must provide an API key or an Authorization bearer token"})
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        if parts[0] != "collections" or len(parts) < 2:
            return self._answer(404, error=f"Not found: {url.path}")
        name = parts[1]
        with fake.lock:
            coll = fake.collections.get(name)
            rest = parts[2:]
            if not rest:
                if self.command == "PUT":
                    if coll is not None:
                        return self._answer(409, error=f"Wrong input: Collection `{name}` already exists!")
                    vectors = (body or {}).get("vectors") or {}
                    fake.collections[name] = Collection(size=vectors.get("size"))
                    return self._answer(200, True)
                if self.command == "DELETE":
                    return self._answer(200, fake.collections.pop(name, None) is not None)
            if coll is None:
                return self._answer(404, error=f"Not found: Collection `{name}` doesn't exist!")
            if rest == ["points"] and self.command == "PUT":
                if query.get("wait") != ["true"]:
                    return self._answer(400, error="the fake expects wait=true")
                batch = body["batch"]
                for i, point_id in enumerate(batch["ids"]):
                    if not isinstance(point_id, int):
                        try:
                            uuid.UUID(str(point_id))
                        except ValueError:
                            return self._answer(
                                400,
                                error=f"Format error in JSON body: value {point_id} is not a valid point ID, "
                                "valid values are either an unsigned integer or a UUID",
                            )
                    vector = batch["vectors"][i]
                    if coll.size is not None and len(vector) != coll.size:
                        return self._answer(
                            400,
                            error=f"Wrong input: Vector dimension error: expected dim: {coll.size}, got {len(vector)}",
                        )
                    payloads = batch.get("payloads") or [{}] * len(batch["ids"])
                    coll.points[point_id] = {"vector": vector, "payload": payloads[i] or {}}
                return self._answer(200, {"operation_id": 1, "status": "completed"})
            if rest == ["points", "search"] and self.command == "POST":
                hits = []
                for point_id, point in coll.points.items():
                    if not _matches(point["payload"], body.get("filter")):
                        continue
                    score = cosine(body["vector"], point["vector"])
                    if body.get("score_threshold") is not None and score < body["score_threshold"]:
                        continue
                    with_payload = body.get("with_payload")
                    payload = (
                        {k: v for k, v in point["payload"].items() if k in with_payload}
                        if isinstance(with_payload, list)
                        else (point["payload"] if with_payload else None)
                    )
                    hit = {"id": point_id, "version": 0, "score": score, "payload": payload}
                    hit["vector"] = point["vector"] if body.get("with_vector") else None
                    hits.append(hit)
                hits.sort(key=lambda h: -h["score"])
                return self._answer(200, hits[: body["limit"]])
            if rest == ["points", "delete"] and self.command == "POST":
                for point_id in body.get("points") or []:
                    coll.points.pop(point_id, None)
                if body.get("filter"):
                    for point_id in [k for k, p in coll.points.items() if _matches(p["payload"], body["filter"])]:
                        del coll.points[point_id]
                return self._answer(200, {"operation_id": 2, "status": "completed"})
        return self._answer(404, error=f"Not found: {self.command} {url.path}")

    do_PUT = do_POST = do_DELETE = do_GET = _route


class PineconeHandler(Handler):
    """One index (its namespaces are ``FakeStore.collections``) and the inference API's rerank."""

    def _error(self, status: int, message: str) -> None:
        self.send_json(status, {"code": 3, "message": message, "details": []})

    def do_POST(self) -> None:
        body, failure = self.receive()
        fake: FakeStore = self.server.fake
        if failure:
            return self._error(failure, "The service is overloaded: try again")
        if self.headers.get("api-key") != fake.key:
            return self.send_json(
                401, {"error": {"code": "UNAUTHENTICATED", "message": "Invalid API Key"}, "status": 401}
            )
        path = urlsplit(self.path).path
        with fake.lock:
            if path == "/vectors/upsert":
                coll = fake.collections.setdefault(body.get("namespace", ""), Collection())
                for v in body["vectors"]:
                    if not v.get("values"):
                        return self._error(400, "Vector dimension 0 does not match the dimension of the index 4")
                    coll.points[v["id"]] = {"vector": v["values"], "payload": v.get("metadata") or {}}
                return self.send_json(200, {"upsertedCount": len(body["vectors"])})
            if path == "/query":
                coll = fake.collections.get(body.get("namespace", ""), Collection())
                target = body.get("vector")
                if "id" in body:
                    target = coll.points[body["id"]]["vector"] if body["id"] in coll.points else None
                matches = []
                for point_id, point in coll.points.items() if target else []:
                    match: dict[str, Any] = {"id": point_id, "score": cosine(target, point["vector"])}
                    match["values"] = point["vector"] if body.get("includeValues") else []
                    if body.get("includeMetadata"):
                        match["metadata"] = point["payload"]
                    matches.append(match)
                matches.sort(key=lambda m: -m["score"])
                answer = {"matches": matches[: body["topK"]], "namespace": body.get("namespace", "")}
                return self.send_json(200, {**answer, "usage": {"readUnits": 5}})
            if path == "/rerank":
                query = set(re.findall(r"\w+", body["query"].lower()))
                scored = [
                    (len(query & set(re.findall(r"\w+", d["text"].lower()))) / (len(query) or 1), i, d)
                    for i, d in enumerate(body["documents"])
                ]
                scored.sort(key=lambda s: (-s[0], s[1]))
                data = [
                    {"index": i, "score": s, "document": d} for s, i, d in scored[: body.get("top_n") or len(scored)]
                ]
                return self.send_json(200, {"model": body["model"], "data": data, "usage": {"rerank_units": 1}})
        return self._error(404, f"Not found: {path}")


def start_qdrant() -> RunningFake[FakeStore]:
    return RunningFake(FakeStore(), QdrantHandler)


def start_pinecone() -> RunningFake[FakeStore]:
    return RunningFake(FakeStore(), PineconeHandler)


def requests_of(fake: FakeStore) -> Iterator[Recorded]:
    with fake.lock:
        yield from list(fake.requests)


def body_of(recorded: Recorded) -> Any:
    return json.loads(json.dumps(recorded.body))


def _weaviate_where(props: dict[str, Any], where: dict[str, Any] | None) -> bool:
    """Weaviate's where filter, the parts the tests use: Equal on a path, And of operands."""
    if not where:
        return True
    if where.get("operator") == "And":
        return all(_weaviate_where(props, o) for o in where["operands"])
    value = next(v for k, v in where.items() if k.startswith("value"))
    return props.get(where["path"][0]) == value


class WeaviateHandler(Handler):
    """Weaviate's REST API (``/v1/objects``, ``/v1/batch/objects``, ``/v1/schema``) and the
    GraphQL ``Get`` with ``nearVector``, ``where``, ``limit`` the component sends."""

    def _error(self, status: int, message: str) -> None:
        self.send_json(status, {"error": [{"message": message}]})

    def _no_content(self) -> None:
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _route(self) -> None:
        body, failure = self.receive()
        fake: FakeStore = self.server.fake
        if failure:
            return self._error(failure, "overloaded")
        if self.headers.get("authorization") != f"Bearer {fake.key}":
            return self._error(401, "anonymous access not enabled, please provide an auth scheme such as OIDC")
        parts = urlsplit(self.path).path.strip("/").split("/")
        with fake.lock:
            if parts == ["v1", "objects"] and self.command == "POST":
                coll = fake.collections.setdefault(body["class"], Collection())
                object_id = body.get("id") or str(uuid.uuid4())
                coll.points[object_id] = {"vector": body["vector"], "payload": body["properties"]}
                return self.send_json(200, {**body, "id": object_id, "creationTimeUnix": 1})
            if parts == ["v1", "batch", "objects"] and self.command == "POST":
                results = []
                for item in body["objects"]:
                    coll = fake.collections.setdefault(item["class"], Collection())
                    object_id = item.get("id") or str(uuid.uuid4())
                    if coll.points and len(next(iter(coll.points.values()))["vector"]) != len(item["vector"]):
                        results.append(
                            {**item, "result": {"errors": {"error": [{"message": "vector lengths don't match"}]}}}
                        )
                        continue
                    coll.points[object_id] = {"vector": item["vector"], "payload": item["properties"]}
                    results.append({**item, "id": object_id, "result": {}})
                return self.send_json(200, results)
            if parts == ["v1", "batch", "objects"] and self.command == "DELETE":
                match = body["match"]
                coll = fake.collections.get(match["class"], Collection())
                gone = [k for k, p in coll.points.items() if _weaviate_where(p["payload"], match["where"])]
                for key in gone:
                    del coll.points[key]
                results = {"matches": len(gone), "successful": len(gone), "failed": 0, "limit": 10000}
                return self.send_json(200, {"match": match, "output": "minimal", "results": results})
            if parts[:2] == ["v1", "objects"] and len(parts) == 4:
                coll = fake.collections.get(parts[2])
                point = coll.points.get(parts[3]) if coll else None
                if point is None:
                    return self._error(404, f"no object with id '{parts[3]}'")
                if self.command == "DELETE":
                    del coll.points[parts[3]]  # type: ignore[union-attr]
                    return self._no_content()
                if self.command == "PATCH":
                    point["payload"].update(body.get("properties") or {})
                    if body.get("vector"):
                        point["vector"] = body["vector"]
                    return self._no_content()
            if parts[:2] == ["v1", "schema"] and len(parts) == 3:
                if self.command == "DELETE":
                    fake.collections.pop(parts[2], None)
                    return self.send_json(200, None)
                coll = fake.collections.get(parts[2])
                if coll is None:
                    return self._error(404, f"class {parts[2]} not found")
                names = sorted({k for p in coll.points.values() for k in p["payload"]})
                return self.send_json(200, {"class": parts[2], "properties": [{"name": n} for n in names]})
            if parts == ["v1", "graphql"]:
                return self.send_json(200, self._get(fake, body["query"]))
        return self._error(404, f"not found: {self.command} {self.path}")

    def _get(self, fake: FakeStore, query: str) -> dict[str, Any]:
        found = re.fullmatch(r"\{ Get \{ (\w+)\((.*)\) \{ (.*) _additional \{ id distance vector \} \} \} \}", query)
        if not found:
            return {"errors": [{"message": f"Syntax Error GraphQL request: {query[:80]}"}]}
        name, arguments, fields = found.groups()
        coll = fake.collections.get(name)
        if coll is None:
            return {"errors": [{"message": f'Cannot query field "{name}" on type "GetObjectsObj".'}]}
        vector = re.search(r"nearVector: \{vector: (\[.*?\])\}", arguments)
        limit = re.search(r"limit: (\d+)", arguments)
        equal = re.search(
            r'where: \{path: \["(\w+)"\], operator: Equal, value\w+: ("[^"]*"|[\d.]+|true|false)\}', arguments
        )
        hits = []
        for object_id, point in coll.points.items():
            if equal and point["payload"].get(equal.group(1)) != json.loads(equal.group(2)):
                continue
            distance = 1 - cosine(json.loads(vector.group(1)), point["vector"]) if vector else None
            item = {f: point["payload"].get(f) for f in fields.split()}
            item["_additional"] = {"id": object_id, "distance": distance, "vector": point["vector"]}
            hits.append(item)
        if vector:
            hits.sort(key=lambda h: h["_additional"]["distance"])
        return {"data": {"Get": {name: hits[: int(limit.group(1))] if limit else hits}}}

    do_POST = do_GET = do_DELETE = do_PATCH = _route


def start_weaviate() -> RunningFake[FakeStore]:
    return RunningFake(FakeStore(), WeaviateHandler)


class MilvusHandler(Handler):
    """Milvus's RESTful API v2: every call a POST to ``/v2/vectordb/<resource>/<action>``,
    answered 200 with ``{"code": 0, "data"}`` or ``{"code", "message"}`` on failure. A
    collection has a primary key ``id`` and a vector field ``vector``; ``filter`` takes
    Milvus's ``id in [...]`` and ``<field> == "<text>"`` expressions."""

    def _fail(self, code: int, message: str) -> None:
        self.send_json(200, {"code": code, "message": message})

    def _ok(self, data: Any = None) -> None:
        self.send_json(200, {"code": 0, "cost": 0, "data": {} if data is None else data})

    def do_POST(self) -> None:
        body, failure = self.receive()
        fake: FakeStore = self.server.fake
        if failure:
            return self.send_json(failure, {"code": 65535, "message": "overloaded"})
        # Milvus's username:password token, or Zilliz Cloud's API key.
        if self.headers.get("authorization") not in (f"Bearer root:{fake.key}", f"Bearer {fake.key}"):
            return self._fail(1800, "user hasn't authenticated")
        action = urlsplit(self.path).path.removeprefix("/v2/vectordb/")
        name = body.get("collectionName")
        with fake.lock:
            if action == "collections/create":
                if name in fake.collections:
                    return self._fail(1601, f"collection already exists: {name}")
                fake.collections[name] = Collection(size=body["dimension"])
                return self._ok()
            coll = fake.collections.get(name)
            if coll is None:
                return self._fail(100, f"collection not found[collection={name}]")
            if action == "entities/upsert":
                for entity in body["data"]:
                    if len(entity.get("vector") or []) != coll.size:
                        return self._fail(
                            1100,
                            f"the dim ({len(entity.get('vector') or [])}) of field data(vector) is not equal to schema dim ({coll.size}): invalid parameter",
                        )
                    coll.points[entity["id"]] = {"vector": entity["vector"], "payload": entity}
                ids = [e["id"] for e in body["data"]]
                return self._ok({"upsertCount": len(ids), "upsertIds": ids})
            if action == "collections/load":
                return self._ok()
            if action == "collections/release":
                return self._ok()
            if action == "collections/describe":
                fields = [
                    {"name": "id", "primaryKey": True, "type": "Int64"},
                    {"name": "vector", "type": "FloatVector"},
                ]
                extra = sorted({k for p in coll.points.values() for k in p["payload"]} - {"id", "vector"})
                return self._ok(
                    {"collectionName": name, "fields": fields + [{"name": k, "type": "VarChar"} for k in extra]}
                )
            if action == "entities/search":
                hits = []
                for point in coll.points.values():
                    if not self._matches(point["payload"], body.get("filter")):
                        continue
                    entity = {f: point["payload"].get(f) for f in body["outputFields"]}
                    entity["distance"] = cosine(body["data"][0], point["vector"])
                    hits.append(entity)
                hits.sort(key=lambda h: -h["distance"])
                offset = body.get("offset", 0)
                return self._ok(hits[offset : offset + body["limit"]])
            if action == "entities/delete":
                for key in [k for k, p in coll.points.items() if self._matches(p["payload"], body["filter"])]:
                    del coll.points[key]
                return self._ok()
            if action == "collections/drop":
                del fake.collections[name]
                return self._ok()
            if action in ("partitions/create", "partitions/drop", "indexes/create", "indexes/drop"):
                return self._ok()
        return self._fail(404, f"unknown action {action}")

    @staticmethod
    def _matches(entity: dict[str, Any], filter: str | None) -> bool:
        if not filter:
            return True
        listed = re.fullmatch(r"id in \[([\d, ]*)\]", filter)
        if listed:
            return entity["id"] in [int(x) for x in listed.group(1).split(",") if x.strip()]
        equal = re.fullmatch(r'(\w+) == "([^"]*)"', filter)
        if equal:
            return entity.get(equal.group(1)) == equal.group(2)
        raise ValueError(filter)


def start_milvus() -> RunningFake[FakeStore]:
    return RunningFake(FakeStore(), MilvusHandler)
