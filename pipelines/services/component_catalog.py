"""The component catalog as Instill serves it: component definitions and integrations.

Both are read from the registry the engine runs (:func:`pipelines.components.default_registry`),
so what the API (and the editor, which reads it) says a component takes is what a
recipe is checked against. The shapes are Instill's ``ComponentDefinition`` and
``Integration`` messages (protobufs ``pipeline/v1beta/component_definition.proto``,
``integration.proto``) in their JSON form.

Listing follows Instill's own checks (pipeline-backend
``integration-test/pipeline/rest-component-definition.js``, ``rest-integration.js``):
component definitions show ``spec`` in ``VIEW_FULL`` only, integrations
``setupSchema``; filters are AIP-160 expressions (:mod:`pipelines.filtering`). Paging
is every list's (:mod:`pipelines.paging`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pipelines.components import default_registry
from pipelines.engine import ComponentDefinition
from pipelines.errors import InvalidArgument, NotFound
from pipelines.filtering import Field, compile_filter

VIEWS = ("VIEW_UNSPECIFIED", "VIEW_BASIC", "VIEW_FULL")
COMPONENT_TYPES = {
    "ai": "COMPONENT_TYPE_AI",
    "data": "COMPONENT_TYPE_DATA",
    "operator": "COMPONENT_TYPE_OPERATOR",
    "application": "COMPONENT_TYPE_APPLICATION",
    "generic": "COMPONENT_TYPE_GENERIC",
}
RELEASE_STAGES = {
    "open-for-contribution": "RELEASE_STAGE_OPEN_FOR_CONTRIBUTION",
    "coming-soon": "RELEASE_STAGE_COMING_SOON",
    "alpha": "RELEASE_STAGE_ALPHA",
    "beta": "RELEASE_STAGE_BETA",
    "ga": "RELEASE_STAGE_GA",
}
INTEGRATION_MISSING = "Integration does not exist."
DEFINITION_MISSING = "Component definition does not exist."
# UIDs are stable names of the definitions, not random: uuid5 of this and the id.
_UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "pipeline:component-definitions")


# --- shapes -----------------------------------------------------------------------------


def definition_uid(definition: ComponentDefinition) -> str:
    return str(uuid.uuid5(_UID_NAMESPACE, definition.type))


def component_type_name(definition: ComponentDefinition) -> str:
    return COMPONENT_TYPES.get(definition.kind, "COMPONENT_TYPE_UNSPECIFIED")


def release_stage_name(definition: ComponentDefinition) -> str:
    return RELEASE_STAGES.get(definition.release_stage, "RELEASE_STAGE_UNSPECIFIED")


def _documentation_url(definition: ComponentDefinition) -> str:
    return f"https://www.instill.tech/docs/component/{definition.kind}/{definition.type}"


def component_specification(definition: ComponentDefinition) -> dict[str, Any]:
    """The component's JSON Schema as Instill writes it: one branch per task, each with
    its ``task`` constant, ``input``, ``condition`` and (when it has one) ``setup``."""
    branches = []
    for task in definition.tasks.values():
        properties: dict[str, Any] = {
            "task": {"const": task.name, "title": task.title or task.name, "description": task.description},
            "input": dict(task.input_schema),
            "condition": {"type": "string", "title": "Condition", "description": "Run the component only when true."},
        }
        required = ["task", "input"]
        if definition.setup_schema:
            properties["setup"] = dict(definition.setup_schema)
        branches.append({"type": "object", "properties": properties, "required": required})
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": f"{definition.title} Component",
        "type": "object",
        "oneOf": branches,
    }


def definition_json(definition: ComponentDefinition, *, full: bool) -> dict[str, Any]:
    """One ``ComponentDefinition``; ``spec`` is null unless ``full`` (VIEW_FULL)."""
    spec = None
    if full:
        spec = {
            "componentSpecification": component_specification(definition),
            "dataSpecifications": {
                task.name: {"input": dict(task.input_schema), "output": dict(task.output_schema)}
                for task in definition.tasks.values()
            },
            "eventSpecifications": {},
        }
    return {
        "name": f"component-definitions/{definition.type}",
        "uid": definition_uid(definition),
        "id": definition.type,
        "title": definition.title,
        "documentationUrl": _documentation_url(definition),
        "icon": f"assets/{definition.type}.svg",
        "spec": spec,
        "type": component_type_name(definition),
        "tombstone": False,
        "public": True,
        "custom": False,
        "vendor": definition.vendor,
        "vendorAttributes": {},
        "sourceUrl": "",
        "version": definition.version,
        "tasks": [
            {"name": task.name, "title": task.title or task.name, "description": task.description}
            for task in definition.tasks.values()
        ],
        "description": definition.description,
        "releaseStage": release_stage_name(definition),
        "events": [],
    }


def integration_json(definition: ComponentDefinition, *, full: bool) -> dict[str, Any]:
    """One ``Integration``: a component type that has a setup; ``setupSchema`` (and the
    deprecated ``schemas``) only in VIEW_FULL."""
    schema = dict(definition.setup_schema)
    return {
        "uid": definition_uid(definition),
        "id": definition.type,
        "title": definition.title,
        "description": definition.description,
        "vendor": definition.vendor,
        "icon": f"assets/{definition.type}.svg",
        "helpLink": {"text": f"Learn how to connect {definition.title}", "url": _documentation_url(definition)},
        "setupSchema": schema if full else None,
        "oAuthConfig": None,
        "schemas": [{"method": "METHOD_DICTIONARY", "schema": schema}] if full else [],
        "view": "VIEW_FULL" if full else "VIEW_BASIC",
    }


# --- query parameters --------------------------------------------------------------------


def view_is_full(params: Mapping[str, str]) -> bool:
    view = params.get("view") or "VIEW_UNSPECIFIED"
    if view not in VIEWS:
        raise InvalidArgument(f"view must be one of {', '.join(VIEWS)}, not {view!r}", field="view")
    return view == "VIEW_FULL"


# --- component definitions ------------------------------------------------------------------

# The fields Instill declares for this list (pipeline-backend
# pkg/service/component_definition.go), and ``tasks`` and ``id`` from its proto's docs.
_DEFINITION_FIELDS = {
    "qTitle": Field("fuzzy", get=lambda d: d.title),
    "componentType": Field("enum", choices=tuple(COMPONENT_TYPES.values()), get=component_type_name),
    "releaseStage": Field("enum", choices=tuple(RELEASE_STAGES.values()), get=release_stage_name),
    "tasks": Field("repeated", get=lambda d: tuple(d.tasks)),
    "id": Field("string", get=lambda d: d.type),
}


def definitions_matching(params: Mapping[str, str]) -> list[ComponentDefinition]:
    """The component definitions that pass the request's ``filter``, by id."""
    found = compile_filter(params.get("filter") or "", _DEFINITION_FIELDS)
    return [d for d in _definitions() if found.matches(d)]


