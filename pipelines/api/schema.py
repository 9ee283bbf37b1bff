"""OpenAPI completions that drf-spectacular's DRF introspection cannot make: the trigger
endpoints (plain async views, see views/triggers.py), the error answers every operation may give,
Bearer authentication, and paths its URL-pattern reading gets wrong."""

from __future__ import annotations

ERROR = {"$ref": "#/components/schemas/Status"}
ERROR_SCHEMA = {
    "type": "object",
    "description": "google.rpc.Status: every API error has this shape.",
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object"}},
    },
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
                    "variable": {
                        "type": "object",
                        "additionalProperties": True,
                        "description": "Values of the recipe's variables.",
                    },
                    "secret": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "Per-row overrides of ${secret.*}.",
                    },
                },
            },
        },
        "inputs": {
            "type": "array",
            "items": {"type": "object"},
            "description": "Deprecated (still accepted instead of data): list of variable objects.",
        },
    },
    "required": ["data"],
    "example": {"data": [{"variable": {"prompt": "hello world"}}]},
}
TRIGGER_FORM = {
    "type": "object",
    "description": "Fields variables[N].name (or inputs[N].name) set data[N].variable.name; variables[N].name[i] "
    "sets array items. Text is read as JSON when it parses, else as a string; a file part becomes "
    "a file value.",
    "additionalProperties": {"type": "string"},
    "example": {"variables[0].prompt": "hello world"},
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
    # As in Instill: "true" in any case asks for them, any other value does not.
    {
        "name": "Instill-Return-Traces",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "example": "true"},
        "description": "true (in any case): fill traces' inputs and outputs; any other value: leave them empty.",
    },
    {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "maxLength": 255},
        "description": "Repeat-safe key (at most 255 characters): the same key and body within 24 h give the same run; "
        "a different body is 409.",
    },
]
# The error table of the API contract (docs/api-errors.md): any operation may answer these.
ERRORS = (
    (400, "Invalid argument: the message names the field, parameter, header or limit"),
    (401, "Not authenticated: no credentials, or an unknown, revoked or expired token"),
    (403, "Permission denied: may read but not change or trigger"),
    (404, "Not found (also another user's private resource)"),
    (409, "Already exists, or an Idempotency-Key reused with another body"),
    (413, "Request body over PIPELINE_MAX_REQUEST_BYTES"),
    (415, "Request body in a content type the endpoint does not take"),
    (429, "Too many requests: see Retry-After"),
)
NAMESPACE_KINDS = ["namespaces", "namespace", "users", "organizations"]

# --- response bodies (the shapes api/serializers.py builds) ---------------------------

STRING = {"type": "string"}
TIME = {"type": "string", "format": "date-time", "nullable": True}
ANY_OBJECT = {"type": "object", "additionalProperties": True}


def _object(required: list[str], **properties: dict) -> dict:
    return {"type": "object", "properties": properties, "required": required}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


# The fields a pipeline and a release share: both hold a recipe.
_NULLABLE_OBJECT = {"type": "object", "nullable": True, "additionalProperties": True}
_RECIPE_HOLDER: dict[str, dict] = {
    "name": STRING,
    "uid": STRING,
    "id": STRING,
    "displayName": STRING,
    "slug": STRING,
    "aliases": {"type": "array", "items": STRING},
    "description": STRING,
    "readme": STRING,
    "rawRecipe": STRING,
    "recipe": _NULLABLE_OBJECT,
    "dataSpecification": _NULLABLE_OBJECT,
    "createTime": TIME,
    "updateTime": TIME,
}

