"""Pipelines: create, update, rename, clone, delete, validate — and the parsed-recipe cache."""

from __future__ import annotations

import re
import threading
import uuid
from collections import OrderedDict
from typing import Any

import yaml
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from pipelines.components import default_registry
from pipelines.engine import Recipe, RecipeInvalid, RecipeLimits, parse_recipe, validate_recipe
from pipelines.errors import AlreadyExists, InvalidArgument, RecipeInvalidError, quoted
from pipelines.models import PIPELINE_ID_PATTERN, Connection, Namespace, Pipeline, PipelineRelease
from pipelines.services.connections import connection_problems

ROLES = ("ROLE_VIEWER", "ROLE_EXECUTOR")

_recipe_cache: OrderedDict[tuple, Recipe] = OrderedDict()
_recipe_cache_lock = threading.Lock()
RECIPE_CACHE_SIZE = 512


ID_MAX = 63


def check_id(value: Any, *, field: str = "id", what: str = "pipeline") -> str:
    """A pipeline id as Instill's resource-id check allows it (up to 63 characters,
    never a UUID), with the ``_`` ids made here before always could hold."""
    if not isinstance(value, str) or not re.match(PIPELINE_ID_PATTERN, value):
        raise InvalidArgument(
            f"{what} id {quoted(value)} is not valid: use 1-{ID_MAX} lowercase letters, digits, "
            '"-" or "_", starting with a letter or "_"',
            field=field,
        )
    if _is_uuid(value):
        raise InvalidArgument(f'{what} id "{value}" is a UUID, which is not allowed', field=field)
    return value


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def slug_of(display_name: str) -> str:
    """Instill's slug of a display name: lowercase letters and digits, every other run
    of characters one "-" (``"Integration Test Pipeline"`` → ``integration-test-pipeline``)."""
    return re.sub(r"[^a-z0-9]+", "-", display_name.lower()).strip("-")


def pipeline_id_from(*, namespace: Namespace, display_name: str) -> str:
    """The id of a pipeline created with a display name and no id: its slug, made a
    valid id, with ``-2``, ``-3`` ... when the namespace already has it."""
    base = slug_of(display_name)[: ID_MAX - 8].strip("-") or "pipeline"
    if not base[0].isalpha():
        base = f"pipeline-{base}"[: ID_MAX - 8]
    taken = set(Pipeline.objects.filter(namespace=namespace, slug__startswith=base).values_list("slug", flat=True))
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def recipe_limits() -> RecipeLimits:
    """The recipe limits of the settings (``PIPELINE_MAX_RECIPE_BYTES``, ``PIPELINE_MAX_JSON_DEPTH``)."""
    return RecipeLimits(max_bytes=settings.PIPELINE_MAX_RECIPE_BYTES, max_depth=settings.PIPELINE_MAX_JSON_DEPTH)


def recipe_source(*, raw_recipe: Any = None, recipe: Any = None, runtime_errors: bool = False) -> tuple[str, dict]:
    """Validate a recipe given as YAML text or JSON object; returns (yaml text, recipe JSON).
    ``runtime_errors``: a recipe whose only errors are those Instill finds when it runs
    (:attr:`Problem.runtime`) is accepted, as Instill's API accepts it."""
    if raw_recipe is not None:
        if not isinstance(raw_recipe, str):
            raise InvalidArgument("rawRecipe must be a string of YAML", field="rawRecipe")
        source: Any = raw_recipe
    elif recipe is not None:
        if not isinstance(recipe, dict):
            raise InvalidArgument("recipe must be a JSON object", field="recipe")
        source = recipe
    else:
        return "", {}
    if isinstance(source, str) and not source.strip():
        return "", {}
    raw = source if isinstance(source, str) else yaml.safe_dump(source, sort_keys=False, allow_unicode=True)
    try:
        parsed = parse_recipe(source, registry=default_registry(), limits=recipe_limits())
    except RecipeInvalid as exc:
        if not runtime_errors or not all(p.runtime for p in exc.problems if p.is_error):
            raise RecipeInvalidError(_errors(exc)) from exc
        # Only what Instill refuses at trigger time (an unknown component type, a setup
        # that is not a connection reference): saved as Instill saves it; a trigger
        # answers 400 naming it (stored_recipe_refusal), /validate and the editor list it.
        loaded = yaml.safe_load(source) if isinstance(source, str) else source
        return raw, dict(loaded)
    return raw, parsed.raw


