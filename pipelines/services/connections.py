"""A namespace's connections to integrations, as Instill has them.

A connection holds the setup of one integration (a component type with a setup,
:mod:`.component_catalog`), checked against the type's setup schema; recipes use it
as ``setup: ${connection.<id>}``. Its secret fields (the type's credential fields:
``api-key``, a password, a token) are encrypted at rest with the cipher of namespace
secrets and never returned: answers show them as Instill does, ``*****MASK*****``.
A setup sent back with that mask keeps the stored value (an edit form need not know
it). For a run, :func:`connections_for_run` decrypts the connections a recipe
references, only in memory, into the entries of the run's secrets mapping
(:mod:`pipelines.engine.connections`), so they are masked like secret values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from pipelines.engine import ComponentDefinition, Recipe
from pipelines.engine import connections as engine_connections
from pipelines.engine.checks import schema_problems, unknown_keys
from pipelines.engine.recipe import Graph
from pipelines.errors import AlreadyExists, InvalidArgument, NotFound
from pipelines.filtering import Field, compile_filter
from pipelines.list_filters import connection_filter
from pipelines.models import RESOURCE_ID_PATTERN, Connection, Namespace, Pipeline, PipelineRelease
from pipelines.services.component_catalog import integration_get, view_is_full
from pipelines.services.secrets import decrypt, encrypt

MASK = "*****MASK*****"
METHOD = "METHOD_DICTIONARY"
METHODS = ("METHOD_UNSPECIFIED", "METHOD_DICTIONARY", "METHOD_OAUTH")


def missing(connection_id: str) -> NotFound:
    return NotFound(f"Connection {connection_id} doesn't exist.")


# --- secret fields ----------------------------------------------------------------------


def _get(setup: Mapping[str, Any], dotted: str) -> Any:
    value: Any = setup
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _set(setup: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = setup
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            return
        node = child
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value


def _secret_fields(definition: ComponentDefinition) -> list[str]:
    return sorted(definition.credential_fields)


def _split_secrets(definition: ComponentDefinition, setup: Mapping[str, Any]) -> tuple[dict, dict[str, str]]:
    """(the setup as stored and shown: each secret field ``*****MASK*****``; the secret
    fields by dotted name). The mask in the stored setup says which fields hold a
    secret without decrypting anything."""
    plain = json.loads(json.dumps(setup))  # a deep copy
    secrets: dict[str, str] = {}
    for dotted in _secret_fields(definition):
        value = _get(plain, dotted)
        if isinstance(value, str) and value and value != MASK:  # the mask alone is no secret
            secrets[dotted] = value
            _set(plain, dotted, MASK)
        else:
            _set(plain, dotted, None)
    return plain, secrets


def _stored_secrets(connection: Connection) -> dict[str, str]:
    return json.loads(decrypt(connection.encrypted_secrets)) if connection.encrypted_secrets else {}


def _with(setup: Mapping[str, Any], values: Mapping[str, str | None]) -> dict[str, Any]:
    """A copy of the setup with the values at their dotted places (None removes one)."""
    out = json.loads(json.dumps(setup))
    for dotted, value in values.items():
        _set(out, dotted, value)
    return out


# --- checks -----------------------------------------------------------------------------


def _check_id(connection_id: Any) -> str:
    if not isinstance(connection_id, str) or not re.match(RESOURCE_ID_PATTERN, connection_id):
        raise InvalidArgument(
            f'connection id "{connection_id}" is not valid: ids match ^[a-z_][-a-z_0-9]{{0,31}}$', field="id"
        )
    return connection_id


def _check_method(method: Any) -> None:
    if method in (None, "", METHOD):
        return
    if method == "METHOD_OAUTH":
        raise InvalidArgument("method METHOD_OAUTH is not supported: use METHOD_DICTIONARY", field="method")
    raise InvalidArgument(f"method must be {METHOD}, not {method!r}", field="method")


def _check_setup(definition: ComponentDefinition, setup: Any) -> dict[str, Any]:
    """The setup if it fits the integration's schema; else a 400 naming the field."""
    if not isinstance(setup, Mapping):
        raise InvalidArgument("setup must be a JSON object of the integration's setup fields", field="setup")
    schema = definition.setup_schema
    for location, key, known in unknown_keys(schema, setup, "setup"):
        raise InvalidArgument(
            f'{location}: the {definition.type} setup has no field "{key}" (its fields: {", ".join(known)})',
            field=location,
        )
    for problem in schema_problems(schema, dict(setup)):
        where = ".".join(["setup", *(str(p) for p in problem.path)])
        if problem.missing:
            name = problem.missing[0]
            raise InvalidArgument(f'{where}.{name}: missing required field "{name}"', field=f"{where}.{name}")
        raise InvalidArgument(f"{where}: {problem.message}", field=where)
    if definition.check_setup is not None:
        for name, error in definition.check_setup(setup):
            raise InvalidArgument(f"setup.{name}: {error}", field=f"setup.{name}")
    return dict(setup)


