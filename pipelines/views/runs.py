"""Run history and run detail."""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import yaml
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse

from pipelines.engine import File
from pipelines.engine.limits import loads_stored
from pipelines.errors import InvalidArgument, NotFound
from pipelines.forms import RunForm, run_form_for
from pipelines.selectors import (
    RUN_STATUS_CHOICES,
    RunFilters,
    component_runs_of,
    pipeline_get,
    release_ids,
    run_event_log,
    run_get,
    runs_filter,
    runs_visible,
)
from pipelines.services.run_files import FileNotKept, as_data_uris, as_urls, stored_input_files
from pipelines.views.common import is_htmx, page

if TYPE_CHECKING:
    from pipelines.engine.recipe import Recipe
    from pipelines.models import Pipeline, PipelineRun

PAGE_SIZE = 20
EVENT_LOG_LIMIT = 500


@page
def run_list(request, namespace_id: str, pipeline_id: str):
    pipeline, permission = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)
    # The table shows no values: large inputs and outputs stay in the database.
    runs = runs_visible(pipeline=pipeline, user=request.user, permission=permission, values=False)
    checked = RunFilters.checked(
        status=request.GET.get("status", ""),
        source=request.GET.get("source", ""),
        version=request.GET.get("version", "").strip(),
        strict=False,
    )
    runs = runs_filter(runs, checked)
    filters = asdict(checked)
    page_obj = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "pipeline": pipeline,
        "permission": permission,
        "page_obj": page_obj,
        "filters": filters,
        "filter_query": urlencode({k: v for k, v in filters.items() if v}),
        "statuses": RUN_STATUS_CHOICES,
        "versions": ["latest", *release_ids(pipeline=pipeline)],
    }
    template = "pipelines/pipelinerun_list.html"
    if is_htmx(request) and request.headers.get("HX-Target") == "run-table":
        template += "#run-table"
    return render(request, template, context)


def curl_command(request, run: PipelineRun) -> str:
    """A cURL command that triggers the same pipeline version with the same inputs.

    Files come back as data URIs (small ones are stored inline; large ones are read
    from the run's stored files while they are kept)."""
    pipeline = run.pipeline
    path = f"/v1beta/namespaces/{pipeline.namespace.slug}/pipelines/{pipeline.slug}"
    if run.pipeline_version != "latest":
        path += f"/releases/{run.pipeline_version}"
    body = json.dumps({"data": [{"variable": row or {}} for row in as_data_uris(run.inputs, run_uid=run.uid)]})
    return (
        f"curl -X POST {shlex.quote(request.build_absolute_uri(path + '/trigger'))} \\\n"
        '  --header "Content-Type: application/json" \\\n'
        '  --header "Authorization: Bearer $INSTILL_API_TOKEN" \\\n'
        f"  --data {shlex.quote(body)}"
    )


def event_log(run: PipelineRun) -> dict:
    """The run's stored events for its page: each with its component (if it is about
    one), its time since the run was created, and its payload (stored files as URLs)."""
    events, total = run_event_log(run=run, limit=EVENT_LOG_LIMIT)
    rows = []
    for seq, name, payload, time in events:
        data = as_urls(loads_stored(payload), run_uid=run.uid)
        component = data.get("componentID", "") if isinstance(data, dict) else ""
        offset_ms = round((time - run.create_time).total_seconds() * 1000)
        rows.append(
            {"seq": seq, "name": name, "component": component, "time": time, "offset_ms": offset_ms, "data": data}
        )
    return {"rows": rows, "total": total, "truncated": total > len(rows)}