def component_definition(definition_id: str, params: Mapping[str, str]) -> dict[str, Any]:
    full = view_is_full(params)
    definition = default_registry().get(definition_id)
    if definition is None:
        raise NotFound(DEFINITION_MISSING)
    return {"componentDefinition": definition_json(definition, full=full)}


def _definitions() -> list[ComponentDefinition]:
    return sorted(default_registry(), key=lambda d: d.type)


# --- integrations -------------------------------------------------------------------------------


def integration_definitions() -> list[ComponentDefinition]:
    """The component types that have a setup: one integration each."""
    return [d for d in _definitions() if d.setup_schema]


def integration_get(integration_id: str) -> ComponentDefinition:
    """The component type of an integration; Instill's 404 for any other id."""
    definition = default_registry().get(integration_id)
    if definition is None or not definition.setup_schema:
        raise NotFound(INTEGRATION_MISSING)
    return definition


# ``qIntegration`` as Instill declares it (pkg/service/integration.go); ``q`` as its
# proto's example writes it. Both search the title and the vendor.
_INTEGRATION_FIELDS = {
    "qIntegration": Field("fuzzy", get=lambda d: [d.title, d.vendor]),
    "q": Field("fuzzy", get=lambda d: [d.title, d.vendor]),
    "id": Field("string", get=lambda d: d.type),
}


def integrations_matching(params: Mapping[str, str]) -> list[ComponentDefinition]:
    """The integrations that pass the request's ``filter`` (a bare word searches
    ``qIntegration``), by id."""
    found = compile_filter(params.get("filter") or "", _INTEGRATION_FIELDS, search="qIntegration")
    return [d for d in integration_definitions() if found.matches(d)]
