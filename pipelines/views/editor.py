"""The Editor: recipe YAML with as-you-type validation, graph, Save, Release, and a
Run that streams over the websocket (``/ws/runs/<uid>/``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from pipelines.errors import InvalidArgument, NotFound, RecipeInvalidError, ServiceError
from pipelines.forms import ReleaseForm, RunForm, add_service_error
from pipelines.selectors import releases_of, run_get
from pipelines.services import pipelines as pipeline_services
from pipelines.services import releases as release_services
from pipelines.services.triggers import CONSOLE_OPTIONS, Trigger, trigger_enqueue
from pipelines.snippets import snippet_context
from pipelines.views.common import editable_pipeline, page
from pipelines.views.outline import problem_line, recipe_graph
from pipelines.views.pipelines import run_request


def _urls(pipeline) -> dict[str, str]:
    kwargs = {"namespace_id": pipeline.namespace.slug, "pipeline_id": pipeline.slug}
    return {
        "validate": reverse("pipeline-validate", kwargs=kwargs),
        "save": reverse("pipeline-save", kwargs=kwargs),
        "run": reverse("pipeline-run-start", kwargs=kwargs),
        "runs": reverse("run-list", kwargs=kwargs),
        "operations": "/v1beta/operations/",
        "websocket": "/ws/runs/",
    }


def checked(raw_recipe: str):
    """The parser's verdict on a draft: the recipe (None when invalid) and, for the
    page, its problems (errors and warnings, each with its line) and the graph of a
    valid draft as HTML."""
    recipe, problems = pipeline_services.recipe_check(raw_recipe=raw_recipe)
    for problem in problems:
        if "line" not in problem:
            problem["line"] = problem_line(raw_recipe, problem["location"], problem["error"])
    graph = None
    if recipe is not None:
        graph = render_to_string("pipelines/pipeline_editor.html#graph", {"graph": recipe_graph(recipe)})
    return recipe, {"valid": recipe is not None, "problems": problems, "graph": graph}


def _prefill(request) -> dict:
    """Inputs of an earlier run (``?inputs=<run uid>``): "Open in editor with these inputs"."""
    run_uid = request.GET.get("inputs")
    if not run_uid:
        return {}
    try:
        run = run_get(run_uid=run_uid, user=request.user)
    except (NotFound, ValidationError):
        return {}
    return dict(run.inputs[0]) if run.inputs and isinstance(run.inputs[0], dict) else {}


@login_required
@page
def pipeline_editor(request, namespace_id: str, pipeline_id: str):
    pipeline, permission = editable_pipeline(request, namespace_id, pipeline_id)
    recipe, state = checked(pipeline.raw_recipe)
    context = {
        "pipeline": pipeline,
        "permission": permission,
        "form": RunForm(variables=recipe.variables if recipe else (), values=_prefill(request), prefix="v"),
        "graph_html": state["graph"],
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
    editable_pipeline(request, namespace_id, pipeline_id)
    return JsonResponse(checked(request.POST.get("rawRecipe", ""))[1])


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
    variables = recipe.variables if recipe else ()
    form_html = render_to_string(
        "pipelines/partials/run_form.html", {"form": RunForm(variables=variables, prefix="v")}, request
    )
    return JsonResponse({**state, "saved": True, "message": "Saved.", "form": form_html})


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


@page
async def pipeline_run_start(request, namespace_id: str, pipeline_id: str):
    """Start a run of the saved recipe asynchronously (source CONSOLE); answers
    ``{"runUid"}`` for the websocket, or the form's errors by field."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    user = await request.auser()
    run = await run_request(request, user, namespace_id, pipeline_id, release_id=None)
    if run.rows is not None and run.target is not None:
        try:
            queued = await trigger_enqueue(
                Trigger(requester=user, target=run.target, rows=run.rows, options=CONSOLE_OPTIONS)
            )
            return JsonResponse({"runUid": str(queued.uid)})
        except ServiceError as exc:
            run.fail(exc)
    errors = dict(run.form.errors.items()) if run.form is not None else {}
    general = [run.error] if run.error else []
    general += [str(e) for e in errors.pop("__all__", [])]
    fields = {f"v-{name}": [str(e) for e in messages] for name, messages in errors.items()}
    return JsonResponse({"error": " ".join(general), "errors": fields}, status=max(run.status, 400))
