"""Reads, with the access rules of the API contract.

A private pipeline of another namespace is reported as not found, never as forbidden,
so its existence is not revealed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from django.db import connection
from django.db.models import Count, Max, Q, QuerySet

from pipelines import loop_sqlite
from pipelines.errors import (
    AUTHENTICATION_REQUIRED,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    quoted,
)
from pipelines.models import ApiToken, ComponentRun, Namespace, Pipeline, PipelineRelease, PipelineRun, RunEvent, Secret

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from pipelines.filtering import Filter
    from pipelines.models import Requester


@dataclass(frozen=True)
class Permission:
    can_read: bool
    can_edit: bool
    can_trigger: bool
    can_release: bool

    def as_json(self) -> dict:
        return {"canEdit": self.can_edit, "canTrigger": self.can_trigger, "canRelease": self.can_release}


NO_ACCESS = Permission(False, False, False, False)


def user_owns_namespace(user: Requester | None, namespace: Namespace) -> bool:
    return bool(user is not None and user.is_authenticated and namespace.user_id == user.pk)


def pipeline_permission(*, pipeline: Pipeline, user: Requester) -> Permission:
    if user_owns_namespace(user, pipeline.namespace):
        return Permission(True, True, True, True)
    role = pipeline.public_role
    if role is None:
        return NO_ACCESS
    signed_in = bool(user is not None and user.is_authenticated)
    return Permission(True, False, role == "ROLE_EXECUTOR" and signed_in, False)


def namespace_get(*, namespace_id: str) -> Namespace:
    namespace = Namespace.objects.filter(slug=namespace_id).select_related("user").first()
    if namespace is None:
        raise NotFound(f'namespace "{namespace_id}" not found')
    return namespace


def user_get(*, user_id: str):
    """An active user by id (their username; ``users/<id>`` also works); NotFound otherwise."""
    from django.contrib.auth import get_user_model

    username = user_id.removeprefix("users/")
    user = get_user_model().objects.filter(username=username, is_active=True).select_related("namespace").first()
    if user is None:
        raise NotFound(f"user {quoted(username)} not found")
    return user


def readable_pipelines(*, user: Requester) -> QuerySet[Pipeline]:
    """Pipelines the user may read: their own and public ones."""
    qs = Pipeline.objects.select_related("namespace__user", "creator")
    if user is not None and user.is_authenticated:
        return qs.filter(Q(namespace__user_id=user.pk) | _public_q())
    return qs.filter(_public_q())


def pipeline_search(
    *, user: Requester, query: str = "", namespace: Namespace | None = None, filter: Filter | None = None
) -> QuerySet[Pipeline]:
    """Readable pipelines (of ``namespace``, when given) whose id or description contains
    ``query`` and that pass ``filter`` (:func:`pipelines.list_filters.pipeline_filter`),
    recently changed first."""
    qs = readable_pipelines(user=user)
    if namespace is not None:
        qs = qs.filter(namespace=namespace)
    if query:
        qs = qs.filter(Q(slug__icontains=query) | Q(description__icontains=query))
    if filter is not None:
        qs = filter.apply(qs)
    return qs.order_by("-update_time", "-id")


def _public_q() -> Q:
    return Q(is_public=True)


def pipeline_get(*, namespace_id: str, pipeline_id: str, user: Requester) -> tuple[Pipeline, Permission]:
    """The pipeline and what ``user`` may do with it; NotFound when it may not read it."""
    pipeline = (
        Pipeline.objects.select_related("namespace__user", "creator")
        .filter(namespace__slug=namespace_id, slug=pipeline_id)
        .first()
    )
    if pipeline is None:
        if not Namespace.objects.filter(slug=namespace_id).exists():
            raise NotFound(f'namespace "{namespace_id}" not found')
        raise NotFound(f'pipeline "{pipeline_id}" not found in namespace "{namespace_id}"')
    permission = pipeline_permission(pipeline=pipeline, user=user)
    if not permission.can_read:
        raise NotFound(f'pipeline "{pipeline_id}" not found in namespace "{namespace_id}"')
    return pipeline, permission


# The trigger hot path: the ORM spends ~0.6 ms compiling the select_related query that
# pipeline_get makes, more than the rest of a small trigger together. A plain indexed
# lookup of (pk, update_time) tells whether a cached Pipeline is still current; every
# change to a pipeline (recipe, sharing, rename) moves update_time, so the cache is
# exact across processes, and a deleted pipeline simply stops matching.
_pipeline_cache: dict[tuple[str, str], Pipeline] = {}


def pipeline_get_for_trigger(*, namespace_id: str, pipeline_id: str, user: Requester) -> tuple[Pipeline, Permission]:
    """Same answer as :func:`pipeline_get`, with one cheap query when the pipeline is cached."""
    from django.db import connection

    table, ns_table = Pipeline._meta.db_table, Namespace._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id, p.update_time FROM {table} p JOIN {ns_table} n ON p.namespace_id = n.id "
            "WHERE n.slug = %s AND p.slug = %s",
            [namespace_id, pipeline_id],
        )
        row = cursor.fetchone()
    cached = _pipeline_cache.get((namespace_id, pipeline_id))
    if (
        row is not None
        and cached is not None
        and cached.pk == row[0]
        and _same_time(cached.update_time, row[1], connection)
    ):
        permission = pipeline_permission(pipeline=cached, user=user)
        if permission.can_read:
            return cached, permission
    pipeline, permission = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=user)
    if len(_pipeline_cache) > 4096:
        _pipeline_cache.clear()
    _pipeline_cache[(namespace_id, pipeline_id)] = pipeline
    return pipeline, permission


def pipeline_get_for_trigger_on_loop(
    *, namespace_id: str, pipeline_id: str, user
) -> tuple[Pipeline, Permission] | None:
    """:func:`pipeline_get_for_trigger` without leaving the event loop, when it can be
    answered from the cache after the same freshness check, made through
    :mod:`pipelines.loop_sqlite`. ``None``: ask :func:`pipeline_get_for_trigger` in a
    thread (not cached, changed, not readable, not SQLite)."""
    cached = _pipeline_cache.get((namespace_id, pipeline_id))
    if cached is None:
        return None
    row = loop_sqlite.fetch_one(_FRESHNESS_SQL, (namespace_id, pipeline_id))
    if not row or not isinstance(row, tuple) or row[0] != cached.pk or not isinstance(row[1], str):
        return None
    try:
        stored = datetime.fromisoformat(row[1])
    except ValueError:
        return None
    if stored.tzinfo is None:
        stored = stored.replace(tzinfo=UTC)  # as the ORM stores it: naive UTC
    if stored != cached.update_time:
        return None
    permission = pipeline_permission(pipeline=cached, user=user)
    return (cached, permission) if permission.can_read else None


_FRESHNESS_SQL = (
    f'SELECT p."id", p."update_time" FROM "{Pipeline._meta.db_table}" p '
    f'JOIN "{Namespace._meta.db_table}" n ON p."namespace_id" = n."id" WHERE n."slug" = ? AND p."slug" = ?'
)


def _same_time(value, raw, connection) -> bool:
    # SQLite hands back text or a naive datetime; the ORM's own converter makes it aware.
    if isinstance(raw, str) or (raw is not None and raw.tzinfo is None):
        raw = connection.ops.convert_datetimefield_value(raw, None, connection)
    return value == raw


def pipeline_stats(*, pipelines: list[Pipeline]) -> dict[int, dict]:
    rows = (
        PipelineRun.objects.filter(pipeline__in=pipelines)
        .values("pipeline_id")
        .annotate(n=Count("id"), last=Max("create_time"))
    )
    return {row["pipeline_id"]: {"numberOfRuns": row["n"], "lastRunTime": row["last"]} for row in rows}


def release_get(*, pipeline: Pipeline, release_id: str) -> PipelineRelease:
    release = PipelineRelease.objects.filter(pipeline=pipeline, slug=release_id).first()
    if release is None:
        raise NotFound(f'release "{release_id}" not found in pipeline "{pipeline.slug}"')
    return release


def releases_of(*, pipeline: Pipeline, filter: Filter | None = None) -> QuerySet[PipelineRelease]:
    """A pipeline's releases that pass ``filter`` (all without one), newest first."""
    qs = PipelineRelease.objects.filter(pipeline=pipeline)
    if filter is not None:
        qs = filter.apply(qs)
    return qs.select_related("pipeline__namespace__user").order_by("-create_time", "-id")