RESOURCES = {
    "Pipeline": _object(
        ["name", "uid", "id", "rawRecipe", "visibility", "permission", "createTime", "updateTime"],
        **_RECIPE_HOLDER,
        sharing=ANY_OBJECT,
        visibility={"type": "string", "enum": ["VISIBILITY_PUBLIC", "VISIBILITY_PRIVATE"]},
        ownerName=STRING,
        owner=ANY_OBJECT,
        creatorName={"type": "string", "nullable": True},
        permission=_object(
            ["canEdit", "canTrigger", "canRelease"],
            canEdit={"type": "boolean"},
            canTrigger={"type": "boolean"},
            canRelease={"type": "boolean"},
        ),
        stats=_object(["numberOfRuns"], numberOfRuns={"type": "integer"}, lastRunTime=TIME),
        maxRunSeconds={"type": "number", "nullable": True},
    ),
    "User": _object(
        ["name", "id", "profile"],
        name=STRING,
        uid={"type": "string", "nullable": True},
        id=STRING,
        displayName=STRING,
        slug=STRING,
        aliases={"type": "array", "items": STRING},
        description=STRING,
        createTime=TIME,
        updateTime=TIME,
        profile=_object(["displayName"], displayName=STRING),
        email=STRING,
    ),
    "Release": _object(["name", "uid", "id", "rawRecipe", "createTime"], **_RECIPE_HOLDER),
    "PipelineRun": _object(
        ["pipelineRunUid", "id", "pipelineVersion", "status", "source"],
        pipelineRunUid=STRING,
        id=STRING,
        pipelineId=STRING,
        pipelineNamespaceId=STRING,
        pipelineVersion=STRING,
        draft={"type": "boolean"},
        status={"type": "string", "pattern": "^RUN_STATUS_"},
        source={"type": "string", "pattern": "^RUN_SOURCE_"},
        totalDuration={"type": "integer", "nullable": True},
        inputs={"type": "array"},
        outputs={"type": "array"},
        startTime=TIME,
        completeTime=TIME,
        createTime=TIME,
        error={"type": "string", "nullable": True},
    ),
    "ComponentRun": _object(
        ["pipelineRunUid", "componentId", "id", "status"],
        pipelineRunUid=STRING,
        componentId=STRING,
        id=STRING,
        status={"type": "string", "pattern": "^RUN_STATUS_"},
        totalDuration={"type": "integer", "nullable": True},
        startTime=TIME,
        completeTime=TIME,
        error={"type": "string", "nullable": True},
        inputs={"type": "array"},
        outputs={"type": "array"},
    ),
    "Token": _object(
        ["name", "uid", "id", "accessToken", "state", "tokenType"],
        name=STRING,
        uid=STRING,
        id=STRING,
        createTime=TIME,
        updateTime=TIME,
        lastUseTime=TIME,
        accessToken={"type": "string", "description": "In full only in the create answer; masked afterwards."},
        state={"type": "string", "enum": ["STATE_ACTIVE", "STATE_EXPIRED"]},
        tokenType=STRING,
        expireTime=TIME,
    ),
    "Secret": _object(
        ["name", "uid", "id"],
        name=STRING,
        uid=STRING,
        id=STRING,
        description=STRING,
        createTime=TIME,
        updateTime=TIME,
    ),
}


def _one(key: str, name: str) -> dict:
    return _object([key], **{key: _ref(name)})


def _token_list(key: str, name: str) -> dict:
    return _object(
        [key, "nextPageToken", "totalSize"],
        **{key: {"type": "array", "items": _ref(name)}},
        nextPageToken=STRING,
        totalSize={"type": "integer"},
    )


def _page_list(key: str, name: str) -> dict:
    return _object(
        [key, "totalSize", "page", "pageSize"],
        **{key: {"type": "array", "items": _ref(name)}},
        totalSize={"type": "integer"},
        page={"type": "integer"},
        pageSize={"type": "integer"},
    )


