"""Pipeline's data model.

Ownership is by :class:`Namespace` (a user's namespace has the username as id;
organisations can be added as another namespace kind without touching pipelines).
"""

from __future__ import annotations

import os
import time
import uuid
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from pipelines.engine.limits import has_surrogate_escape, heal

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    # Who asks: a signed-in user, or the anonymous visitor of a public pipeline.
    type Requester = User | AnonymousUser


RESOURCE_ID_PATTERN = r"^[a-z_][-a-z_0-9]{0,31}$"
resource_id_validator = RegexValidator(RESOURCE_ID_PATTERN, "ids match ^[a-z_][-a-z_0-9]{0,31}$")
# Pipeline (and release) ids as Instill's resource-id check allows them: up to 63
# characters (AIP-122, RFC-1034), lowercase letters, digits and "-"; "_" too, as
# ids made here before always could.
PIPELINE_ID_PATTERN = r"^[a-z_][-a-z_0-9]{0,62}$"
pipeline_id_validator = RegexValidator(PIPELINE_ID_PATTERN, "ids match ^[a-z_][-a-z_0-9]{0,62}$")


class JSONField(models.JSONField):
    """Django's JSONField, reading rows stored before lone surrogates were refused at
    the door (``"\\ud800"`` escapes) with U+FFFD in their place, so no encoder —
    API, pages, events — fails on them. Only text holding such an escape pays for
    the check. Migrations see Django's own field: nothing about the column changes."""

    def from_db_value(self, value, expression, connection):
        result = super().from_db_value(value, expression, connection)
        if isinstance(value, str) and has_surrogate_escape(value):
            return heal(result)
        return result

    def deconstruct(self):
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs


class Namespace(models.Model):
    """Where resources live: a user's own namespace, or (later) an organisation."""

    class Kind(models.TextChoices):
        USER = "user"
        ORGANIZATION = "organization"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    slug = models.CharField(max_length=32, unique=True, validators=[resource_id_validator])
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.USER)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="namespace"
    )
    create_time = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.slug


class Pipeline(models.Model):
    """A recipe owned by a namespace. ``raw_recipe`` (YAML) is the source of truth;
    ``recipe`` is the same parsed to JSON for the API."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="pipelines")
    slug = models.CharField(max_length=63, validators=[pipeline_id_validator])
    # Instill's displayName: what a create without an id names the pipeline by (its id
    # is then derived from it); "" for pipelines created with an id only.
    display_name = models.CharField(max_length=255, blank=True, default="")
    # Who created it (Instill's creatorName); null for pipelines made before it was kept.
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    description = models.TextField(blank=True, default="")
    readme = models.TextField(blank=True, default="")
    raw_recipe = models.TextField(blank=True, default="")
    recipe = JSONField(default=dict, blank=True)
    sharing = JSONField(default=dict, blank=True)
    # Mirrors sharing["users"]["*/*"]["enabled"] so lists can filter on it in SQL
    # (SQLite has no JSON containment lookup); only pipeline services write either.
    is_public = models.BooleanField(default=False, db_index=True)
    # Per-pipeline override of PIPELINE_MAX_RUN_SECONDS; null means the setting.
    max_run_seconds = models.PositiveIntegerField(null=True, blank=True)
    create_time = models.DateTimeField(default=timezone.now)
    update_time = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["namespace", "slug"], name="pipeline_unique_id_in_namespace")]
        indexes = [models.Index(fields=["update_time"])]

    def __str__(self) -> str:
        return f"{self.namespace.slug}/{self.slug}"

    @property
    def public_role(self) -> str | None:
        """``ROLE_VIEWER`` / ``ROLE_EXECUTOR`` when shared with everyone, else None."""
        entry = (self.sharing or {}).get("users", {}).get("*/*") or {}
        if entry.get("enabled"):
            return entry.get("role") or "ROLE_VIEWER"
        return None


class PipelineRelease(models.Model):
    """A frozen copy of a pipeline's recipe under a semantic version id."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="releases")
    slug = models.CharField(max_length=64)
    display_name = models.CharField(max_length=255, blank=True, default="")
    description = models.TextField(blank=True, default="")
    readme = models.TextField(blank=True, default="")
    raw_recipe = models.TextField(blank=True, default="")
    recipe = JSONField(default=dict, blank=True)
    create_time = models.DateTimeField(default=timezone.now)
    update_time = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pipeline", "slug"], name="release_unique_id_in_pipeline")]