def recipe_copied(pipeline: Pipeline) -> tuple[str, dict]:
    """The pipeline's recipe checked again before a clone or release copies it: one
    saved before the limits existed (a YAML alias bomb, say) is not multiplied."""
    if not pipeline.raw_recipe.strip():
        return "", pipeline.recipe
    return recipe_source(raw_recipe=pipeline.raw_recipe, runtime_errors=True)


def recipe_validate(*, raw_recipe: str, namespace: Namespace | None = None) -> list[dict]:
    """Problems of a recipe, errors and warnings (each says its ``severity``), for
    ``/validate``; empty when it is valid with nothing to warn about. With the
    pipeline's ``namespace``, a connection it lacks is an error too."""
    if not raw_recipe.strip():
        return []
    problems = [p.as_dict() for p in validate_recipe(raw_recipe, registry=default_registry(), limits=recipe_limits())]
    if namespace is not None and "connection" in raw_recipe and not any(p["severity"] == "error" for p in problems):
        recipe = parse_recipe(raw_recipe, registry=default_registry(), limits=recipe_limits())
        problems = connection_problems(namespace=namespace, recipe=recipe) + problems
    return problems


def recipe_check(*, raw_recipe: str, namespace: Namespace | None = None) -> tuple[Recipe | None, list[dict]]:
    """The parsed recipe and its warnings, or None and its problems (errors, then
    warnings): the editor's as-you-type check, which also draws the graph of a valid
    recipe. With the pipeline's ``namespace``, a connection it lacks is an error
    (the recipe still parses: a trigger is what it stops)."""
    if not raw_recipe.strip():
        return None, []
    try:
        recipe = parse_recipe(raw_recipe, registry=default_registry(), limits=recipe_limits())
    except RecipeInvalid as exc:
        return None, [p.as_dict() for p in exc.problems]
    warnings = [p.as_dict() for p in recipe.warnings]
    if namespace is not None and "connection" in raw_recipe:
        warnings = connection_problems(namespace=namespace, recipe=recipe) + warnings
    return recipe, warnings


def _errors(exc: RecipeInvalid) -> list[dict]:
    """The errors of an invalid recipe, as a refusal lists them (its warnings are
    for ``/validate`` and the editor)."""
    return [p.as_dict() for p in exc.problems if p.is_error]


def recipe_for(*, key: tuple, raw_recipe: str) -> Recipe:
    """The parsed recipe, cached by ``key`` (an identity that changes whenever the text does)."""
    cached = _recipe_cache.get(key)
    if cached is not None:
        return cached
    try:
        parsed = parse_recipe(raw_recipe or "{}", registry=default_registry(), limits=recipe_limits())
    except RecipeInvalid as exc:
        # Stored recipes were valid when saved; a component removed since is the usual cause.
        raise RecipeInvalidError(_errors(exc)) from exc
    with _recipe_cache_lock:
        _recipe_cache[key] = parsed
        while len(_recipe_cache) > RECIPE_CACHE_SIZE:
            _recipe_cache.popitem(last=False)
    return parsed


_CONNECTION_SETUP = re.compile(r"^\$\{\s*connection\.([^\s}]+)\s*\}$")


def stored_recipe_refusal(*, raw_recipe: str, namespace_id: int, error: RecipeInvalidError) -> InvalidArgument:
    """Why a trigger of a saved recipe that does not parse is refused, in Instill's
    order and words: a string setup that is not a connection reference, then a
    connection the namespace lacks, then the recipe's own first error."""
    try:
        tree = yaml.safe_load(raw_recipe) if raw_recipe.strip() else {}
    except yaml.YAMLError:
        return error
    wanted: list[str] = []
    for setup in _setups(tree.get("component") if isinstance(tree, dict) else None):
        if not isinstance(setup, str):
            continue
        match = _CONNECTION_SETUP.match(setup)
        if match is None:
            return InvalidArgument(
                "String setup only supports connection references (${connection.<conn-id>}).", field="recipe"
            )
        wanted.append(match[1])
    have = set(Connection.objects.filter(namespace_id=namespace_id, slug__in=wanted).values_list("slug", flat=True))
    missing = [cid for cid in wanted if cid not in have]
    if missing:
        return InvalidArgument(f"Connection {missing[0]} doesn't exist.", field="recipe")
    return error


