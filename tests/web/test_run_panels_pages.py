"""The run panels' server side: the Editor runs the draft without saving it (a draft
run, in history and API), the Overview's script starts a run to follow live, and the
run form speaks plain language."""

from __future__ import annotations

import pytest

from pipelines.models import PipelineRun
from pipelines.templatetags.pipeline_ui import render_value, status_badge

pytestmark = pytest.mark.django_db

EDITOR_RUN = "/alice/pipelines/hello/editor/run"


def _draft(hello) -> str:
    return hello.raw_recipe.replace('"Hello', '"Howdy')


def test_editor_run_runs_the_draft_without_saving_it_and_marks_a_draft_run(alice_client, hello, api):
    saved = hello.raw_recipe
    response = alice_client.post(EDITOR_RUN, {"v-prompt": "draft", "rawRecipe": _draft(hello)})
    assert response.status_code == 200
    body = response.json()
    assert body["draft"] is True and body["outputs"] == [{"id": "answer", "title": "Answer"}]
    assert body["components"] == ["greet"] and body["runUrl"].endswith(f"/runs/{body['runUid']}/")
    hello.refresh_from_db()
    assert hello.raw_recipe == saved  # nothing saved
    run = PipelineRun.objects.get(uid=body["runUid"])
    assert run.draft is True and "Howdy" in run.recipe_snapshot["component"]["greet"]["input"]["jq-filter"]
    # The API says so (an additive field beside pipelineVersion and recipeSnapshot).
    [listed] = api.get("/v1beta/namespaces/alice/pipelines/hello/runs").json()["pipelineRuns"]
    assert listed["draft"] is True and listed["pipelineVersion"] == "latest"
    assert api.get("/v1beta/namespaces/alice/pipelines/hello?view=VIEW_RECIPE").json()["pipeline"]["rawRecipe"] == saved
    # And the history pages.
    runs_page = alice_client.get("/alice/pipelines/hello/runs/").content.decode()
    assert 'class="badge badge-draft"' in runs_page
    detail = alice_client.get(f"/alice/pipelines/hello/runs/{run.uid}/").content.decode()
    assert 'class="badge badge-draft"' in detail and "(unsaved draft)" in detail


def test_editor_run_of_the_saved_recipe_is_not_a_draft_run(alice_client, hello, api):
    body = alice_client.post(EDITOR_RUN, {"v-prompt": "x", "rawRecipe": hello.raw_recipe}).json()
    assert body["draft"] is False and PipelineRun.objects.get(uid=body["runUid"]).draft is False
    [listed] = api.get("/v1beta/namespaces/alice/pipelines/hello/runs").json()["pipelineRuns"]
    assert listed["draft"] is False
    assert 'badge-draft"' not in alice_client.get("/alice/pipelines/hello/runs/").content.decode()


def test_editor_run_of_an_invalid_draft_answers_its_problems_and_starts_nothing(alice_client, hello):
    broken = hello.raw_recipe.replace("${variable.prompt}", "${variable.nope}")
    response = alice_client.post(EDITOR_RUN, {"v-prompt": "x", "rawRecipe": broken})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Not run: the recipe has 1 problem. Fix it first." and "runUid" not in body
    [problem] = body["problems"]
    assert "nope" in problem["error"] and broken.splitlines()[problem["line"] - 1].strip().startswith("json-value")
    assert not PipelineRun.objects.exists()


def test_only_the_owner_runs_a_draft(bob_client, alice, make_pipeline):
    pipeline = make_pipeline(alice, "hello", public="ROLE_EXECUTOR")
    response = bob_client.post(EDITOR_RUN, {"v-prompt": "x", "rawRecipe": pipeline.raw_recipe})
    assert response.status_code == 403 and not PipelineRun.objects.exists()


@pytest.mark.parametrize(("public", "status"), [("ROLE_EXECUTOR", 403), (None, 404)])
def test_a_draft_of_someone_elses_pipeline_is_refused_before_it_is_read(
    public, status, bob_client, alice, make_pipeline
):
    """Not "fix the recipe first": the draft is not theirs to run, broken or not (and a
    private pipeline stays hidden)."""
    make_pipeline(alice, "hello", public=public)
    response = bob_client.post(EDITOR_RUN, {"v-prompt": "x", "rawRecipe": "output: [nope"})
    assert response.status_code == status
    assert "problems" not in response.content.decode() and not PipelineRun.objects.exists()