NS = "/v1beta/{kind}/{namespace_id}"
PIPELINE = NS + "/pipelines/{pipeline_id}"
# (path, method, status) -> the answer's body.
BODIES = {
    ("/v1beta/pipelines", "get", "200"): _token_list("pipelines", "Pipeline"),
    (NS + "/pipelines", "get", "200"): _token_list("pipelines", "Pipeline"),
    (NS + "/pipelines", "post", "201"): _one("pipeline", "Pipeline"),
    (PIPELINE, "get", "200"): _one("pipeline", "Pipeline"),
    (PIPELINE, "patch", "200"): _one("pipeline", "Pipeline"),
    (PIPELINE + "/rename", "post", "200"): _one("pipeline", "Pipeline"),
    (PIPELINE + "/clone", "post", "201"): _one("pipeline", "Pipeline"),
    (PIPELINE + "/validate", "post", "200"): _object(
        ["success", "errors", "warnings"],
        success={"type": "boolean"},
        errors={"type": "array", "items": ANY_OBJECT},
        warnings={"type": "array", "items": ANY_OBJECT},
    ),
    (PIPELINE + "/releases", "get", "200"): _token_list("releases", "Release"),
    (PIPELINE + "/releases", "post", "201"): _one("release", "Release"),
    (PIPELINE + "/releases/{release_id}", "get", "200"): _one("release", "Release"),
    (PIPELINE + "/releases/{release_id}", "patch", "200"): _one("release", "Release"),
    (PIPELINE + "/runs", "get", "200"): _page_list("pipelineRuns", "PipelineRun"),
    (PIPELINE + "/runs/{run_uid}/component-runs", "get", "200"): _page_list("componentRuns", "ComponentRun"),
    ("/v1beta/pipeline-runs/{run_uid}/component-runs", "get", "200"): _page_list("componentRuns", "ComponentRun"),
    ("/v1beta/user", "get", "200"): _one("user", "User"),
    ("/v1beta/users/{user_id}", "get", "200"): _one("user", "User"),
    ("/v1beta/tokens", "get", "200"): _token_list("tokens", "Token"),
    ("/v1beta/tokens", "post", "201"): _one("token", "Token"),
    ("/v1beta/tokens/{token_id}", "get", "200"): _one("token", "Token"),
    (NS + "/secrets", "get", "200"): _token_list("secrets", "Secret"),
    (NS + "/secrets", "post", "201"): _one("secret", "Secret"),
    (NS + "/secrets/{secret_id}", "get", "200"): _one("secret", "Secret"),
    (NS + "/secrets/{secret_id}", "patch", "200"): _one("secret", "Secret"),
}


def _params(*names: str) -> list[dict]:
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names] + HEADERS


def _op(operation_id: str, summary: str, params: list[str], response: dict) -> dict:
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["trigger"],
            "parameters": _params(*params),
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": TRIGGER_REQUEST},
                    "multipart/form-data": {"schema": TRIGGER_FORM},
                },
            },
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": response}}}},
        }
    }


def _add_plain_views(paths: dict) -> None:
    """The other plain (non-DRF) views: health checks and a run's event stream."""
    health = _object(["healthCheckResponse"], healthCheckResponse=_object(["status"], status={"type": "string"}))
    for name, summary in (
        ("__liveness", "Liveness: the server answers"),
        ("__readiness", "Readiness: the database answers"),
    ):
        paths[f"/v1beta/{name}"] = {
            "get": {
                "operationId": name.strip("_"),
                "summary": summary,
                "tags": ["health"],
                "security": [{}],
                "responses": {
                    "200": {"description": "Serving", "content": {"application/json": {"schema": health}}},
                    **(
                        {"503": {"description": "Not serving", "content": {"application/json": {"schema": health}}}}
                        if name == "__readiness"
                        else {}
                    ),
                },
            }
        }
    paths["/v1beta/pipeline-runs/{run_uid}/events"] = {
        "get": {
            "operationId": "run_events",
            "summary": "A run's events as server-sent events: the stored ones, then live ones until the run ends",
            "tags": ["runs"],
            "parameters": [
                {"name": "run_uid", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}},
                {
                    "name": "after",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                    "description": "Skip the events up to this sequence number.",
                },
                {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "As after, as an SSE client resumes.",
                },
            ],
            "responses": {
                "200": {"description": "The event stream", "content": {"text/event-stream": {"schema": STRING}}}
            },
        }
    }