def _check_scopes(scopes: Any) -> list[str]:
    if scopes is None:
        return []
    if not isinstance(scopes, list) or not all(isinstance(x, str) for x in scopes):
        raise InvalidArgument("scopes must be a list of strings", field="scopes")
    return scopes


# --- CRUD -------------------------------------------------------------------------------


def connections_of(*, namespace: Namespace) -> QuerySet[Connection]:
    return Connection.objects.filter(namespace=namespace).select_related("namespace").order_by("slug")


def connection_get(*, namespace: Namespace, connection_id: str) -> Connection:
    found = connections_of(namespace=namespace).filter(slug=connection_id).first()
    if found is None:
        raise missing(connection_id)
    return found


def connections_matching(*, namespace: Namespace, params: Mapping[str, str]) -> QuerySet[Connection]:
    """The namespace's connections that pass Instill's filter: ``integrationId="x"``
    and ``qConnection="text"`` (in the id or the integration id), AIP-160 expressions
    (:data:`pipelines.list_filters.CONNECTION_FIELDS`)."""
    return connection_filter(params.get("filter") or "").apply(connections_of(namespace=namespace))


def connection_create(*, namespace: Namespace, data: Mapping[str, Any]) -> Connection:
    connection_id = _check_id(data.get("id"))
    integration_id = data.get("integrationId")
    if not isinstance(integration_id, str) or not integration_id:
        raise InvalidArgument(
            "integrationId is required: the component type to connect (GET /v1beta/integrations)", field="integrationId"
        )
    try:
        definition = integration_get(integration_id)
    except NotFound:
        raise InvalidArgument(
            f'integrationId: integration "{integration_id}" does not exist', field="integrationId"
        ) from None
    _check_method(data.get("method"))
    if data.get("setup") is None:
        raise InvalidArgument("setup is required", field="setup")
    setup = _check_setup(definition, data.get("setup"))
    plain, secrets = _split_secrets(definition, setup)
    try:
        with transaction.atomic():
            return Connection.objects.create(
                namespace=namespace,
                slug=connection_id,
                integration_id=integration_id,
                setup=plain,
                encrypted_secrets=encrypt(json.dumps(secrets)) if secrets else "",
                scopes=_check_scopes(data.get("scopes")),
            )
    except IntegrityError as exc:
        raise AlreadyExists(f'connection "{connection_id}" already exists', field="id") from exc


def connection_update(*, namespace: Namespace, connection_id: str, data: Mapping[str, Any]) -> Connection:
    """Replace the setup (whole, as Instill does; a masked secret field keeps its
    value) and the scopes; the id, integration and method cannot change."""
    connection = connection_get(namespace=namespace, connection_id=connection_id)
    if "integrationId" in data and data["integrationId"] not in (None, "", connection.integration_id):
        raise InvalidArgument("integrationId cannot change: create another connection", field="integrationId")
    _check_method(data.get("method"))
    fields = ["update_time"]
    if data.get("setup") is not None:
        definition = integration_get(connection.integration_id)
        stored = _stored_secrets(connection)
        setup = data["setup"]
        if isinstance(setup, Mapping):
            setup = _with(setup, {d: stored.get(d) for d in _secret_fields(definition) if _get(setup, d) == MASK})
        plain, secrets = _split_secrets(definition, _check_setup(definition, setup))
        connection.setup = plain
        connection.encrypted_secrets = encrypt(json.dumps(secrets)) if secrets else ""
        fields += ["setup", "encrypted_secrets"]
    if "scopes" in data:
        connection.scopes = _check_scopes(data["scopes"])
        fields.append("scopes")
    connection.update_time = timezone.now()
    connection.save(update_fields=fields)
    return connection


