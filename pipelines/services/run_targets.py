"""What a trigger runs: a pipeline's latest recipe or one of its releases, authorised
for the caller, with the namespace secrets its recipe can reference."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipelines.aio import db
from pipelines.engine import Recipe
from pipelines.engine.connections import referenced as referenced_connections
from pipelines.errors import PermissionDenied, RecipeInvalidError
from pipelines.models import Pipeline, PipelineRelease
from pipelines.selectors import (
    Permission,
    pipeline_get_for_trigger,
    pipeline_get_for_trigger_on_loop,
    release_get,
    trigger_version_get,
)
from pipelines.services.connections import connections_for_run
from pipelines.services.pipelines import pipeline_recipe_cached, stored_recipe_refusal, version_recipe
from pipelines.services.secrets import secrets_for_namespace


@dataclass
class TriggerTarget:
    """What a trigger runs: a pipeline's latest recipe or one of its releases.
    ``permission`` is None where the caller was authorised elsewhere (a queued run, a
    trigger handed to a run worker)."""

    pipeline: Pipeline
    release: PipelineRelease | None
    recipe: Recipe
    permission: Permission | None
    namespace_secrets: dict[str, str] = field(default_factory=dict)
    # An Editor run of an unsaved draft: ``recipe`` is the draft, not the saved recipe.
    draft: bool = False

    @property
    def version(self) -> str:
        return self.release.slug if self.release else "latest"


def run_secrets(*, namespace_id: int, recipe: Recipe, raw: str, strict: bool = True) -> dict[str, str]:
    """The namespace secrets and connections a recipe can reference, decrypted (only
    in memory, only for recipes that can reference them). ``strict``: a connection the
    recipe references and the namespace lacks is Instill's 400; otherwise it is left
    out (the component fails on the unresolved reference)."""
    secrets = secrets_for_namespace(namespace_id=namespace_id) if "secret" in raw else {}
    if "connection" in raw:
        wanted = referenced_connections(recipe)
        secrets.update(connections_for_run(namespace_id=namespace_id, connection_ids=wanted, strict=strict))
    return secrets


def trigger_target(*, namespace_id: str, pipeline_id: str, user: Any, release_id: str | None = None) -> TriggerTarget:
    """Resolve and authorise what to run. Reads only; safe to call from a worker thread."""
    pipeline, permission = pipeline_get_for_trigger(namespace_id=namespace_id, pipeline_id=pipeline_id, user=user)
    if not permission.can_trigger:
        raise PermissionDenied(f'you may view pipeline "{pipeline_id}" but not trigger it')
    release = release_get(pipeline=pipeline, release_id=release_id) if release_id is not None else None
    raw = release.raw_recipe if release is not None else pipeline.raw_recipe
    try:
        recipe = version_recipe(pipeline, release)
    except RecipeInvalidError as exc:
        raise stored_recipe_refusal(raw_recipe=raw, namespace_id=pipeline.namespace_id, error=exc) from exc
    secrets = run_secrets(namespace_id=pipeline.namespace_id, recipe=recipe, raw=raw)
    return TriggerTarget(
        pipeline=pipeline, release=release, recipe=recipe, permission=permission, namespace_secrets=secrets
    )


def trigger_target_draft(*, namespace_id: str, pipeline_id: str, user: Any, recipe: Recipe, raw: str) -> TriggerTarget:
    """What an Editor Run executes: the draft ``recipe`` (parsed from ``raw``) as shown,
    unsaved, authorised like the latest version. It is a draft run unless the text is
    the saved recipe's."""
    pipeline, permission = pipeline_get_for_trigger(namespace_id=namespace_id, pipeline_id=pipeline_id, user=user)
    if not permission.can_edit:
        raise PermissionDenied(f'only the owner of pipeline "{pipeline_id}" can run a draft of it')
    secrets = run_secrets(namespace_id=pipeline.namespace_id, recipe=recipe, raw=raw)
    return TriggerTarget(
        pipeline=pipeline,
        release=None,
        recipe=recipe,
        permission=permission,
        namespace_secrets=secrets,
        draft=raw != pipeline.raw_recipe,
    )


def trigger_target_on_loop(*, namespace_id: str, pipeline_id: str, user: Any) -> tuple[Any, TriggerTarget] | None:
    """:func:`trigger_target` for the latest version without leaving the event loop:
    ``(user, target)`` when the cached pipeline is current and may be triggered and its
    recipe needs no secrets; ``None`` whenever :func:`trigger_target` has more to do
    (or an error to raise)."""
    found = pipeline_get_for_trigger_on_loop(namespace_id=namespace_id, pipeline_id=pipeline_id, user=user)
    if found is None:
        return None
    pipeline, permission = found
    raw = pipeline.raw_recipe
    if not permission.can_trigger or "secret" in raw or "connection" in raw:
        return None
    recipe = pipeline_recipe_cached(pipeline)
    if recipe is None:
        return None
    return user, TriggerTarget(
        pipeline=pipeline, release=None, recipe=recipe, permission=permission, namespace_secrets={}
    )


# A run worker's targets by (pipeline pk, its update time, release pk): a pipeline
# edited since is looked up afresh under its new update time.
_handed_over: dict[tuple[int, datetime, int | None], tuple[Pipeline, PipelineRelease | None]] = {}


async def trigger_target_handed_over(
    *, pipeline_pk: int, update_time: datetime, release_pk: int | None, secrets: dict[str, str]
) -> TriggerTarget:
    """The target of a trigger handed to a run worker, as ``serve`` resolved and
    authorised it: the pipeline as of the update time ``serve`` saw (cached here by it),
    or the pipeline as it is now if it changed since."""
    key = (pipeline_pk, update_time, release_pk)
    found = _handed_over.get(key)
    if found is None:
        found = await db(trigger_version_get)(pipeline_pk=pipeline_pk, release_pk=release_pk)
        if len(_handed_over) > 4096:
            _handed_over.clear()
        _handed_over[key] = found
    pipeline, release = found
    recipe = version_recipe(pipeline, release)
    return TriggerTarget(pipeline=pipeline, release=release, recipe=recipe, permission=None, namespace_secrets=secrets)
