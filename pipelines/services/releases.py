"""Releases: a pipeline's recipe frozen under a semantic version."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from pipelines.errors import AlreadyExists, InvalidArgument, quoted
from pipelines.models import PIPELINE_ID_PATTERN, Pipeline, PipelineRelease
from pipelines.services.pipelines import recipe_copied

# vMAJOR.MINOR.PATCH with an optional pre-release, as semver.org defines it.
SEMVER = re.compile(
    r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$"
)


def check_version(value) -> str:
    """A release id: a semantic version (``v1.0.0``), or any id Instill's resource-id
    rule allows (its clients release ``v1-abcdefgh``)."""
    if isinstance(value, str) and (SEMVER.match(value) or (re.match(PIPELINE_ID_PATTERN, value) and value != "latest")):
        return value
    raise InvalidArgument(
        f"release id {quoted(value)} is not valid: use a version vX.Y.Z or vX.Y.Z-identifiers (e.g. v1.0.0, "
        'v2.1.0-beta.1), or 1-63 lowercase letters, digits, "-" or "_" (e.g. v1-beta)',
        field="id",
    )


@transaction.atomic
def release_create(
    *, pipeline: Pipeline, release_id, description: str = "", readme: str = "", display_name: str = ""
) -> PipelineRelease:
    """Freeze the pipeline's current recipe; later edits of the pipeline do not change it."""
    check_version(release_id)
    if PipelineRelease.objects.filter(pipeline=pipeline, slug=release_id).exists():
        raise AlreadyExists(f'release "{release_id}" already exists for pipeline "{pipeline.slug}"', field="id")
    raw, recipe_json = recipe_copied(pipeline)
    try:
        with transaction.atomic():
            return PipelineRelease.objects.create(
                pipeline=pipeline,
                slug=release_id,
                display_name=display_name if isinstance(display_name, str) else "",
                description=description or "",
                readme=readme or "",
                raw_recipe=raw,
                recipe=recipe_json,
            )
    except IntegrityError as exc:
        raise AlreadyExists(
            f'release "{release_id}" already exists for pipeline "{pipeline.slug}"', field="id"
        ) from exc


def release_update(*, release: PipelineRelease, changes: dict) -> PipelineRelease:
    """Only description and readme change; the recipe of a release is immutable."""
    if "rawRecipe" in changes or "recipe" in changes:
        raise InvalidArgument("a release's recipe cannot change; create a new release instead", field="rawRecipe")
    for key, attr in (("description", "description"), ("readme", "readme"), ("displayName", "display_name")):
        if key in changes:
            if not isinstance(changes[key], str):
                raise InvalidArgument(f"{key} must be a string", field=key)
            setattr(release, attr, changes[key])
    release.update_time = timezone.now()
    release.save()
    return release


def release_delete(*, release: PipelineRelease) -> None:
    release.delete()
