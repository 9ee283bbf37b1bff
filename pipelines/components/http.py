"""The ``http`` generic component: call external HTTP APIs (Instill ``http`` v0).

Requests go through :mod:`pipelines.components.outbound`, which refuses internal
addresses unless the deployment allows them. A non-2xx answer is an output
(``status-code``), not an error; network failures, timeouts and refusals are.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pipelines.components import outbound
from pipelines.engine.components import ComponentDefinition, ComponentError, Task, TaskContext

_HEADER_DESCRIPTION = (
    "The HTTP header of the request. It must be an object whose values are arrays of strings "
    "(a plain string value is accepted too)."
)

INPUT_WITHOUT_BODY: dict[str, Any] = {
    "type": "object",
    "title": "Input Without Body",
    "properties": {
        "endpoint-url": {"type": "string", "title": "Endpoint Url", "description": "The API endpoint url."},
        "output-body-schema": {
            "type": "string",
            "title": "Output Body Schema",
            "description": "The JSON schema of output body.",
        },
        "header": {
            "type": "object",
            "title": "Header",
            "description": _HEADER_DESCRIPTION,
            "additionalProperties": {"type": ["array", "string"], "items": {"type": "string"}},
            "examples": [{"Instill-Header-One": ["foo"], "Instill-Header-Two": ["bar"]}],
        },
    },
    "required": ["endpoint-url"],
}
INPUT_WITH_BODY = {
    **INPUT_WITHOUT_BODY,
    "title": "Input",
    "properties": {
        **INPUT_WITHOUT_BODY["properties"],
        "body": {
            "title": "Body",
            "description": "The request body: a string is sent as text, any other JSON value as JSON.",
        },
    },
}
OUTPUT = {
    "type": "object",
    "title": "Output",
    "description": "The HTTP response from the API.",
    "properties": {
        "status-code": {
            "type": "integer",
            "title": "Status Code",
            "description": "The HTTP status code of the response.",
        },
        "header": {
            "type": "object",
            "title": "Header",
            "description": "The HTTP header of the response (values are arrays of strings).",
        },
        "body": {
            "title": "Body",
            "description": "The body of the response: decoded JSON for JSON responses, text otherwise.",
        },
    },
    "required": ["status-code", "body", "header"],
}


def _auth_variant(auth_type: str, title: str, description: str, **fields: Any) -> dict[str, Any]:
    required = ["auth-type", *[name for name, spec in fields.items() if spec.pop("_required", False)]]
    return {
        "title": title,
        "properties": {
            "auth-type": {"const": auth_type, "title": "Auth Type", "description": description},
            **fields,
        },
        "required": required,
    }


SETUP_SCHEMA = {
    "type": "object",
    "title": "REST API Connection",
    "properties": {
        "authentication": {
            "type": "object",
            "title": "Authentication",
            "description": "Authentication method to use for the REST API.",
            "required": ["auth-type"],
            "properties": {
                "auth-type": {"type": "string", "enum": ["NO_AUTH", "BASIC_AUTH", "API_KEY", "BEARER_TOKEN"]}
            },
            "oneOf": [
                _auth_variant("NO_AUTH", "No Auth", "No Authentication."),
                _auth_variant(
                    "BASIC_AUTH",
                    "Basic Auth",
                    "Basic auth.",
                    username={
                        "type": "string",
                        "title": "Username",
                        "description": "Username for Basic Auth.",
                        "_required": True,
                    },
                    password={
                        "type": "string",
                        "title": "Password",
                        "description": "Password for Basic auth.",
                        "_required": True,
                    },
                ),
                _auth_variant(
                    "API_KEY",
                    "API Key",
                    "API key authentication.",
                    key={
                        "type": "string",
                        "title": "Key Name",
                        "default": "X-API-Key",
                        "description": "Key name for API key authentication.",
                    },
                    value={
                        "type": "string",
                        "title": "Key Value",
                        "description": "Key value for API key authentication.",
                        "_required": True,
                    },
                    **{
                        "auth-location": {
                            "type": "string",
                            "title": "Auth Location",
                            "enum": ["header", "query"],
                            "default": "header",
                            "description": "Add the API key to the header or query params.",
                        }
                    },
                ),
                _auth_variant(
                    "BEARER_TOKEN",
                    "Bearer Token",
                    "Bearer token authentication.",
                    token={"type": "string", "title": "Token", "description": "Bearer token.", "_required": True},
                ),
            ],
        },
    },
}

METHODS = {
    "TASK_GET": "GET",
    "TASK_POST": "POST",
    "TASK_PUT": "PUT",
    "TASK_PATCH": "PATCH",
    "TASK_DELETE": "DELETE",
    "TASK_HEAD": "HEAD",
    "TASK_OPTIONS": "OPTIONS",
}
_WITHOUT_BODY = frozenset({"TASK_GET", "TASK_HEAD"})


def _authentication(setup: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and query parameters that carry the configured credentials."""
    auth = setup.get("authentication") if setup else None
    if not auth:
        return {}, {}
    if not isinstance(auth, Mapping):
        raise ComponentError("setup.authentication must be an object.")
    auth_type = auth.get("auth-type") or "NO_AUTH"
    if auth_type == "NO_AUTH":
        return {}, {}
    if auth_type == "BASIC_AUTH":
        username, password = auth.get("username"), auth.get("password")
        if not username or not password:
            raise ComponentError("Basic Auth error: username or password is empty.")
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        return {"Authorization": f"Basic {token}"}, {}
    if auth_type == "API_KEY":
        key, value = auth.get("key") or "X-API-Key", auth.get("value")
        if not value:
            raise ComponentError("API Key Auth error: key or value is empty.")
        if (auth.get("auth-location") or "header") == "query":
            return {}, {str(key): str(value)}
        return {str(key): str(value)}, {}
    if auth_type == "BEARER_TOKEN":
        bearer = auth.get("token")
        if not bearer:
            raise ComponentError("Bearer Token Auth error: token is empty.")
        return {"Authorization": f"Bearer {bearer}"}, {}
    raise ComponentError(f"Invalid authentication type {auth_type!r}.")