def connection_delete(*, namespace: Namespace, connection_id: str) -> None:
    deleted, _ = Connection.objects.filter(namespace=namespace, slug=connection_id).delete()
    if not deleted:
        raise missing(connection_id)


# --- answers ----------------------------------------------------------------------------


def masked_setup(connection: Connection) -> dict[str, Any]:
    """The setup as answers show it: each stored secret field ``*****MASK*****`` (as
    it is stored)."""
    return json.loads(json.dumps(connection.setup))


def _integration_title(integration_id: str) -> str:
    try:
        return integration_get(integration_id).title
    except NotFound:  # a component type removed since
        return integration_id


def connection_json(connection: Connection, *, full: bool) -> dict[str, Any]:
    """One ``Connection`` (JSON form); ``setup`` and ``scopes`` only in VIEW_FULL."""
    namespace = connection.namespace.slug
    return {
        "name": f"namespaces/{namespace}/connections/{connection.slug}",
        "uid": str(connection.uid),
        "id": connection.slug,
        "namespaceId": namespace,
        "integrationId": connection.integration_id,
        "integrationTitle": _integration_title(connection.integration_id),
        "method": METHOD,
        "setup": masked_setup(connection) if full else None,
        "scopes": list(connection.scopes) if full else [],
        "view": "VIEW_FULL" if full else "VIEW_BASIC",
        "createTime": connection.create_time.isoformat().replace("+00:00", "Z"),
        "updateTime": connection.update_time.isoformat().replace("+00:00", "Z"),
    }


def full_view(params: Mapping[str, str]) -> bool:
    return view_is_full(params)


# --- recipes ----------------------------------------------------------------------------


def _reference_pattern(connection_id: str) -> re.Pattern[str]:
    return re.compile(r"\$\{\s*connection\." + re.escape(connection_id) + r"\s*\}")


# Instill declares ``q`` (pkg/service/integration.go); ``qPipeline`` is kept for clients
# that sent it before. Both search the pipeline's id.
_REFERENCING_FIELDS = {"q": Field("fuzzy", get=lambda slug: slug), "qPipeline": Field("fuzzy", get=lambda slug: slug)}


def referenced_pipelines(*, namespace: Namespace, connection_id: str, params: Mapping[str, str]) -> list[str]:
    """The ids of the namespace's pipelines that reference the connection
    (``${connection.<id>}``) in their recipe or in any of their releases' recipes (a
    release runs on the connection too, so deleting it would break that release), newest
    pipeline first as Instill lists them; ``q="text"`` keeps those whose id contains it."""
    connection_get(namespace=namespace, connection_id=connection_id)
    pattern = _reference_pattern(connection_id)
    rows = Pipeline.objects.filter(namespace=namespace)
    mentions = "connection."
    hits = {
        pk
        for pk, raw in rows.filter(raw_recipe__contains=mentions).values_list("pk", "raw_recipe")
        if pattern.search(raw)
    }
    releases = PipelineRelease.objects.filter(pipeline__namespace=namespace, raw_recipe__contains=mentions)
    hits |= {pk for pk, raw in releases.values_list("pipeline_id", "raw_recipe") if pattern.search(raw)}
    found = list(rows.filter(pk__in=hits).order_by("-create_time", "-pk").values_list("slug", flat=True))
    wanted = compile_filter(params.get("filter") or "", _REFERENCING_FIELDS, search="q")
    return [slug for slug in found if wanted.matches(slug)]


def connections_for_run(*, namespace_id: int, connection_ids: Iterable[str], strict: bool = True) -> dict[str, str]:
    """The run's secrets-mapping entries of the connections a recipe references, secrets
    decrypted (in memory only); Instill's 400 ``Connection <id> doesn't exist.`` for a
    missing one."""
    wanted = sorted(set(connection_ids))
    if not wanted:
        return {}
    rows = {c.slug: c for c in Connection.objects.filter(namespace_id=namespace_id, slug__in=wanted)}
    entries: dict[str, str] = {}
    for connection_id in wanted:
        connection = rows.get(connection_id)
        if connection is None:
            if not strict:
                continue
            raise InvalidArgument(f"Connection {connection_id} doesn't exist.", field="recipe")
        secrets = _stored_secrets(connection)
        entries.update(engine_connections.packed(connection_id, _with(connection.setup, secrets), secrets.values()))
    return entries