def test_the_run_form_follows_the_draft(alice_client, hello):
    draft = hello.raw_recipe.replace("variable:\n", "variable:\n  city: {title: City, type: string}\n", 1)
    answer = alice_client.post("/alice/pipelines/hello/editor/run-form", {"rawRecipe": draft}).json()
    assert 'name="v-city"' in answer["form"] and [v[0] for v in answer["variables"]] == ["prompt", "city"]
    bad = alice_client.post("/alice/pipelines/hello/editor/run-form", {"rawRecipe": "component: {x: {type: nope}}"})
    assert bad.status_code == 400 and bad.json()["problems"]


def test_the_overview_script_gets_a_queued_run_to_follow(alice_client, hello):
    response = alice_client.post("/alice/pipelines/hello/run", {"v-prompt": "live"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    body = response.json()
    run = PipelineRun.objects.get(uid=body["runUid"])
    assert run.source == PipelineRun.Source.CONSOLE and run.draft is False and body["draft"] is False
    assert body["outputs"] == [{"id": "answer", "title": "Answer"}]
    refused = alice_client.post("/alice/pipelines/hello/run", {}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400 and refused.json()["errors"] == {"v-prompt": ["Prompt is required."]}


def test_without_scripts_a_refused_run_marks_its_field(alice_client, hello):
    page = alice_client.post("/alice/pipelines/hello/run", {}).content.decode()
    assert "Fix the highlighted field and run again." in page
    assert 'class="field run-field has-error"' in page and 'aria-invalid="true"' in page
    assert '<div id="errors-v-prompt" class="field-errors"><p class="error">Prompt is required.</p></div>' in page


PHOTO = """\
variable:
  photo: {title: Photo, type: image, required: true}
  data: {title: Data, type: json}
  name: {title: Name, type: string}
  notes: {title: Notes, type: string, instill-ui-multiline: true}
output:
  photo: {title: The photo, value: "${variable.photo}"}
"""


def test_run_form_messages_are_plain_language(alice_client, alice, make_pipeline):
    from django.core.files.uploadedfile import SimpleUploadedFile

    make_pipeline(alice, "photo", raw_recipe=PHOTO)
    upload = SimpleUploadedFile("notes.txt", b"just text", content_type="text/plain")
    response = alice_client.post(
        "/alice/pipelines/photo/run", {"v-photo": upload, "v-data": "{nope"}, HTTP_ACCEPT="application/json"
    )
    errors = response.json()["errors"]
    assert errors["v-photo"] == ["This must be an image — PNG, JPEG, GIF, WebP, …"]
    [json_error] = errors["v-data"]  # one message, not the API's and the browser's
    assert json_error.startswith("This is not valid JSON")
    missing = alice_client.post("/alice/pipelines/photo/run", {}, HTTP_ACCEPT="application/json").json()
    assert missing["errors"] == {"v-photo": ["Photo is required."]}


def test_short_strings_get_one_line_inputs_and_multiline_ones_a_text_area(alice_client, alice, make_pipeline):
    make_pipeline(alice, "photo", raw_recipe=PHOTO)
    page = alice_client.get("/alice/pipelines/photo/").content.decode()
    assert '<input id="id_v-name" name="v-name" type="text"' in page
    assert '<textarea id="id_v-notes" name="v-notes" rows="3"' in page
    assert "…or drop a file here." in page  # the picker takes a dropped file
    hello_page = alice_client.get("/alice/pipelines/photo/").content.decode()
    assert hello_page.count("<textarea") >= 2  # notes and the JSON field


def test_a_failed_component_is_failed_everywhere_and_outputs_show_their_titles(alice_client, hello):
    assert "Failed" in status_badge("STATUS_ERROR") and "Failed" in status_badge("RUN_STATUS_FAILED")
    alice_client.post("/alice/pipelines/hello/run", {"v-prompt": "titles"}, HTTP_HX_REQUEST="true")
    run = PipelineRun.objects.get()
    detail = alice_client.get(f"/alice/pipelines/hello/runs/{run.uid}/").content.decode()
    assert '<div class="output output-inline" data-output="answer"><dt>Answer</dt>' in detail
    assert '<div class="output output-inline" data-input="prompt"><dt>Prompt</dt>' in detail


def test_short_and_long_text_share_one_style():
    assert render_value("short") == '<div class="text-output">short</div>'
    assert render_value("a\nlonger text") == '<div class="text-output">a\nlonger text</div>'