def _headers(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ComponentError("header must be an object whose values are arrays of strings.")
    headers: dict[str, str] = {}
    for name, values in value.items():
        if isinstance(values, list | tuple):
            headers[str(name)] = ",".join(str(v) for v in values)
        elif values is not None:
            headers[str(name)] = str(values)
    return headers


def _encode_body(body: Any) -> tuple[bytes | None, str | None]:
    if body is None:
        return None, None
    if isinstance(body, str):
        return body.encode("utf-8"), "text/plain; charset=utf-8"
    if isinstance(body, bytes | bytearray):
        return bytes(body), "application/octet-stream"
    read = getattr(body, "read", None)
    if callable(read):
        content = read()
        mime = getattr(body, "content_type", None) or getattr(body, "mime_type", None)
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        return data, mime or "application/octet-stream"
    try:
        return json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json"
    except (TypeError, ValueError) as exc:
        raise ComponentError(f"Couldn't encode the request body as JSON: {exc}.") from None


def _decode_body(response: outbound.OutboundResponse) -> Any:
    if not response.content:
        return ""
    content_type = response.content_type.lower()
    mime = content_type.split(";", 1)[0].strip()
    if mime == "application/json" or mime.endswith("+json"):
        try:
            return json.loads(response.content)
        except ValueError:
            pass
    charset = "utf-8"
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name == "charset" and value:
            charset = value.strip('"')
    try:
        return response.content.decode(charset, errors="replace")
    except LookupError:
        return response.content.decode("utf-8", errors="replace")


def _config_hosts(config: Mapping[str, Any]) -> Any:
    return config.get("http_allowed_hosts", ())


def _make_run(task: str) -> Callable[[dict[str, Any], TaskContext], Awaitable[dict[str, Any]]]:
    method = METHODS[task]

    async def run(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
        url = input.get("endpoint-url")
        if not isinstance(url, str) or not url:
            raise ComponentError("endpoint-url is required.")
        auth_headers, params = _authentication(ctx.setup)
        headers = {**auth_headers, **_headers(input.get("header"))}
        content = None
        if task not in _WITHOUT_BODY:
            content, content_type = _encode_body(input.get("body"))
            if content_type and not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = content_type
        response = await outbound.guarded_request(
            method,
            url,
            headers=headers,
            params=params or None,
            content=content,
            allowed_hosts=_config_hosts(ctx.config),
            timeout=float(ctx.config.get("http_timeout", outbound.DEFAULT_TIMEOUT)),
            max_response_bytes=int(ctx.config.get("http_max_response_bytes", outbound.DEFAULT_MAX_RESPONSE_BYTES)),
        )
        return {
            "status-code": response.status_code,
            "header": response.header_lists(),
            "body": _decode_body(response),
        }

    run.__name__ = f"run_{task.lower()}"
    return run


_DESCRIPTIONS = {
    "TASK_GET": "Send a HTTP GET request.",
    "TASK_POST": "Send a HTTP POST request.",
    "TASK_PUT": "Send a HTTP PUT request.",
    "TASK_PATCH": "Send a HTTP PATCH request.",
    "TASK_DELETE": "Send a HTTP DELETE request.",
    "TASK_HEAD": "Send a HTTP HEAD request.",
    "TASK_OPTIONS": "Send a HTTP OPTIONS request.",
}

COMPONENT = ComponentDefinition(
    type="http",
    title="HTTP",
    kind="generic",
    description="Make requests to external HTTP APIs.",
    setup_schema=SETUP_SCHEMA,
    credential_fields=frozenset({"authentication.password", "authentication.value", "authentication.token"}),
    tasks={
        task: Task(
            name=task,
            title=METHODS[task],
            description=_DESCRIPTIONS[task],
            input_schema=INPUT_WITHOUT_BODY if task in _WITHOUT_BODY else INPUT_WITH_BODY,
            output_schema=OUTPUT,
            run=_make_run(task),
        )
        for task in METHODS
    },
)
