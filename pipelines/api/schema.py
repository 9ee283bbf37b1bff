"""OpenAPI additions for the trigger endpoints, which are plain async views (see views.py)
and so invisible to drf-spectacular's DRF introspection."""

from __future__ import annotations

ERROR = {"$ref": "#/components/schemas/Status"}
ERROR_SCHEMA = {
    "type": "object",
    "description": "google.rpc.Status: every API error has this shape.",
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}, "details": {"type": "array", "items": {"type": "object"}}},
    "required": ["code", "message", "details"],
}
TRIGGER_REQUEST = {
    "type": "object",
    "properties": {
        "data": {
            "type": "array",
            "minItems": 1,
            "maxItems": 32,
            "items": {
                "type": "object",
                "properties": {
                    "variable": {"type": "object", "additionalProperties": True, "description": "Values of the recipe's variables."},
                    "secret": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Per-row overrides of ${secret.*}."},
                },
            },
        },
        "inputs": {"type": "array", "items": {"type": "object"}, "description": "Deprecated: list of variable objects."},
    },
    "example": {"data": [{"variable": {"prompt": "hello world"}}]},
}
TRIGGER_RESPONSE = {
    "type": "object",
    "properties": {
        "outputs": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
        "metadata": {"type": "object", "properties": {"traces": {"type": "object", "additionalProperties": True}}},
    },
}
OPERATION_RESPONSE = {
    "type": "object",
    "properties": {
        "operation": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "example": "operations/2b0f6c1e-8c9a-4f43-9a51-0c2f4b6d9e10"},
                "done": {"type": "boolean"},
                "response": {"type": "object"},
                "error": ERROR,
            },
        }
    },
}
HEADERS = [
    {"name": "Instill-Return-Traces", "in": "header", "required": False, "schema": {"type": "string", "enum": ["true", "false"]},
     "description": "true: fill traces' inputs and outputs."},
    {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "Repeat-safe key: the same key and body within 24 h give the same run; a different body is 409."},
]


def _params(*names: str) -> list[dict]:
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names] + HEADERS


def _op(operation_id: str, summary: str, params: list[str], response: dict) -> dict:
    errors = {str(code): {"description": text, "content": {"application/json": {"schema": ERROR}}}
              for code, text in ((400, "Invalid input"), (401, "Not authenticated"), (403, "May read but not trigger"),
                                 (404, "Not found"), (413, "Request too large"))}
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["trigger"],
            "parameters": _params(*params),
            "requestBody": {"required": True, "content": {"application/json": {"schema": TRIGGER_REQUEST}}},
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": response}}}, **errors},
        }
    }


def add_trigger_paths(result, generator, request, public):
    """drf-spectacular postprocessing hook."""
    base = "/v1beta/namespaces/{namespace_id}/pipelines/{pipeline_id}"
    release = base + "/releases/{release_id}"
    paths = result.setdefault("paths", {})
    paths[base + "/trigger"] = _op("pipeline_trigger", "Trigger a pipeline and wait for its outputs", ["namespace_id", "pipeline_id"], TRIGGER_RESPONSE)
    paths[base + "/trigger-async"] = _op("pipeline_trigger_async", "Trigger a pipeline asynchronously (poll the operation)", ["namespace_id", "pipeline_id"], OPERATION_RESPONSE)
    paths[release + "/trigger"] = _op("release_trigger", "Trigger a release and wait for its outputs", ["namespace_id", "pipeline_id", "release_id"], TRIGGER_RESPONSE)
    paths[release + "/trigger-async"] = _op("release_trigger_async", "Trigger a release asynchronously", ["namespace_id", "pipeline_id", "release_id"], OPERATION_RESPONSE)
    result.setdefault("components", {}).setdefault("schemas", {})["Status"] = ERROR_SCHEMA
    return result
