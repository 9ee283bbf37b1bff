"""Pipelines list, New pipeline, Overview and its Run."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse

from pipelines.aio import db
from pipelines.components import default_registry
from pipelines.demo import CHUNK_AND_JQ, HELLO, chat_recipe
from pipelines.engine import Recipe
from pipelines.errors import ServiceError
from pipelines.forms import PipelineCreateForm, RunForm, add_service_error, run_form_for
from pipelines.selectors import pipeline_get, pipeline_search, pipeline_stats, release_get, releases_of, runs_visible
from pipelines.services import pipelines as pipeline_services
from pipelines.services.run_execution import TriggerOutcome
from pipelines.services.run_inputs import TriggerRow, rows_with_fetched_files, trigger_rows
from pipelines.services.run_targets import TriggerTarget, trigger_target, trigger_target_draft
from pipelines.services.triggers import (
    CONSOLE_OPTIONS,
    Trigger,
    trigger_enqueue,
    trigger_outcome,
    trigger_rate_check,
)
from pipelines.services.users import user_namespace
from pipelines.snippets import snippet_context
from pipelines.views.common import is_htmx, page
from pipelines.views.runs import carried_files

BLANK = """\
version: v1beta
variable:
  text:
    title: Text
    type: string
component: {}
output:
  text:
    title: Text
    value: ${variable.text}
"""


def recipe_templates() -> dict[str, tuple[str, str]]:
    """Starting recipes for a new pipeline: key → (label, YAML). ``chat`` is the chat
    demo for the configured server (``PIPELINE_DEMO_OPENAI_*``, Ollama by default)."""
    templates = {
        "blank": ("Blank — one text variable echoed back", BLANK),
        "hello": ("Hello — greet whoever you name", HELLO),
        "chunk-and-jq": ("Chunk and jq — split a text, count words per chunk", CHUNK_AND_JQ),
    }
    if "openai" in default_registry():
        base_url = settings.PIPELINE_DEMO_OPENAI_BASE_URL or "https://api.openai.com/v1"
        model = settings.PIPELINE_DEMO_OPENAI_MODEL or "gpt-4o-mini"
        templates["chat"] = (
            f"Chat — ask {model} at {base_url}, answer streamed",
            chat_recipe(base_url=base_url, model=model),
        )
    return templates


def pipeline_list(request):
    query = request.GET.get("q", "").strip()
    pipelines = pipeline_search(user=request.user, query=query)
    page_obj = Paginator(pipelines, 24).get_page(request.GET.get("page"))
    stats = pipeline_stats(pipelines=list(page_obj))
    context = {
        "page_obj": page_obj,
        "cards": [(p, stats.get(p.pk, {})) for p in page_obj],
        "query": query,
    }
    template = "pipelines/pipeline_list.html"
    if is_htmx(request) and request.headers.get("HX-Target") == "pipeline-results":
        template += "#results"
    return render(request, template, context)


@login_required
def pipeline_new(request):
    templates = recipe_templates()
    form = PipelineCreateForm(request.POST or None, templates=templates)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            pipeline = pipeline_services.pipeline_create(
                namespace=user_namespace(request.user),
                pipeline_id=data["id"],
                description=data["description"],
                raw_recipe=templates[data["template"]][1],
                visibility="VISIBILITY_PUBLIC" if data["public"] else "VISIBILITY_PRIVATE",
            )
        except ServiceError as exc:
            add_service_error(form, exc, fields={"recipe": "template"})
        else:
            return redirect("pipeline-editor", namespace_id=pipeline.namespace.slug, pipeline_id=pipeline.slug)
    return render(request, "pipelines/pipeline_new.html", {"form": form}, status=400 if form.errors else 200)


def _recipe(pipeline, release):
    """The parsed recipe of latest or a release; None (with the problem) if it no longer parses."""
    try:
        return pipeline_services.version_recipe(pipeline, release), ""
    except ServiceError as exc:
        return None, exc.message


def overview_context(request, pipeline, permission, release, *, form=None, result=None) -> dict:
    recipe, recipe_error = _recipe(pipeline, release)
    if form is None:
        form = run_form_for(recipe)
    runs = runs_visible(pipeline=pipeline, user=request.user, permission=permission)
    return {
        "pipeline": pipeline,
        "permission": permission,
        "release": release,
        "version": release.slug if release else "latest",
        "releases": list(releases_of(pipeline=pipeline)),
        "readme": (release.readme if release and release.readme else pipeline.readme),
        "recipe_error": recipe_error,
        "form": form,
        "result": result,
        "recent_runs": list(runs[:5]),
        "stats": pipeline_stats(pipelines=[pipeline]).get(pipeline.pk, {}),
        "snippet": snippet_context(request=request, pipeline=pipeline, release=release),
        "run_config": {"urls": {"operations": "/v1beta/operations/", "websocket": "/ws/runs/"}},
    }


def _release_or_none(pipeline, version: str | None):
    if not version or version == "latest":
        return None
    return release_get(pipeline=pipeline, release_id=version)


@page
def pipeline_overview(request, namespace_id: str, pipeline_id: str):
    pipeline, permission = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)
    release = _release_or_none(pipeline, request.GET.get("version"))
    return render(request, "pipelines/pipeline_overview.html", overview_context(request, pipeline, permission, release))


def ordered_outputs(recipe: Recipe) -> list[dict[str, str]]:
    """The recipe's outputs in ``instill-ui-order``, each with the title a page shows."""
    ordered = sorted(recipe.outputs.values(), key=lambda o: (o.ui_order is None, o.ui_order or 0))
    return [{"id": o.id, "title": o.title or o.id} for o in ordered]


