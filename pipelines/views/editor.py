"""The Editor: recipe YAML with as-you-type validation, graph, Save, Release, and a
Run that streams over the websocket (``/ws/runs/<uid>/``)."""

from __future__ import annotations

import asyncio

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from pipelines.aio import db
from pipelines.errors import InvalidArgument, RecipeInvalidError, ServiceError
from pipelines.forms import ReleaseForm, add_service_error, run_form_for
from pipelines.selectors import pipeline_get_editable, releases_of
from pipelines.services import pipelines as pipeline_services
from pipelines.services import releases as release_services
from pipelines.snippets import snippet_context
from pipelines.views.common import editable_pipeline, page
from pipelines.views.outline import problem_line, recipe_graph
from pipelines.views.pipelines import run_request, run_started
from pipelines.views.runs import rerun_form


def _urls(pipeline) -> dict[str, str]:
    kwargs = {"namespace_id": pipeline.namespace.slug, "pipeline_id": pipeline.slug}
    return {
        "validate": reverse("pipeline-validate", kwargs=kwargs),
        "save": reverse("pipeline-save", kwargs=kwargs),
        "run": reverse("pipeline-run-start", kwargs=kwargs),
        "runForm": reverse("pipeline-run-form", kwargs=kwargs),
        "runs": reverse("run-list", kwargs=kwargs),
        "operations": "/v1beta/operations/",
        "websocket": "/ws/runs/",
    }


def checked(raw_recipe: str, namespace=None):
    """The parser's verdict on a draft: the recipe (None when invalid) and, for the
    page, its problems (errors and warnings, each with its line) and the graph data of a
    valid draft (drawn by ``static/pipelines/graph.js``)."""
    recipe, problems = pipeline_services.recipe_check(raw_recipe=raw_recipe, namespace=namespace)
    for problem in problems:
        if "line" not in problem:
            problem["line"] = problem_line(raw_recipe, problem["location"], problem["error"])
    graph = recipe_graph(recipe) if recipe is not None else None
    return recipe, {"valid": recipe is not None, "problems": problems, "graph": graph}


@login_required
@page
def pipeline_editor(request, namespace_id: str, pipeline_id: str):
    pipeline, permission = editable_pipeline(request, namespace_id, pipeline_id)
    recipe, state = checked(pipeline.raw_recipe, pipeline.namespace)
    context = {
        "pipeline": pipeline,
        "permission": permission,
        "form": rerun_form(request, pipeline, recipe),
        "graph": state["graph"],
        "problems": state["problems"],
        "error_count": sum(p["severity"] == "error" for p in state["problems"]),
        "warning_count": sum(p["severity"] == "warning" for p in state["problems"]),
        "release_form": ReleaseForm(),
        "releases": list(releases_of(pipeline=pipeline)),
        "editor_config": {"urls": _urls(pipeline), "problems": state["problems"]},
        "snippet": snippet_context(request=request, pipeline=pipeline, release=None),
    }
    return render(request, "pipelines/pipeline_editor.html", context)


@login_required
@require_POST
@page
def pipeline_validate(request, namespace_id: str, pipeline_id: str):
    pipeline, _ = editable_pipeline(request, namespace_id, pipeline_id)
    return JsonResponse(checked(request.POST.get("rawRecipe", ""), pipeline.namespace)[1])


@login_required
@require_POST
@page
def pipeline_save(request, namespace_id: str, pipeline_id: str):
    """Save the draft; an invalid one is refused with its problems (the recipe stays as it was)."""
    pipeline, _ = editable_pipeline(request, namespace_id, pipeline_id)
    raw = request.POST.get("rawRecipe", "")
    try:
        pipeline = pipeline_services.pipeline_update(pipeline=pipeline, changes={"rawRecipe": raw})
    except RecipeInvalidError:
        return JsonResponse(
            {**checked(raw)[1], "saved": False, "message": "Not saved: the recipe has problems."}, status=400
        )
    except InvalidArgument as exc:
        return JsonResponse({"saved": False, "message": exc.message, "problems": []}, status=400)
    recipe, state = checked(raw)
    form_html = render_to_string("pipelines/partials/run_form.html", {"form": run_form_for(recipe)}, request)
    return JsonResponse({**state, "saved": True, "message": "Saved.", "form": form_html})


@login_required
@require_POST
@page
def pipeline_run_form(request, namespace_id: str, pipeline_id: str):
    """The run form of a draft's variables (Run runs the draft, so its form follows the
    draft, not the saved recipe): ``{"form", "variables"}``; 400 for an invalid draft."""
    editable_pipeline(request, namespace_id, pipeline_id)
    recipe, state = checked(request.POST.get("rawRecipe", ""))
    if recipe is None:
        return JsonResponse({"problems": state["problems"]}, status=400)
    form_html = render_to_string("pipelines/partials/run_form.html", {"form": run_form_for(recipe)}, request)
    variables = [[v.id, v.type, v.title, v.required] for v in recipe.variables]
    return JsonResponse({"form": form_html, "variables": variables})


@login_required
@require_POST
@page
def pipeline_release(request, namespace_id: str, pipeline_id: str):
    """Release the saved recipe (htmx: answers the release panel)."""
    pipeline, _ = editable_pipeline(request, namespace_id, pipeline_id)
    form = ReleaseForm(request.POST)
    created = None
    if form.is_valid():
        try:
            created = release_services.release_create(
                pipeline=pipeline, release_id=form.cleaned_data["version"], description=form.cleaned_data["description"]
            )
        except ServiceError as exc:
            add_service_error(form, exc, fields={"id": "version"})
        else:
            form = ReleaseForm()
    context = {
        "pipeline": pipeline,
        "release_form": form,
        "releases": list(releases_of(pipeline=pipeline)),
        "created": created,
    }
    return render(request, "pipelines/pipeline_editor.html#release-panel", context, status=400 if form.errors else 200)


_editable_in_thread = db(pipeline_get_editable)


def _read_draft(request) -> str | None:
    return request.POST.get("rawRecipe")


@page
async def pipeline_run_start(request, namespace_id: str, pipeline_id: str):
    """Run the draft as shown (``rawRecipe``; the saved recipe without it) asynchronously,
    WITHOUT saving it: the run records the draft as its recipe snapshot and, when it
    differs from the saved recipe, is a draft run. Answers :func:`run_started`'s JSON for
    the websocket, or the form's errors by field, or an invalid draft's ``problems``."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    user = await request.auser()
    draft = None
    if user.is_authenticated:
        raw = await asyncio.to_thread(_read_draft, request)
        if raw is not None:
            try:  # only its owner runs a draft: others are told so, not what the draft lacks
                await _editable_in_thread(namespace_id=namespace_id, pipeline_id=pipeline_id, user=user)
            except ServiceError as exc:
                return JsonResponse({"error": exc.message, "errors": {}}, status=exc.http_status)
            recipe, state = await asyncio.to_thread(checked, raw)
            if recipe is None:
                count = len(state["problems"])
                message = (
                    f"Not run: the recipe has {count} problem{'s' if count != 1 else ''}. Fix {'them' if count != 1 else 'it'} first."
                    if count
                    else "Not run: the recipe is empty."
                )
                return JsonResponse({"error": message, "errors": {}, "problems": state["problems"]}, status=400)
            draft = (recipe, raw)
    run = await run_request(request, user, namespace_id, pipeline_id, release_id=None, draft=draft)
    return await run_started(run, user)