def _setups(components: Any):
    """The ``setup`` values of a recipe's components, iterators' components included."""
    if not isinstance(components, dict):
        return
    for spec in components.values():
        if isinstance(spec, dict):
            if "setup" in spec:
                yield spec["setup"]
            yield from _setups(spec.get("component"))


def pipeline_recipe(pipeline: Pipeline) -> Recipe:
    return recipe_for(key=_recipe_key(pipeline), raw_recipe=pipeline.raw_recipe)


def version_recipe(pipeline: Pipeline, release: PipelineRelease | None = None) -> Recipe:
    """The parsed recipe of a pipeline's latest version (``release`` None) or of one of
    its releases, cached; :class:`RecipeInvalidError` for a stored recipe that no
    longer parses (a component removed since it was saved)."""
    if release is None:
        return pipeline_recipe(pipeline)
    return recipe_for(key=("r", release.uid), raw_recipe=release.raw_recipe)


def pipeline_recipe_cached(pipeline: Pipeline) -> Recipe | None:
    """The parsed recipe if it is cached (no parsing: the caller is on the event loop)."""
    return _recipe_cache.get(_recipe_key(pipeline))


def _recipe_key(pipeline: Pipeline) -> tuple:
    return ("p", pipeline.uid, pipeline.update_time)


def sharing_normalize(sharing: Any) -> dict:
    if sharing is None:
        return {}
    if not isinstance(sharing, dict):
        raise InvalidArgument("sharing must be an object", field="sharing")
    users = sharing.get("users") or {}
    if not isinstance(users, dict):
        raise InvalidArgument("sharing.users must be an object", field="sharing.users")
    out: dict = {"users": {}}
    for key, entry in users.items():
        if key != "*/*":
            raise InvalidArgument('sharing.users only accepts the key "*/*" (everyone)', field=f"sharing.users.{key}")
        if not isinstance(entry, dict):
            raise InvalidArgument('sharing.users["*/*"] must be an object', field="sharing.users.*/*")
        role = entry.get("role") or "ROLE_VIEWER"
        if role not in ROLES:
            raise InvalidArgument(f"sharing role must be one of {', '.join(ROLES)}", field="sharing.users.*/*.role")
        out["users"][key] = {"enabled": bool(entry.get("enabled")), "role": role}
    return out


def visibility_sharing(visibility: str, current: dict) -> dict:
    if visibility not in ("VISIBILITY_PUBLIC", "VISIBILITY_PRIVATE"):
        raise InvalidArgument("visibility must be VISIBILITY_PUBLIC or VISIBILITY_PRIVATE", field="visibility")
    entry = dict((current.get("users") or {}).get("*/*") or {"role": "ROLE_EXECUTOR"})
    entry["enabled"] = visibility == "VISIBILITY_PUBLIC"
    entry.setdefault("role", "ROLE_EXECUTOR")
    return {"users": {"*/*": entry}}


def _apply_sharing(pipeline: Pipeline, sharing: dict) -> None:
    pipeline.sharing = sharing
    entry = (sharing.get("users") or {}).get("*/*") or {}
    pipeline.is_public = bool(entry.get("enabled"))


@transaction.atomic
def pipeline_create(
    *,
    namespace: Namespace,
    pipeline_id: str | None,
    description: str = "",
    readme: str = "",
    raw_recipe: Any = None,
    recipe: Any = None,
    sharing: Any = None,
    visibility: str | None = None,
    display_name: str = "",
    creator: Any = None,
    runtime_errors: bool = False,
) -> Pipeline:
    """Create a pipeline. Without ``pipeline_id`` (as Instill's clients create them),
    the id is derived from ``display_name`` (:func:`pipeline_id_from`).
    ``runtime_errors``: see :func:`recipe_source` (the API's create, as Instill's)."""
    display_name = _text(display_name, "displayName").strip()
    derived = pipeline_id is None
    if pipeline_id is None:
        if not display_name:
            raise InvalidArgument("displayName is required (or an id for the pipeline)", field="displayName")
        pipeline_id = pipeline_id_from(namespace=namespace, display_name=display_name)
    check_id(pipeline_id)
    raw, recipe_json = recipe_source(raw_recipe=raw_recipe, recipe=recipe, runtime_errors=runtime_errors)
    normalized = sharing_normalize(sharing)
    if visibility:
        normalized = visibility_sharing(visibility, normalized)
    if Pipeline.objects.filter(namespace=namespace, slug=pipeline_id).exists():
        raise AlreadyExists(f'pipeline "{pipeline_id}" already exists in namespace "{namespace.slug}"', field="id")
    pipeline = Pipeline(
        namespace=namespace,
        slug=pipeline_id,
        display_name=display_name,
        creator=creator if creator is not None and creator.is_authenticated else None,
        description=_text(description, "description"),
        readme=_text(readme, "readme"),
        raw_recipe=raw,
        recipe=recipe_json,
    )
    _apply_sharing(pipeline, normalized)
    attempts = 0
    while True:
        try:
            with transaction.atomic():
                pipeline.save()
            return pipeline
        except IntegrityError as exc:
            # A made id taken meanwhile by a create of the same display name: the next one.
            attempts += 1
            if not derived or attempts == 5:
                raise AlreadyExists(
                    f'pipeline "{pipeline.slug}" already exists in namespace "{namespace.slug}"', field="id"
                ) from exc
            pipeline.slug = pipeline_id_from(namespace=namespace, display_name=display_name)