def run_url(pipeline, run_uid) -> str:
    kwargs = {"namespace_id": pipeline.namespace.slug, "pipeline_id": pipeline.slug, "run_uid": run_uid}
    return reverse("run-detail", kwargs=kwargs)


def run_result(target: TriggerTarget, outcome: TriggerOutcome) -> dict:
    """What the Overview shows of a finished run: outputs in the recipe's order, by
    type, and each component's status with its error."""
    outputs = outcome.response["outputs"][0] if outcome.response["outputs"] else {}
    traces = outcome.response["metadata"]["traces"]
    components = [
        {"id": cid, "status": trace["statuses"][0] if trace["statuses"] else "", "error": trace["error"]["message"]}
        for cid, trace in traces.items()
    ]
    return {
        "url": run_url(target.pipeline, outcome.run_uid),
        "outputs": [{**o, "value": outputs.get(o["id"])} for o in ordered_outputs(target.recipe)],
        "components": components,
        "failed": outcome.failed,
    }


def _read_form(request):
    return request.POST, request.FILES


_target_in_thread = db(trigger_target)
_overview_context_in_thread = db(overview_context)
_pipeline_get_in_thread = db(pipeline_get)
_carried_in_thread = db(carried_files)


@dataclass
class RunRequest:
    """A submitted run form, resolved: rows ready for the trigger services, or why not."""

    form: RunForm | None = None
    target: TriggerTarget | None = None
    rows: list[TriggerRow] | None = None
    error: str = ""
    status: int = 200

    def fail(self, exc: ServiceError) -> None:
        """A service's verdict: on its field when it names one, else for the whole run."""
        if self.form is not None and exc.field:
            self.form.add_service_error(exc)
            self.status = 400
        else:
            self.error, self.status = exc.message, exc.http_status


_draft_target_in_thread = db(trigger_target_draft)


