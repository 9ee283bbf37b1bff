"""A trigger's input rows: read from the request body, bound to the recipe's variables,
and file variables given as URLs fetched.

Every door (REST, gRPC, the pages) reads its rows with :func:`trigger_rows`, so a bad
body is the same 400 wherever it comes from.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings

from pipelines.components.outbound import guarded_request
from pipelines.engine import ComponentError, File, InputInvalid
from pipelines.engine.connections import PREFIX as CONNECTION_PREFIX
from pipelines.engine.inputs import media_type_fits
from pipelines.engine.types import FILE_TYPES, item_type
from pipelines.errors import InvalidArgument

if TYPE_CHECKING:
    from pipelines.services.run_targets import TriggerTarget


@dataclass(frozen=True)
class TriggerRow:
    """One row of a batch: the variables and per-row secret overrides."""

    variable: dict[str, Any]
    secret: dict[str, str] = field(default_factory=dict)


#: Per-row secret overrides (``data[].secret``) a trigger may send, and their longest value.
MAX_SECRET_OVERRIDES = 32
MAX_SECRET_OVERRIDE_CHARS = 16_384


def trigger_rows(payload: Any) -> list[TriggerRow]:
    """Rows from a trigger body: ``{"data": [{"variable", "secret"}]}`` or legacy ``{"inputs": [...]}``."""
    if not isinstance(payload, dict):
        raise InvalidArgument('the request body must be a JSON object with a "data" list', field="data")
    max_rows = settings.PIPELINE_MAX_BATCH_SIZE
    if payload.get("inputs") is not None:
        items = payload["inputs"]
        if not isinstance(items, list):
            raise InvalidArgument("inputs must be a list of objects", field="inputs")
        raw_rows = [{"variable": item} for item in items]
        name = "inputs"
    else:
        items = payload.get("data")
        if items is None:
            raise InvalidArgument(
                'the request needs "data": a list of 1 to 32 rows like {"variable": {...}}', field="data"
            )
        if not isinstance(items, list):
            raise InvalidArgument("data must be a list of rows", field="data")
        raw_rows = items
        name = "data"
    if not raw_rows:
        raise InvalidArgument(f"{name} must hold at least one row", field=name)
    if len(raw_rows) > max_rows:
        raise InvalidArgument(f"the batch size can not exceed {max_rows} ({name} has {len(raw_rows)} rows)", field=name)
    rows = []
    for index, raw in enumerate(raw_rows):
        where = f"{name}[{index}]"
        if name == "inputs":
            variable = raw["variable"]
            if not isinstance(variable, dict):
                raise InvalidArgument(f"{where} must be an object of variables", field=where)
            rows.append(TriggerRow(variable=variable))
            continue
        if not isinstance(raw, dict):
            raise InvalidArgument(f'{where} must be an object like {{"variable": {{...}}}}', field=where)
        variable = raw.get("variable") or {}
        if not isinstance(variable, dict):
            raise InvalidArgument(f"{where}.variable must be an object", field=f"{where}.variable")
        secret = raw.get("secret") or {}
        if not isinstance(secret, dict) or not all(isinstance(v, str) for v in secret.values()):
            raise InvalidArgument(f"{where}.secret must map secret ids to strings", field=f"{where}.secret")
        # Every override is masked out of everything the run hands out (one pattern per
        # row, matched on the loop): bounded, so a trigger cannot make that the work.
        if len(secret) > MAX_SECRET_OVERRIDES:
            raise InvalidArgument(
                f"{where}.secret has {len(secret)} secrets; at most {MAX_SECRET_OVERRIDES} may be overridden per row",
                field=f"{where}.secret",
            )
        for secret_id, value in secret.items():
            if secret_id.startswith(CONNECTION_PREFIX):
                raise InvalidArgument(
                    f"{where}.secret.{secret_id} is not a secret id: a connection cannot be overridden",
                    field=f"{where}.secret.{secret_id}",
                )
            if len(value) > MAX_SECRET_OVERRIDE_CHARS:
                raise InvalidArgument(
                    f"{where}.secret.{secret_id} is longer than {MAX_SECRET_OVERRIDE_CHARS:,} characters",
                    field=f"{where}.secret.{secret_id}",
                )
        rows.append(TriggerRow(variable=variable, secret=secret))
    return rows


def bind_rows(target: TriggerTarget, rows: list[TriggerRow]) -> list[dict[str, Any]]:
    """The rows' variables bound to the target's recipe (defaults, coercion); 400 when they do not fit."""
    try:
        return target.recipe.bind_rows([row.variable for row in rows])
    except InputInvalid as exc:
        raise InvalidArgument(str(exc), field=getattr(exc, "field", None)) from exc


async def rows_with_fetched_files(target: TriggerTarget, rows: list[TriggerRow]) -> list[TriggerRow]:
    """Rows whose file variables given as ``http(s)`` URLs hold the fetched files.

    Fetched through the same outbound guard as the ``http`` component (private and
    loopback addresses refused unless allowed), capped at the request size limit, so a
    bad URL is a 400 at trigger time, not a failed run later.
    """
    wanted: list[tuple[int, str, int | None, str, str]] = []
    for index, row in enumerate(rows):
        for variable in target.recipe.variables:
            value = row.variable.get(variable.id)
            inner = item_type(variable.type)
            kind = inner or variable.type
            if kind not in FILE_TYPES:
                continue
            items = list(enumerate(value)) if inner and isinstance(value, list) else [(None, value)]
            for position, item in items:
                if isinstance(item, str) and item.startswith(("http://", "https://")):
                    wanted.append((index, variable.id, position, kind, item))
    if not wanted:
        return rows
    fetched = await asyncio.gather(*[_fetch_file(var, kind, url) for _, var, _, kind, url in wanted])
    variables = [dict(row.variable) for row in rows]
    for (index, var, position, _, _), file in zip(wanted, fetched, strict=True):
        if position is None:
            variables[index][var] = file
        else:
            files = list(variables[index][var])
            files[position] = file
            variables[index][var] = files
    return [TriggerRow(variable=v, secret=row.secret) for v, row in zip(variables, rows, strict=True)]


async def _fetch_file(variable: str, kind: str, url: str) -> File:
    try:
        response = await guarded_request(
            "GET",
            url,
            allowed_hosts=tuple(settings.PIPELINE_HTTP_ALLOWED_HOSTS),
            timeout=settings.PIPELINE_HTTP_TIMEOUT,
            max_response_bytes=settings.PIPELINE_MAX_REQUEST_BYTES,
        )
    except ComponentError as exc:
        raise InvalidArgument(
            f'variable "{variable}": could not fetch {url}: {exc}', field=f"variable.{variable}"
        ) from exc
    if response.status_code >= 400:
        raise InvalidArgument(
            f'variable "{variable}": fetching {url} answered HTTP {response.status_code}', field=f"variable.{variable}"
        )
    mime = response.content_type.split(";")[0].strip().lower()
    name = urlsplit(response.url).path.rsplit("/", 1)[-1] or None
    file = File(response.content, mime_type=None if mime in ("", "application/octet-stream") else mime, filename=name)
    if not media_type_fits(kind, file.mime_type):
        raise InvalidArgument(
            f'variable "{variable}" must be {"an" if kind[0] in "aeiou" else "a"} {kind}, got a file ({file.mime_type}) from {url}',
            field=f"variable.{variable}",
        )
    return file