def _text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} must be a string", field=field)
    return value


@transaction.atomic
def pipeline_update(*, pipeline: Pipeline, changes: dict, runtime_errors: bool = False) -> Pipeline:
    """Apply a partial update. Recognised keys: description, readme, displayName, rawRecipe,
    recipe, sharing, visibility, maxRunSeconds (null: the PIPELINE_MAX_RUN_SECONDS setting).
    ``runtime_errors``: see :func:`recipe_source` (the API's update; the Editor's Save stays strict)."""
    if "rawRecipe" in changes or "recipe" in changes:
        raw, recipe_json = recipe_source(
            raw_recipe=changes.get("rawRecipe"),
            recipe=changes.get("recipe") if "rawRecipe" not in changes else None,
            runtime_errors=runtime_errors,
        )
        pipeline.raw_recipe, pipeline.recipe = raw, recipe_json
    if "description" in changes:
        pipeline.description = _text(changes["description"], "description")
    if "readme" in changes:
        pipeline.readme = _text(changes["readme"], "readme")
    if "displayName" in changes:
        pipeline.display_name = _text(changes["displayName"], "displayName").strip()
    if "sharing" in changes:
        _apply_sharing(pipeline, sharing_normalize(changes["sharing"]))
    if "maxRunSeconds" in changes:
        limit = changes["maxRunSeconds"]
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise InvalidArgument(
                "maxRunSeconds must be a whole number of seconds (at least 1) or null", field="maxRunSeconds"
            )
        pipeline.max_run_seconds = limit
    if changes.get("visibility"):
        _apply_sharing(pipeline, visibility_sharing(changes["visibility"], pipeline.sharing or {}))
    pipeline.update_time = timezone.now()
    pipeline.save()
    return pipeline


@transaction.atomic
def pipeline_rename(*, pipeline: Pipeline, new_id: Any) -> Pipeline:
    check_id(new_id, field="newPipelineId")
    if Pipeline.objects.filter(namespace=pipeline.namespace, slug=new_id).exclude(pk=pipeline.pk).exists():
        raise AlreadyExists(
            f'pipeline "{new_id}" already exists in namespace "{pipeline.namespace.slug}"', field="newPipelineId"
        )
    pipeline.slug = new_id
    pipeline.update_time = timezone.now()
    pipeline.save(update_fields=["slug", "update_time"])
    return pipeline


@transaction.atomic
def pipeline_clone(
    *,
    pipeline: Pipeline,
    target_namespace: Namespace,
    target_id: Any,
    description: str | None = None,
    sharing: Any = None,
) -> Pipeline:
    check_id(target_id, field="targetPipelineId")
    if Pipeline.objects.filter(namespace=target_namespace, slug=target_id).exists():
        raise AlreadyExists(
            f'pipeline "{target_id}" already exists in namespace "{target_namespace.slug}"', field="targetPipelineId"
        )
    raw, recipe_json = recipe_copied(pipeline)
    clone = Pipeline(
        namespace=target_namespace,
        slug=target_id,
        display_name=pipeline.display_name,
        description=pipeline.description if description is None else _text(description, "description"),
        readme=pipeline.readme,
        raw_recipe=raw,
        recipe=recipe_json,
    )
    _apply_sharing(clone, sharing_normalize(sharing))
    clone.save()
    return clone