def missing_connections(*, namespace: Namespace, connection_ids: Iterable[str]) -> list[str]:
    wanted = set(connection_ids)
    have = set(Connection.objects.filter(namespace=namespace, slug__in=wanted).values_list("slug", flat=True))
    return sorted(wanted - have)


def connection_problems(*, namespace: Namespace, recipe: Recipe | None) -> list[dict[str, Any]]:
    """``/validate``'s and the editor's error for each component whose setup names a
    connection the namespace lacks (a trigger would fail on it: Instill accepts the
    recipe at save time and refuses the trigger)."""
    if recipe is None:
        return []
    located: list[tuple[str, str]] = []
    _setup_connections(recipe.graph, "component", located)
    if not located:
        return []
    absent = set(missing_connections(namespace=namespace, connection_ids={cid for _, cid in located}))
    return [
        {"location": where, "error": f"Connection {cid} doesn't exist.", "severity": "error"}
        for where, cid in located
        if cid in absent
    ]


def _setup_connections(graph: Graph, prefix: str, out: list[tuple[str, str]]) -> None:
    for component in graph.components.values():
        if component.setup is not None:
            for reference in component.setup.references():
                if reference.root == "connection" and reference.field is not None:
                    out.append((f"{prefix}.{component.id}.setup", str(reference.field)))
        if component.iterator is not None:
            _setup_connections(component.iterator.graph, f"{prefix}.{component.id}.component", out)


# --- the Settings page's form -----------------------------------------------------------

_INPUT_KINDS = {"string": "text", "integer": "number", "number": "number", "boolean": "checkbox"}


def setup_fields(definition: ComponentDefinition, connection: Connection | None = None) -> list[dict[str, Any]]:
    """The integration's top-level setup fields as the page's form shows them: a
    password input for a secret field (empty: its stored value is never sent back), a
    JSON text area for a field that holds an object or a list."""
    schema = definition.setup_schema
    properties: Mapping[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    secret = {dotted.split(".")[0] for dotted in definition.credential_fields}
    # Objects are shown as JSON with their secret fields masked: sent back as they are,
    # the mask keeps the stored values (connection_update).
    stored = masked_setup(connection) if connection is not None else {}
    masked = {name for name, value in stored.items() if value == MASK}
    fields = []
    for name, spec in properties.items():
        spec = spec if isinstance(spec, Mapping) else {}
        json_type = str(spec.get("type") or "")
        kind = "password" if name in secret and json_type == "string" else _INPUT_KINDS.get(json_type, "json")
        value = stored.get(name, "")
        if kind == "json" and name in stored:
            value = json.dumps(value)
        fields.append(
            {
                "name": name,
                "title": spec.get("title") or name,
                "description": spec.get("description") or "",
                "kind": kind,
                "value": "" if kind == "password" else value,
                "required": name in required,
                "stored": name in masked,
            }
        )
    return fields


def setup_from_form(definition: ComponentDefinition, form: Mapping[str, Any], *, editing: bool) -> dict[str, Any]:
    """The setup a page form sent (``setup.<field>`` entries). Empty fields are left
    out; on an edit an empty secret field keeps its stored value."""
    setup: dict[str, Any] = {}
    for field in setup_fields(definition):
        raw = form.get(f"setup.{field['name']}")
        kind = field["kind"]
        if kind == "checkbox":
            if raw is not None:
                setup[field["name"]] = raw in ("on", "true", "1")
            continue
        if raw is None or raw == "":
            if kind == "password" and editing:
                setup[field["name"]] = MASK
            continue
        if kind == "number":
            try:
                setup[field["name"]] = float(raw) if "." in raw else int(raw)
            except ValueError:
                raise InvalidArgument(
                    f"setup.{field['name']}: {raw!r} is not a number", field=f"setup.{field['name']}"
                ) from None
        elif kind == "json":
            try:
                setup[field["name"]] = json.loads(raw)
            except ValueError:
                raise InvalidArgument(
                    f"setup.{field['name']}: write it as JSON", field=f"setup.{field['name']}"
                ) from None
        else:
            setup[field["name"]] = raw
    return setup
