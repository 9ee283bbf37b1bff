"""Request validation (DRF serializers) and response shaping for the v1beta API.

Serializers validate and shape; they never run business logic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from pipelines.errors import InvalidArgument
from pipelines.models import ApiToken, ComponentRun, Namespace, Pipeline, PipelineRelease, PipelineRun, Secret
from pipelines.selectors import Permission
from pipelines.services.operations import operation_state
from pipelines.services.pipelines import slug_of
from pipelines.services.run_files import as_urls
from pipelines.services.tokens import token_state
from pipelines.services.users import user_json

# The operation's response, typed as protobuf's Any names it (the contract's JSON).
RESPONSE_TYPE = "type.googleapis.com/pipeline.pipeline.v1beta.TriggerNamespacePipelineResponse"


def operation_json(run: PipelineRun) -> dict[str, Any]:
    """An async trigger's operation in the API's JSON (``google.longrunning.Operation``)."""
    state = operation_state(run)
    operation: dict[str, Any] = {"name": state.name, "metadata": None, "done": state.done}
    if not state.done:
        return operation
    if state.error_code is not None:
        operation["error"] = {"code": state.error_code, "message": state.error, "details": []}
    else:
        operation["response"] = {"@type": RESPONSE_TYPE, "outputs": state.outputs, "metadata": {"traces": state.traces}}
    return operation


def ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


# --- requests -----------------------------------------------------------------------
class PipelineCreateInput(serializers.Serializer):
    # Optional, as Instill's clients create pipelines: the id is then derived from displayName.
    id = serializers.CharField(required=False)
    displayName = serializers.CharField(required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    readme = serializers.CharField(required=False, allow_blank=True, default="")
    rawRecipe = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    recipe = serializers.JSONField(required=False)
    sharing = serializers.JSONField(required=False)
    visibility = serializers.CharField(required=False)


class PipelineUpdateInput(serializers.Serializer):
    displayName = serializers.CharField(required=False, allow_blank=True)
    maxRunSeconds = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    description = serializers.CharField(required=False, allow_blank=True)
    readme = serializers.CharField(required=False, allow_blank=True)
    rawRecipe = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    recipe = serializers.JSONField(required=False)
    sharing = serializers.JSONField(required=False)
    visibility = serializers.CharField(required=False)


class PipelineRenameInput(serializers.Serializer):
    newPipelineId = serializers.CharField()


class PipelineCloneInput(serializers.Serializer):
    targetNamespaceId = serializers.CharField(required=False)
    targetPipelineId = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    sharing = serializers.JSONField(required=False)


class PipelineValidateInput(serializers.Serializer):
    rawRecipe = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class ReleaseCreateInput(serializers.Serializer):
    id = serializers.CharField()
    displayName = serializers.CharField(required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    readme = serializers.CharField(required=False, allow_blank=True, default="")


class ReleaseUpdateInput(serializers.Serializer):
    displayName = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    readme = serializers.CharField(required=False, allow_blank=True)


class TokenCreateInput(serializers.Serializer):
    id = serializers.CharField()
    ttl = serializers.IntegerField(required=False)
    expireTime = serializers.DateTimeField(required=False)


class SecretCreateInput(serializers.Serializer):
    id = serializers.CharField()
    value = serializers.CharField(trim_whitespace=False)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class SecretUpdateInput(serializers.Serializer):
    value = serializers.CharField(required=False, trim_whitespace=False)
    description = serializers.CharField(required=False, allow_blank=True)


# --- responses ----------------------------------------------------------------------
# Instill's views of a pipeline or release: BASIC leaves the recipe out, RECIPE adds
# it, FULL adds its dataSpecification too.
VIEW_BASIC, VIEW_RECIPE, VIEW_FULL = "VIEW_BASIC", "VIEW_RECIPE", "VIEW_FULL"
_VIEWS = {"VIEW_UNSPECIFIED": VIEW_BASIC, VIEW_BASIC: VIEW_BASIC, VIEW_FULL: VIEW_FULL, VIEW_RECIPE: VIEW_RECIPE}
_VIEW_NUMBERS = {"0": VIEW_BASIC, "1": VIEW_BASIC, "2": VIEW_FULL, "3": VIEW_RECIPE}


VIEW_PARAMETER = OpenApiParameter(
    "view",
    str,
    enum=["VIEW_UNSPECIFIED", VIEW_BASIC, VIEW_RECIPE, VIEW_FULL],
    description="VIEW_BASIC (the default) leaves recipe and rawRecipe out; VIEW_RECIPE adds them; "
    "VIEW_FULL adds the dataSpecification too.",
)


def view_param(params, default: str = VIEW_BASIC) -> str:
    """The ``view`` query parameter (an enum name or number, as Instill's gateway takes
    it); 400 naming the parameter for anything else."""
    raw = params.get("view")
    if raw in (None, ""):
        return default
    view = _VIEWS.get(raw) or _VIEW_NUMBERS.get(raw)
    if view is None:
        raise InvalidArgument(f"view must be one of {', '.join(_VIEWS)}", field="view")
    return view


def namespace_name(namespace: Namespace) -> str:
    """A namespace's resource name as Instill now writes it: ``users/<id>`` or
    ``organizations/<id>``. Every path also takes ``namespaces/<id>``."""
    kind = "organizations" if namespace.kind == Namespace.Kind.ORGANIZATION else "users"
    return f"{kind}/{namespace.slug}"


def owner_json(namespace: Namespace) -> dict[str, Any]:
    """Instill's ``mgmt.v1beta.Owner`` of a namespace: ``{"user": ...}`` or ``{"organization": ...}``.
    ``id`` is also kept at the top, as this API first had it."""
    if namespace.user is not None:
        return {"id": namespace.slug, "user": user_json(namespace.user)}
    return {
        "id": namespace.slug,
        "organization": {
            "name": namespace_name(namespace),
            "uid": str(namespace.uid),
            "id": namespace.slug,
            "profile": {"displayName": namespace.slug},
        },
    }


def _creator_name(pipeline: Pipeline) -> str | None:
    # Before creators were kept, only the namespace's user could create there.
    creator = pipeline.creator or pipeline.namespace.user
    return f"users/{creator.username}" if creator is not None else None


def pipeline_json(
    pipeline: Pipeline,
    *,
    permission: Permission,
    stats: dict | None = None,
    recipe_spec: dict | None = None,
    view: str = VIEW_FULL,
) -> dict[str, Any]:
    """A pipeline in Instill's JSON; ``view`` BASIC leaves ``recipe`` (null) and
    ``rawRecipe`` ("") out, and only FULL carries ``recipe_spec``."""
    owner_name = namespace_name(pipeline.namespace)
    stats = stats or {}
    with_recipe = view != VIEW_BASIC
    return {
        "name": f"{owner_name}/pipelines/{pipeline.slug}",
        "uid": str(pipeline.uid),
        "id": pipeline.slug,
        "displayName": pipeline.display_name or pipeline.slug,
        "slug": slug_of(pipeline.display_name) or pipeline.slug,
        "aliases": [],
        "description": pipeline.description,
        "readme": pipeline.readme,
        "rawRecipe": pipeline.raw_recipe if with_recipe else "",
        "recipe": pipeline.recipe if with_recipe else None,
        "sharing": pipeline.sharing or {"users": {}},
        "visibility": "VISIBILITY_PUBLIC" if pipeline.is_public else "VISIBILITY_PRIVATE",
        "ownerName": owner_name,
        "owner": owner_json(pipeline.namespace),
        "creatorName": _creator_name(pipeline),
        "createTime": ts(pipeline.create_time),
        "updateTime": ts(pipeline.update_time),
        "dataSpecification": recipe_spec if view == VIEW_FULL else None,
        "permission": permission.as_json(),
        "stats": {"numberOfRuns": stats.get("numberOfRuns", 0), "lastRunTime": ts(stats.get("lastRunTime"))},
        # Our addition: the run time limit of this pipeline (null: PIPELINE_MAX_RUN_SECONDS).
        "maxRunSeconds": pipeline.max_run_seconds,
    }


def release_json(release: PipelineRelease, *, recipe_spec: dict | None = None, view: str = VIEW_FULL) -> dict[str, Any]:
    pipeline = release.pipeline
    with_recipe = view != VIEW_BASIC
    return {
        "name": f"{namespace_name(pipeline.namespace)}/pipelines/{pipeline.slug}/releases/{release.slug}",
        "uid": str(release.uid),
        "id": release.slug,
        "displayName": release.display_name or release.slug,
        "slug": slug_of(release.display_name) or release.slug,
        "aliases": [],
        "description": release.description,
        "readme": release.readme,
        "rawRecipe": release.raw_recipe if with_recipe else "",
        "recipe": release.recipe if with_recipe else None,
        "dataSpecification": recipe_spec if view == VIEW_FULL else None,
        "createTime": ts(release.create_time),
        "updateTime": ts(release.update_time),
    }


def run_json(run: PipelineRun, *, show_data: bool) -> dict[str, Any]:
    return {
        "pipelineRunUid": str(run.uid),
        "id": str(run.uid),
        "pipelineId": run.pipeline.slug,
        "pipelineNamespaceId": run.pipeline.namespace.slug,
        "pipelineVersion": run.pipeline_version,
        # True for an Editor run of an unsaved draft: recipeSnapshot is that draft.
        "draft": run.draft,
        "status": run.status,
        "source": run.source,
        "totalDuration": run.total_duration_ms,
        "runnerId": run.requester.username if run.requester else None,
        "requesterId": run.requester.username if run.requester else None,
        "inputs": as_urls(run.inputs, run_uid=run.uid) if show_data else [],
        "outputs": as_urls(run.outputs, run_uid=run.uid) if show_data else [],
        "recipeSnapshot": run.recipe_snapshot if show_data else None,
        "startTime": ts(run.start_time),
        "completeTime": ts(run.complete_time),
        "createTime": ts(run.create_time),
        "error": run.error or None,
    }


def component_run_json(component_run: ComponentRun, *, show_data: bool) -> dict[str, Any]:
    return {
        "pipelineRunUid": str(component_run.run.uid),
        "componentId": component_run.component_id,
        "id": component_run.component_id,
        "status": component_run.status,
        "totalDuration": component_run.total_duration_ms,
        "startTime": ts(component_run.start_time),
        "completeTime": ts(component_run.complete_time),
        "error": component_run.error or None,
        "inputs": as_urls(component_run.inputs, run_uid=component_run.run.uid) if show_data else [],
        "outputs": as_urls(component_run.outputs, run_uid=component_run.run.uid) if show_data else [],
    }


def token_json(token: ApiToken, *, access_token: str | None = None) -> dict[str, Any]:
    return {
        "name": f"tokens/{token.slug}",
        "uid": str(token.uid),
        "id": token.slug,
        "createTime": ts(token.create_time),
        "updateTime": ts(token.update_time),
        "lastUseTime": ts(token.last_use_time),
        # Only at creation; afterwards a masked hint (the secret is not stored).
        "accessToken": access_token if access_token is not None else f"instill_sk_****{token.hint}",
        "state": token_state(token),
        "tokenType": "Bearer",
        "expireTime": ts(token.expire_time),
    }


def secret_json(secret: Secret) -> dict[str, Any]:
    return {
        "name": f"namespaces/{secret.namespace.slug}/secrets/{secret.slug}",
        "uid": str(secret.uid),
        "id": secret.slug,
        "description": secret.description,
        "createTime": ts(secret.create_time),
        "updateTime": ts(secret.update_time),
    }
