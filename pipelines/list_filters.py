"""What each list kept in the database can be filtered by, in Instill's field names.

The fields are those Instill's handlers declare for the same lists (pipeline-backend
``pkg/handler/pipeline.go``: ``q``, ``uid``, ``id``, ``description``, ``owner``, ``tag``,
``numberOfRuns``, ``createTime``, ``updateTime`` for pipelines; ``status``, ``source``,
``startTime``, ``completeTime`` for runs; ``pkg/service/integration.go`` for
connections), plus ``visibility``, which Instill takes as a request parameter of its
own and we take in the filter too. The expressions are read by :mod:`pipelines.filtering`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Count, Q

from pipelines.components import default_registry
from pipelines.errors import InvalidArgument, quoted
from pipelines.filtering import AllOf, Comparison, Field, Filter, Literal, compile_filter
from pipelines.models import ComponentRun, PipelineRun

NOTHING = Q(pk__in=[])
VISIBILITY_CHOICES = ("VISIBILITY_PUBLIC", "VISIBILITY_PRIVATE")


def _uid(operator: str, value: Any) -> Q:
    """A uid that is not a UUID names nothing (rather than a database error)."""
    try:
        found = Q(uid=uuid.UUID(str(value)))
    except ValueError:
        found = NOTHING
    return ~found if operator == "!=" else found


def _owner(operator: str, value: Any) -> Q:
    """``owner`` as Instill writes it (``users/alice``, ``namespaces/alice``) or the bare id."""
    name = str(value).rsplit("/", 1)[-1]
    if operator == ":":
        return Q(namespace__slug__icontains=name)
    found = Q(namespace__slug=name)
    return ~found if operator == "!=" else found


def _tag(operator: str, value: Any) -> Q:
    """Pipelines here carry no tags (Instill's only one is ``featured``): ``tag=...``
    keeps none of them, ``tag!=...`` all."""
    return Q() if operator == "!=" else NOTHING


_CREATED_UPDATED = {
    "createTime": Field("timestamp", ("create_time",)),
    "updateTime": Field("timestamp", ("update_time",)),
}

PIPELINE_FIELDS: dict[str, Field] = {
    # Instill's q searches the id and the owner's id (pkg/repository/transpiler.go);
    # ours also the description, as the list's search always has.
    "q": Field("fuzzy", ("slug", "namespace__slug", "description")),
    "uid": Field("string", q=_uid),
    "id": Field("string", ("slug",)),
    "description": Field("string", ("description",)),
    "owner": Field("string", q=_owner),
    "visibility": Field(
        "enum",
        ("is_public",),
        choices=VISIBILITY_CHOICES,
        db_values={"VISIBILITY_PUBLIC": True, "VISIBILITY_PRIVATE": False},
    ),
    "tag": Field("string", q=_tag),
    "numberOfRuns": Field("int", ("filter_number_of_runs",), annotation=Count("runs")),
    **_CREATED_UPDATED,
}

RELEASE_FIELDS: dict[str, Field] = {
    "q": Field("fuzzy", ("slug", "description")),
    "uid": Field("string", q=_uid),
    "id": Field("string", ("slug",)),
    "description": Field("string", ("description",)),
    **_CREATED_UPDATED,
}

RUN_FIELDS: dict[str, Field] = {
    "pipelineTriggerUID": Field("string", q=_uid),
    "status": Field("enum", ("status",), choices=tuple(PipelineRun.Status.values)),
    "source": Field("enum", ("source",), choices=tuple(PipelineRun.Source.values)),
    "pipelineVersion": Field("string", ("pipeline_version",)),
    "createTime": Field("timestamp", ("create_time",)),
    "startTime": Field("timestamp", ("start_time",)),
    "completeTime": Field("timestamp", ("complete_time",)),
}

COMPONENT_RUN_FIELDS: dict[str, Field] = {
    "componentID": Field("string", ("component_id",)),
    "componentId": Field("string", ("component_id",)),
    "status": Field("enum", ("status",), choices=tuple(ComponentRun.Status.values)),
    "startedTime": Field("timestamp", ("start_time",)),
    "startTime": Field("timestamp", ("start_time",)),
    "completedTime": Field("timestamp", ("complete_time",)),
    "completeTime": Field("timestamp", ("complete_time",)),
}


def _connection_search(operator: str, value: Any) -> Q:
    """Instill's ``qConnection``: the text in the connection's id, or in its
    integration's id, title or vendor (pkg/repository/transpiler.go)."""
    text = str(value).casefold()
    integrations = [d.type for d in default_registry() if text in f"{d.title}\n{d.vendor}".casefold()]
    return Q(slug__icontains=text) | Q(integration_id__icontains=text) | Q(integration_id__in=integrations)


CONNECTION_FIELDS: dict[str, Field] = {
    "integrationId": Field("string", ("integration_id",)),
    "qConnection": Field("fuzzy", q=_connection_search),
    "q": Field("fuzzy", q=_connection_search),
    "id": Field("string", ("slug",)),
    **_CREATED_UPDATED,
}


def pipeline_filter(text: str, *, visibility: str = "") -> Filter:
    """A pipeline list's ``filter`` (a bare word searches ``q``, as the list's old
    search did), and Instill's separate ``visibility`` parameter when given."""
    found = compile_filter(text, PIPELINE_FIELDS, search="q")
    if visibility in ("", "VISIBILITY_UNSPECIFIED"):
        return found
    if visibility not in VISIBILITY_CHOICES:
        raise InvalidArgument(
            f"visibility must be one of VISIBILITY_UNSPECIFIED, {', '.join(VISIBILITY_CHOICES)}, not {quoted(visibility)}",
            field="visibility",
        )
    wanted = Comparison("visibility", "=", Literal("word", visibility, 0, visibility), 0)
    return Filter(wanted if found.root is None else AllOf((found.root, wanted)), PIPELINE_FIELDS)


def release_filter(text: str) -> Filter:
    return compile_filter(text, RELEASE_FIELDS, search="q")


def run_filter(text: str) -> Filter:
    return compile_filter(text, RUN_FIELDS)


def component_run_filter(text: str) -> Filter:
    return compile_filter(text, COMPONENT_RUN_FIELDS)


def connection_filter(text: str) -> Filter:
    return compile_filter(text, CONNECTION_FIELDS, search="qConnection")