@page
def run_detail(request, namespace_id: str, pipeline_id: str, run_uid):
    run = run_get(run_uid=str(run_uid), user=request.user)
    pipeline = run.pipeline
    if pipeline.slug != pipeline_id or pipeline.namespace.slug != namespace_id:
        raise NotFound(f'pipeline run "{run_uid}" not found')
    _, permission = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)
    component_runs = list(component_runs_of(run=run, by_start=True))
    editor_url = None
    if permission.can_edit:
        editor_url = reverse("pipeline-editor", kwargs={"namespace_id": namespace_id, "pipeline_id": pipeline_id})
        editor_url += "?" + urlencode({"inputs": str(run.uid)})
    context = {
        "pipeline": pipeline,
        "permission": permission,
        "run": run,
        "inputs": as_urls(run.inputs, run_uid=run.uid),
        "outputs": as_urls(run.outputs, run_uid=run.uid),
        "component_runs": [
            {
                "run": c,
                "inputs": as_urls(c.inputs, run_uid=run.uid),
                "outputs": as_urls(c.outputs, run_uid=run.uid),
            }
            for c in component_runs
        ],
        "recipe_yaml": yaml.safe_dump(run.recipe_snapshot, sort_keys=False, allow_unicode=True)
        if run.recipe_snapshot
        else "",
        "curl": curl_command(request, run),
        "editor_url": editor_url,
        "events": event_log(run),
    }
    return render(request, "pipelines/pipelinerun_detail.html", context)


# --- running again ("Open in editor with these inputs") --------------------------------

FILE_UIS = ("file", "files")


def _earlier_run(run_uid: str, user) -> PipelineRun | None:
    try:
        return run_get(run_uid=run_uid, user=user)
    except (NotFound, ValidationError):
        return None


def _input_row(run: PipelineRun | None) -> dict:
    return dict(run.inputs[0]) if run is not None and run.inputs and isinstance(run.inputs[0], dict) else {}


def _described(value) -> list[dict]:
    items = value if isinstance(value, list) else [value]
    return [
        {"name": item.filename or "unnamed file", "size": item.size, "type": item.mime_type}
        if isinstance(item, File)
        else {"name": item, "size": None, "type": "URL"}
        for item in items
    ]


def rerun_form(request, pipeline: Pipeline, recipe: Recipe | None) -> RunForm:
    """The editor's run form, filled with the inputs of an earlier run (``?inputs=<run
    uid>``): values as they were, and each stored file carried over (a checked box
    keeps it; a file chosen instead wins) or, when it cannot be, the reason why."""
    run_uid = request.GET.get("inputs")
    run = _earlier_run(run_uid, request.user) if run_uid else None
    row = _input_row(run)
    form = run_form_for(recipe, values=row)
    if run is None or run.pipeline_id != pipeline.pk:
        return form
    for name, field in form.fields.items():
        if getattr(field, "ui", "") not in FILE_UIS or row.get(name) in (None, [], ""):
            continue
        try:
            files = _described(stored_input_files(row[name], run_uid=run.uid))
        except FileNotKept as exc:
            field.__dict__["not_carried"] = f"The file of run {str(run.uid)[:8]} could not be carried over: {exc}."
            continue
        field.__dict__["carried"] = {"run": str(run.uid), "short": str(run.uid)[:8], "files": files}
    return form


def carried_files(post, files, form: RunForm, *, user, pipeline: Pipeline) -> dict:
    """The stored files a re-run form carries over (``<field>-carried``: the earlier
    run's uid, sent by a checked box) for the file fields left empty, ready for the
    trigger. InvalidArgument on the field when one can no longer be given."""
    carried: dict = {}
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        run_uid = post.get(f"{key}-carried")
        if getattr(field, "ui", "") not in FILE_UIS or not run_uid or files.getlist(key):
            continue
        label = field.label or name
        run = _earlier_run(run_uid, user)
        if run is None or run.pipeline_id != pipeline.pk:
            raise InvalidArgument(
                f"{label}: the earlier run {run_uid[:36]} is not one of this pipeline's runs you can see; choose the file again",
                field=f"variable.{name}",
            )
        row = _input_row(run)
        if row.get(name) in (None, [], ""):
            raise InvalidArgument(
                f"{label}: run {run_uid[:8]} had no file for it; choose one", field=f"variable.{name}"
            )
        try:
            carried[name] = stored_input_files(row[name], run_uid=run.uid)
        except FileNotKept as exc:
            raise InvalidArgument(f"{label}: {exc}; choose the file again", field=f"variable.{name}") from exc
    return carried