def release_ids(*, pipeline: Pipeline) -> list[str]:
    """The ids of a pipeline's releases, newest first."""
    return list(
        PipelineRelease.objects.filter(pipeline=pipeline).order_by("-create_time", "-id").values_list("slug", flat=True)
    )


def runs_visible(
    *, pipeline: Pipeline, user: Requester, permission: Permission, values: bool = True
) -> QuerySet[PipelineRun]:
    """Runs of a pipeline the user may list: all for the owner, their own otherwise,
    newest first. ``values=False`` leaves inputs, outputs, traces and the recipe in the
    database (a table that shows none of them)."""
    qs = PipelineRun.objects.filter(pipeline=pipeline).select_related("requester").order_by("-create_time", "-id")
    if not values:
        qs = qs.defer("inputs", "outputs", "traces", "recipe_snapshot")
    if permission.can_edit:
        return qs
    if user is None or not user.is_authenticated:
        return qs.none()
    return qs.filter(requester_id=user.pk)


RUN_STATUS_CHOICES = PipelineRun.Status.choices


@dataclass(frozen=True)
class RunFilters:
    """Which runs a listing shows: by status, source and version ("" for any)."""

    status: str = ""
    source: str = ""
    version: str = ""

    @classmethod
    def checked(cls, *, status: str = "", source: str = "", version: str = "", strict: bool = True) -> RunFilters:
        """Filters from what a caller sent: an unknown status or source is
        :class:`InvalidArgument` naming the parameter (``strict``, the API) or dropped (a
        page's stale link)."""
        wanted = {"status": (status, PipelineRun.Status.values), "source": (source, PipelineRun.Source.values)}
        kept = {}
        for name, (value, known) in wanted.items():
            if value and value not in known:
                if strict:
                    raise InvalidArgument(f"{name} must be one of {', '.join(known)}", field=name)
                value = ""
            kept[name] = value
        return cls(version=version, **kept)


