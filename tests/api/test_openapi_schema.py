"""``/v1beta/openapi.json`` says what the API does (issue 13 §4); the fuzz test
(tests/e2e/test_openapi_fuzz.py) holds every answer to it."""

from __future__ import annotations

import pytest

from pipelines.api.schema import ERRORS

TRIGGER = "/v1beta/namespaces/{namespace_id}/pipelines/{pipeline_id}/trigger"


@pytest.fixture
def schema(anon, db) -> dict:
    response = anon.get("/v1beta/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if method != "parameters":
                yield path, method, operation


def test_every_operation_documents_the_error_answers(schema):
    """Each error status of the contract is documented everywhere, in the Status shape."""
    for path, method, operation in operations(schema):
        for code, _ in ERRORS:
            response = operation["responses"].get(str(code))
            assert response, (method, path, code)
            assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Status"}
    assert schema["components"]["schemas"]["Status"]["required"] == ["code", "message", "details"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1beta/tokens",
        "/v1beta/{kind}/{namespace_id}/pipelines",
        "/v1beta/{kind}/{namespace_id}/secrets",
        "/v1beta/{kind}/{namespace_id}/pipelines/{pipeline_id}/releases",
        "/v1beta/{kind}/{namespace_id}/pipelines/{pipeline_id}/clone",
    ],
)
def test_creates_answer_201(schema, path):
    responses = schema["paths"][path]["post"]["responses"]
    assert "201" in responses and "200" not in responses


def test_trigger_bodies_require_data(schema):
    body = schema["paths"][TRIGGER]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["data"]


def test_cancel_is_its_own_path_and_polling_is_get_only(schema):
    """``POST operations/{id}`` is not an endpoint: cancelling is ``POST operations/{id}/cancel``."""
    assert set(schema["paths"]["/v1beta/operations/{operation_id}"]) == {"get"}
    assert "post" in schema["paths"]["/v1beta/operations/{operation_id}/cancel"]


def test_return_traces_header_takes_true_in_any_case(schema):
    """The server reads ``true`` case-insensitively and anything else as false; the schema
    no longer claims only the two lower-case words."""
    header = next(p for p in schema["paths"][TRIGGER]["post"]["parameters"] if p["name"] == "Instill-Return-Traces")
    assert header["schema"] == {"type": "string", "example": "true"}
    assert "any case" in header["description"]


def test_namespace_kind_is_one_of_four_words(schema):
    kind = next(
        p
        for p in schema["paths"]["/v1beta/{kind}/{namespace_id}/pipelines"]["get"]["parameters"]
        if p["name"] == "kind"
    )
    assert kind["schema"] == {"type": "string", "enum": ["namespaces", "namespace", "users", "organizations"]}


def test_bearer_authentication_is_declared(schema):
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert schema["security"] == [{"bearerAuth": []}]