async def run_request(
    request,
    user,
    namespace_id: str,
    pipeline_id: str,
    *,
    release_id: str | None,
    draft: tuple[Recipe, str] | None = None,
) -> RunRequest:
    """Parse the run form (multipart, files spooled off the event loop), authorise, and
    turn it into trigger rows through the same services as the REST trigger. ``draft``
    (the parsed recipe and its text) runs an Editor draft instead of a saved version."""
    answer = RunRequest()
    if not user.is_authenticated:
        answer.error, answer.status = "Sign in to run this pipeline.", 401
        return answer
    post, files = await asyncio.to_thread(_read_form, request)
    try:
        if draft is not None:
            answer.target = await _draft_target_in_thread(
                namespace_id=namespace_id, pipeline_id=pipeline_id, user=user, recipe=draft[0], raw=draft[1]
            )
        else:
            answer.target = await _target_in_thread(
                namespace_id=namespace_id, pipeline_id=pipeline_id, release_id=release_id, user=user
            )
    except ServiceError as exc:
        answer.fail(exc)
        return answer
    answer.form = run_form_for(answer.target.recipe, post, files)
    if not answer.form.is_valid():
        answer.status = 400
        return answer
    try:
        variables = answer.form.variables()
        variables |= await _carried_in_thread(post, files, answer.form, user=user, pipeline=answer.target.pipeline)
        rows = trigger_rows({"data": [{"variable": variables}]})
        await trigger_rate_check(requester=user, target=answer.target)
        answer.rows = await rows_with_fetched_files(answer.target, rows)
    except ServiceError as exc:
        answer.fail(exc)
    return answer


def run_errors(run: RunRequest) -> dict:
    """A refused run form as JSON: ``error`` for the whole run, ``errors`` by field name."""
    errors = dict(run.form.errors.items()) if run.form is not None else {}
    general = [run.error] if run.error else []
    general += [str(e) for e in errors.pop("__all__", [])]
    fields = {f"v-{name}": [str(e) for e in messages] for name, messages in errors.items()}
    return {"error": " ".join(general), "errors": fields}


async def run_started(run: RunRequest, user) -> JsonResponse:
    """Queue an accepted run form's run (source CONSOLE) for a page to follow over the
    websocket: ``{"runUid", "runUrl", "draft", "outputs": [{id, title}], "components"}``;
    or, refused, the form's errors by field (:func:`run_errors`)."""
    if run.rows is not None and run.target is not None:
        try:
            queued = await trigger_enqueue(
                Trigger(requester=user, target=run.target, rows=run.rows, options=CONSOLE_OPTIONS)
            )
        except ServiceError as exc:
            run.fail(exc)
        else:
            return JsonResponse(
                {
                    "runUid": str(queued.uid),
                    "runUrl": run_url(run.target.pipeline, queued.uid),
                    "draft": run.target.draft,
                    "outputs": ordered_outputs(run.target.recipe),
                    "components": list(run.target.recipe.components),
                }
            )
    return JsonResponse(run_errors(run), status=max(run.status, 400))


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "") and not is_htmx(request)


@page
async def pipeline_run(request, namespace_id: str, pipeline_id: str):
    """Run from the Overview: the REST trigger's services with source CONSOLE. Its
    script asks for JSON and follows the queued run live (:func:`run_started`); htmx
    gets the finished result partial (field errors swapped out-of-band), a form post
    without scripts the whole page."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    user = await request.auser()
    version = request.GET.get("version") or None
    run = await run_request(
        request, user, namespace_id, pipeline_id, release_id=None if version in (None, "latest") else version
    )
    if wants_json(request):
        return await run_started(run, user)
    result = None
    if run.rows is not None and run.target is not None:
        try:
            # As every trigger: leaving the page does not stop the run.
            trigger = Trigger(requester=user, target=run.target, rows=run.rows, options=CONSOLE_OPTIONS)
            outcome = await trigger_outcome(trigger)
            result = run_result(run.target, outcome)
        except ServiceError as exc:
            run.fail(exc)
    if not is_htmx(request):
        pipeline, permission = await _pipeline_get_in_thread(
            namespace_id=namespace_id, pipeline_id=pipeline_id, user=user
        )
        release = run.target.release if run.target is not None else None
        context = await _overview_context_in_thread(
            request, pipeline, permission, release, form=run.form, result=result
        )
        context["run_error"] = run.error
        html = await asyncio.to_thread(render_to_string, "pipelines/pipeline_overview.html", context, request)
        return HttpResponse(html, status=run.status)
    context = {"result": result, "run_error": run.error, "form": run.form, "oob": True}
    html = await asyncio.to_thread(render_to_string, "pipelines/pipeline_overview.html#run-result", context, request)
    return HttpResponse(html, status=run.status)