class IllegalTransition(Exception):
    """A run was asked to move to a status it cannot reach from its current one."""


def run_uid() -> uuid.UUID:
    """A new run's uid: a UUIDv7 (RFC 9562), 48 bits of Unix milliseconds then 74 random
    bits. Runs are written in the order they start, so their uids land at the end of the
    unique index instead of on a random page of it: a random uid dirtied one more index
    page per stored run (~8 % of SQLite's time for a `hello` run, more for the WAL
    checkpoint). As unique and as unguessable as needed (the time is the run's public
    ``createTime`` anyway)."""
    value = (time.time_ns() // 1_000_000 & (1 << 48) - 1) << 80 | int.from_bytes(os.urandom(10))
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 9562 variant
    return uuid.UUID(int=value)


class PipelineRun(models.Model):
    """One trigger of a pipeline (all rows of its batch)."""

    class Status(models.TextChoices):
        QUEUED = "RUN_STATUS_QUEUED"
        PROCESSING = "RUN_STATUS_PROCESSING"
        COMPLETED = "RUN_STATUS_COMPLETED"
        FAILED = "RUN_STATUS_FAILED"
        CANCELLED = "RUN_STATUS_CANCELLED"

    class Source(models.TextChoices):
        CONSOLE = "RUN_SOURCE_CONSOLE"
        API = "RUN_SOURCE_API"

    TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})
    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        Status.QUEUED: {Status.PROCESSING, Status.CANCELLED, Status.FAILED},
        Status.PROCESSING: {Status.COMPLETED, Status.FAILED, Status.CANCELLED},
    }

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: the (pipeline, -create_time) index below serves lookups by
    # pipeline, and every index is one more B-tree page written per stored run.
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="runs", db_index=False)
    release = models.ForeignKey(PipelineRelease, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    pipeline_version = models.CharField(max_length=64, default="latest")
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.PROCESSING)
    source = models.CharField(max_length=32, choices=Source.choices, default=Source.API)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="pipeline_runs"
    )
    inputs = JSONField(default=list, blank=True)
    outputs = JSONField(default=list, blank=True)
    traces = JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    recipe_snapshot = JSONField(default=dict, blank=True)
    # Run from the Editor with an unsaved draft: recipe_snapshot is that draft, not the
    # saved recipe of pipeline_version ("latest").
    draft = models.BooleanField(default=False)
    create_time = models.DateTimeField(default=timezone.now)
    start_time = models.DateTimeField(null=True, blank=True)
    complete_time = models.DateTimeField(null=True, blank=True)
    total_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # google.rpc.Code of a run that failed outside its components (cancelled 1,
    # deadline 4, aborted 10, internal 13: pipelines.errors); the operation's error.code.
    error_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # Async execution bookkeeping: who runs it, when it last said so, and whether
    # someone asked it to stop. Per-row secret overrides wait here, encrypted, until
    # the run starts, and are wiped when it ends.
    worker = models.CharField(max_length=128, blank=True, default="")
    heartbeat_time = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    pending_secrets = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["pipeline", "-create_time"]), models.Index(fields=["status", "create_time"])]

    def transition(self, to: str) -> None:
        """Move to ``to`` or raise :class:`IllegalTransition`."""
        if to not in self.TRANSITIONS.get(self.status, ()):
            raise IllegalTransition(f"run {self.uid} cannot go from {self.status} to {to}")
        self.status = to

    def finish(self, *, status: str, complete_time, error: str = "", error_code: int | None = None) -> None:
        self.transition(status)
        self.complete_time = complete_time
        self.error = error
        self.error_code = error_code
        self.pending_secrets = ""
        if self.start_time:
            self.total_duration_ms = max(0, round((complete_time - self.start_time).total_seconds() * 1000))

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL


class ComponentRun(models.Model):
    """One component's execution within a run (first row's view; per-row detail is in traces)."""

    class Status(models.TextChoices):
        PROCESSING = "RUN_STATUS_PROCESSING"
        COMPLETED = "RUN_STATUS_COMPLETED"
        FAILED = "RUN_STATUS_FAILED"
        SKIPPED = "RUN_STATUS_SKIPPED"

    # Indexed by the (run, component_id) unique constraint, as events are by (run, seq).
    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="component_runs", db_index=False)
    component_id = models.CharField(max_length=64)
    status = models.CharField(max_length=32, choices=Status.choices)
    inputs = JSONField(default=list, blank=True)
    outputs = JSONField(default=list, blank=True)
    error = models.TextField(blank=True, default="")
    start_time = models.DateTimeField(null=True, blank=True)
    complete_time = models.DateTimeField(null=True, blank=True)
    total_duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "component_id"], name="component_run_unique")]


class ApiToken(models.Model):
    """An API token. Only the SHA-256 of the secret is stored; it is shown once."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    slug = models.CharField(max_length=32, validators=[resource_id_validator])
    token_hash = models.CharField(max_length=64, unique=True)
    # The last four characters, so a list can show "instill_sk_****abcd".
    hint = models.CharField(max_length=8)
    create_time = models.DateTimeField(default=timezone.now)
    update_time = models.DateTimeField(default=timezone.now)
    last_use_time = models.DateTimeField(null=True, blank=True)
    expire_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "slug"], name="token_unique_id_per_user")]

    def is_expired(self, now=None) -> bool:
        return self.expire_time is not None and self.expire_time <= (now or timezone.now())


class Secret(models.Model):
    """A namespace secret, referenced from recipes as ``${secret.<id>}``; encrypted at rest."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="secrets")
    slug = models.CharField(max_length=32, validators=[resource_id_validator])
    description = models.TextField(blank=True, default="")
    encrypted_value = models.TextField()
    create_time = models.DateTimeField(default=timezone.now)
    update_time = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["namespace", "slug"], name="secret_unique_id_in_namespace")]


class Connection(models.Model):
    """A namespace's connection to an integration (a component type with a setup),
    referenced from recipes as ``setup: ${connection.<id>}``. ``setup`` holds the plain
    fields; the secret ones (the type's credential fields) are in ``encrypted_secrets``,
    a Fernet token of their JSON, like secrets."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="connections")
    slug = models.CharField(max_length=32, validators=[resource_id_validator])
    integration_id = models.CharField(max_length=64)
    setup = JSONField(default=dict)
    encrypted_secrets = models.TextField(blank=True, default="")
    scopes = JSONField(default=list)
    create_time = models.DateTimeField(default=timezone.now)
    update_time = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["namespace", "slug"], name="connection_unique_id_in_namespace")]


class IdempotencyKey(models.Model):
    """An ``Idempotency-Key`` seen on a trigger: the same key and body within 24 h give the same run."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="+")
    create_time = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]


class RunEvent(models.Model):
    """One event of a run, as streamed: the run history behind replay and resume.

    ``payload`` is the event's JSON text exactly as sent (Files larger than the inline
    limit are ``{"@file": ...}`` markers into the run's stored files, written once per
    run, not copied into every event). Kept as text: replay writes it out unparsed.
    """

    # Indexed by the (run, seq) unique constraint: no index on run alone to write too.
    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="events", db_index=False)
    seq = models.PositiveIntegerField()
    name = models.CharField(max_length=40)
    payload = models.TextField()
    time = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="run_event_unique_seq")]
