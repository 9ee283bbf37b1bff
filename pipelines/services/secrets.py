"""Namespace secrets, encrypted at rest with Fernet; values are write-only."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from pipelines.engine import json_bytes
from pipelines.engine.masking import Masker, masker_for
from pipelines.errors import AlreadyExists, InvalidArgument, NotFound
from pipelines.models import RESOURCE_ID_PATTERN, ComponentRun, Namespace, PipelineRun, RunEvent, Secret

if TYPE_CHECKING:
    from cryptography.fernet import Fernet


@cache
def _fernet(key_material: str) -> Fernet:
    # Imported on first use (~6 MB): a run worker whose recipes use no secret never needs it.
    from cryptography.fernet import Fernet

    if key_material.startswith("fernet:"):
        return Fernet(key_material.removeprefix("fernet:").encode())
    # Derive a stable 32-byte key so a fresh install needs no extra setting.
    digest = hashlib.sha256(b"pipeline-secrets:" + key_material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _cipher() -> Fernet:
    return _fernet(settings.PIPELINE_SECRETS_KEY or settings.SECRET_KEY)


def encrypt(value: str) -> str:
    return _cipher().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # key rotated without re-encrypting
        raise InvalidArgument("a secret could not be decrypted: was the secrets key changed?") from exc


def _check(secret_id: str, value) -> None:
    if not re.match(RESOURCE_ID_PATTERN, secret_id or ""):
        raise InvalidArgument(f'secret id "{secret_id}" is not valid: ids match ^[a-z_][-a-z_0-9]{{0,31}}$', field="id")
    if not isinstance(value, str) or value == "":
        raise InvalidArgument("secret value must be a non-empty string", field="value")


def secret_create(*, namespace: Namespace, secret_id: str, value: str, description: str = "") -> Secret:
    _check(secret_id, value)
    try:
        with transaction.atomic():  # a savepoint: a clash must not break the caller's transaction
            return Secret.objects.create(
                namespace=namespace, slug=secret_id, encrypted_value=encrypt(value), description=description or ""
            )
    except IntegrityError as exc:
        raise AlreadyExists(f'secret "{secret_id}" already exists', field="id") from exc


def secret_update(
    *, namespace: Namespace, secret_id: str, value: str | None = None, description: str | None = None
) -> Secret:
    secret = Secret.objects.filter(namespace=namespace, slug=secret_id).first()
    if secret is None:
        raise NotFound(f'secret "{secret_id}" not found')
    fields = ["update_time"]
    if value is not None:
        _check(secret_id, value)
        secret.encrypted_value = encrypt(value)
        fields.append("encrypted_value")
    if description is not None:
        secret.description = description
        fields.append("description")
    secret.update_time = timezone.now()
    secret.save(update_fields=fields)
    return secret


def secret_delete(*, namespace: Namespace, secret_id: str) -> None:
    deleted, _ = Secret.objects.filter(namespace=namespace, slug=secret_id).delete()
    if not deleted:
        raise NotFound(f'secret "{secret_id}" not found')


def secrets_for_namespace(*, namespace_id: int, only: set[str] | None = None) -> dict[str, str]:
    """Decrypted secrets of a namespace (optionally only some ids), for a run."""
    rows = Secret.objects.filter(namespace_id=namespace_id)
    if only is not None:
        rows = rows.filter(slug__in=only)
    return {slug: decrypt(value) for slug, value in rows.values_list("slug", "encrypted_value")}


@dataclass(frozen=True)
class ScrubReport:
    """What :func:`runs_scrub_secrets` changed (or would change, in a dry run)."""

    runs: int = 0
    component_runs: int = 0
    events: int = 0


def runs_scrub_secrets(*, dry_run: bool = False) -> ScrubReport:
    """Mask the current secret values of each namespace in the run history of its
    pipelines: run outputs, traces and errors, component-run inputs, outputs and errors,
    and stored event payloads — as the engine masks new runs (``***``).

    Runs recorded before masking existed may hold values in plain text; this rewrites
    only rows that contain one. Values a secret had before it was changed, and per-row
    overrides of past triggers, are not known any more and cannot be found. Stored run
    files (bytes) are left as they are, as the engine leaves them.
    """
    runs = component_runs = events = 0
    namespaces = Secret.objects.values_list("namespace_id", flat=True).distinct()
    for namespace_id in list(namespaces):
        masker = masker_for(secrets_for_namespace(namespace_id=namespace_id))
        if masker is None:
            continue
        run_ids = PipelineRun.objects.filter(pipeline__namespace_id=namespace_id).values_list("pk", flat=True)
        for run in (
            PipelineRun.objects.filter(pk__in=run_ids).only("outputs", "traces", "error").iterator(chunk_size=200)
        ):
            changed = _masked_fields(masker, run, ("outputs", "traces", "error"))
            if changed:
                runs += 1
                if not dry_run:
                    PipelineRun.objects.filter(pk=run.pk).update(**changed)
        component_rows = ComponentRun.objects.filter(run_id__in=run_ids).only("inputs", "outputs", "error")
        for component in component_rows.iterator(chunk_size=200):
            changed = _masked_fields(masker, component, ("inputs", "outputs", "error"))
            if changed:
                component_runs += 1
                if not dry_run:
                    ComponentRun.objects.filter(pk=component.pk).update(**changed)
        for pk, payload in (
            RunEvent.objects.filter(run_id__in=run_ids).values_list("pk", "payload").iterator(chunk_size=500)
        ):
            try:
                data = json.loads(payload)
            except ValueError:
                masked_text = masker.text(payload)  # not JSON: mask the text as it is
            else:
                masked = masker(data)
                masked_text = payload if masked is data else json_bytes(masked).decode()
            if masked_text is not payload:
                events += 1
                if not dry_run:
                    RunEvent.objects.filter(pk=pk).update(payload=masked_text)
    return ScrubReport(runs=runs, component_runs=component_runs, events=events)


def _masked_fields(masker: Masker, row, names: tuple[str, ...]) -> dict[str, object]:
    changed = {}
    for name in names:
        value = getattr(row, name)
        masked = masker(value)
        if masked is not value:
            changed[name] = masked
    return changed