def _document_errors(paths: dict) -> None:
    """Every operation lists the error answers of the contract, in the Status shape."""
    for operations in paths.values():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            responses = operation.setdefault("responses", {})
            for code, text in ERRORS:
                responses.setdefault(
                    str(code), {"description": text, "content": {"application/json": {"schema": ERROR}}}
                )


def _document_bodies(result: dict) -> None:
    """The JSON bodies of the DRF views' answers, which build them without serializers."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(RESOURCES)
    paths = result.get("paths", {})
    for (path, method, status), schema in BODIES.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is not None:
            response["content"] = {"application/json": {"schema": schema}}
    for path, method in (
        ("/v1beta/operations/{operation_id}", "get"),
        ("/v1beta/operations/{operation_id}/cancel", "post"),
    ):
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get("200")
        if response is not None:
            response["content"] = {"application/json": {"schema": OPERATION_RESPONSE}}


def _fix_paths(paths: dict) -> None:
    """What reading our URL patterns gets wrong: ``POST operations/{id}:cancel`` (or
    ``/cancel``) came out as ``POST operations/{id}``, which is not an endpoint; the
    namespace ``kind`` is one of four words, not the pattern's alternation."""
    operation = paths.get("/v1beta/operations/{operation_id}", {})
    if "post" in operation:
        paths["/v1beta/operations/{operation_id}/cancel"] = {"post": operation.pop("post")}
    for operations in paths.values():
        for method, op in operations.items():
            for parameter in (op.get("parameters") or []) if method != "parameters" else []:
                if parameter.get("in") == "path" and parameter.get("name") == "kind":
                    parameter["schema"] = {"type": "string", "enum": NAMESPACE_KINDS}


def _add_security(result: dict) -> None:
    """``Authorization: Bearer instill_sk_...`` on every operation; optional where anyone may read."""
    result.setdefault("components", {}).setdefault("securitySchemes", {})["bearerAuth"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token: instill_sk_ and 32 letters or digits.",
    }
    result["security"] = [{"bearerAuth": []}]
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method != "parameters" and operation.get("security") == [{}]:
                operation["security"] = [{"bearerAuth": []}, {}]


def add_trigger_paths(result, generator, request, public):
    """drf-spectacular postprocessing hook: the trigger paths, then the completions above."""
    base = "/v1beta/namespaces/{namespace_id}/pipelines/{pipeline_id}"
    release = base + "/releases/{release_id}"
    paths = result.setdefault("paths", {})
    paths[base + "/trigger"] = _op(
        "pipeline_trigger",
        "Trigger a pipeline and wait for its outputs",
        ["namespace_id", "pipeline_id"],
        TRIGGER_RESPONSE,
    )
    paths[base + "/trigger-async"] = _op(
        "pipeline_trigger_async",
        "Trigger a pipeline asynchronously (poll the operation)",
        ["namespace_id", "pipeline_id"],
        OPERATION_RESPONSE,
    )
    paths[release + "/trigger"] = _op(
        "release_trigger",
        "Trigger a release and wait for its outputs",
        ["namespace_id", "pipeline_id", "release_id"],
        TRIGGER_RESPONSE,
    )
    paths[release + "/trigger-async"] = _op(
        "release_trigger_async",
        "Trigger a release asynchronously",
        ["namespace_id", "pipeline_id", "release_id"],
        OPERATION_RESPONSE,
    )
    result.setdefault("components", {}).setdefault("schemas", {})["Status"] = ERROR_SCHEMA
    _add_plain_views(paths)
    _fix_paths(paths)
    _document_bodies(result)
    _document_errors(paths)
    _add_security(result)
    return result