def runs_filter(
    runs: QuerySet[PipelineRun], filters: RunFilters, *, where: Filter | None = None
) -> QuerySet[PipelineRun]:
    """``runs`` narrowed to ``filters`` and to the ``filter`` expression ``where``."""
    if where is not None:
        runs = where.apply(runs)
    if filters.status:
        runs = runs.filter(status=filters.status)
    if filters.source:
        runs = runs.filter(source=filters.source)
    if filters.version:
        runs = runs.filter(pipeline_version=filters.version)
    return runs


def component_runs_of(
    *, run: PipelineRun, by_start: bool = False, filter: Filter | None = None
) -> QuerySet[ComponentRun]:
    """A run's component runs that pass ``filter``, in the order they were recorded
    (``by_start``: started)."""
    qs = ComponentRun.objects.filter(run=run)
    if filter is not None:
        qs = filter.apply(qs)
    return qs.select_related("run").order_by(*(("start_time", "id") if by_start else ("id",)))


def tokens_of(*, user: User) -> QuerySet[ApiToken]:
    """A user's API tokens, newest first."""
    return ApiToken.objects.filter(user=user).order_by("-create_time", "-id")


def token_get(*, user: User, token_id: str) -> ApiToken:
    token = ApiToken.objects.filter(user=user, slug=token_id).first()
    if token is None:
        raise NotFound(f'token "{token_id}" not found')
    return token


def secrets_of(*, namespace: Namespace) -> QuerySet[Secret]:
    """A namespace's secrets by id (the rows; values stay encrypted)."""
    return Secret.objects.filter(namespace=namespace).select_related("namespace").order_by("slug")


def secret_get(*, namespace: Namespace, secret_id: str) -> Secret:
    secret = Secret.objects.filter(namespace=namespace, slug=secret_id).select_related("namespace").first()
    if secret is None:
        raise NotFound(f'secret "{secret_id}" not found')
    return secret


def pipeline_get_editable(*, namespace_id: str, pipeline_id: str, user: Requester) -> tuple[Pipeline, Permission]:
    """A pipeline ``user`` may edit: NotFound when they may not read it (it stays
    hidden), PermissionDenied when they may only read it. For the API and the pages."""
    pipeline, permission = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=user)
    if not permission.can_edit:
        raise PermissionDenied(f'you may view pipeline "{pipeline_id}", but only the owner can change it')
    return pipeline, permission


