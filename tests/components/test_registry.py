"""The component registry discovers every plugin module."""

from __future__ import annotations

import jsonschema

from pipelines.components import default_registry


def test_default_registry_finds_all_component_types():
    """default_registry() exposes json, text, base64, collection and http."""
    registry = default_registry()
    assert {"json", "text", "base64", "collection", "http"} <= set(registry.types())
    assert "outbound" not in registry  # a shared module, not a component


def test_every_task_schema_is_valid_json_schema():
    """Each task's input/output schema (and setup schema) is valid JSON Schema, and task names match keys."""
    for definition in default_registry():
        if definition.setup_schema:
            jsonschema.Draft202012Validator.check_schema(definition.setup_schema)
        for name, task in definition.tasks.items():
            assert task.name == name
            jsonschema.Draft202012Validator.check_schema(task.input_schema)
            jsonschema.Draft202012Validator.check_schema(task.output_schema)
            assert task.input_schema["type"] == "object"
            assert task.input_schema.get("additionalProperties", True) is not False


def test_http_declares_credential_fields():
    """The http component's secrets are declared so plaintext values are refused at save time."""
    http = default_registry().get("http")
    assert http.credential_fields == {
        "authentication.password",
        "authentication.value",
        "authentication.token",
    }