def run_get(*, run_uid: str, user: Requester) -> PipelineRun:
    """A run visible to ``user``, who then sees its data: its requester or the pipeline's owner.

    ``run_uid`` is whatever the client sent: anything that is not a UUID is a run that
    does not exist (NotFound), never a database error."""
    try:
        uid = uuid.UUID(str(run_uid))
    except ValueError as exc:
        raise NotFound(f"pipeline run {quoted(run_uid)} not found: run ids are UUIDs") from exc
    run = PipelineRun.objects.select_related("pipeline__namespace", "requester").filter(uid=uid).first()
    if run is None or user is None or not user.is_authenticated:
        raise NotFound(f'pipeline run "{run_uid}" not found')
    is_owner = user_owns_namespace(user, run.pipeline.namespace)
    if not (is_owner or run.requester_id == user.pk):
        raise NotFound(f'pipeline run "{run_uid}" not found')
    return run


def run_for_follower(*, requester: Requester, run_uid: str) -> PipelineRun:
    """The run whose events or operation ``requester`` may follow: one they requested,
    or any run of a pipeline in a namespace they own. :class:`Unauthenticated` when
    there is no requester (``None`` or anonymous); NotFound for every other run, never
    telling "not yours" from "no such run"."""
    if requester is None or not requester.is_authenticated:
        raise Unauthenticated(AUTHENTICATION_REQUIRED)
    return run_get(run_uid=run_uid, user=requester)


def run_processing(run_uid) -> bool:
    """Whether an executor holds the run (its status is PROCESSING)."""
    return PipelineRun.objects.filter(uid=run_uid, status=PipelineRun.Status.PROCESSING).exists()


def trigger_version_get(*, pipeline_pk: int, release_pk: int | None) -> tuple[Pipeline, PipelineRelease | None]:
    """A trigger's pipeline and release by primary key (a run worker's side of a
    hand-over); NotFound when either was deleted since the trigger started."""
    try:
        pipeline = Pipeline.objects.select_related("namespace").get(pk=pipeline_pk)
        release = PipelineRelease.objects.get(pk=release_pk) if release_pk is not None else None
    except (Pipeline.DoesNotExist, PipelineRelease.DoesNotExist) as exc:
        raise NotFound("the pipeline or release was deleted while the trigger started") from exc
    return pipeline, release


def run_state(run_uid) -> tuple[bool, str, str] | None:
    """``(ended, status, error)`` of a run, or None when it does not exist."""
    row = PipelineRun.objects.filter(uid=run_uid).values_list("status", "error").first()
    if row is None:
        return None
    return row[0] in PipelineRun.TERMINAL, row[0], row[1]


def run_state_on_loop(run_uid) -> tuple[bool, str, str] | Literal[False] | None:
    """:func:`run_state` through :mod:`pipelines.loop_sqlite`, without leaving the event
    loop; ``False`` when it could not be asked there (ask :func:`run_state` in a thread)."""
    from pipelines import loop_sqlite

    if loop_sqlite.unavailable():
        return False
    row = loop_sqlite.fetch_one(_RUN_STATE_SQL, (uuid.UUID(str(run_uid)).hex,))
    if row is False:
        return False
    if row is None:
        return None
    assert isinstance(row, tuple)
    return row[0] in PipelineRun.TERMINAL, row[0], row[1]


_RUN_STATE_SQL = f'SELECT "status", "error" FROM "{PipelineRun._meta.db_table}" WHERE "uid" = ?'


def run_events_after(run_uid, after: int = 0, before: int | None = None) -> list[tuple[int, str, str]]:
    """A run's stored events with ``after < seq < before``, in order: ``(seq, name, payload)``."""
    events = RunEvent.objects.filter(run__uid=run_uid, seq__gt=after)
    if before is not None:
        events = events.filter(seq__lt=before)
    return list(events.order_by("seq").values_list("seq", "name", "payload"))


def run_event_log(*, run: PipelineRun, limit: int) -> tuple[list[tuple[int, str, str, datetime]], int]:
    """The first ``limit`` stored events of a run, in order, as ``(seq, name, payload,
    time)``, and how many it has in all (the run detail page's event log)."""
    events = RunEvent.objects.filter(run=run).order_by("seq")
    return list(events.values_list("seq", "name", "payload", "time")[:limit]), events.count()


def database_ready() -> bool:
    """Whether the database answers: the readiness of the REST and gRPC APIs."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - readiness reports any failure as not serving
        return False
