"""Editor (validate, save, release, live-run start), run history and run detail."""

from __future__ import annotations

import json

import pytest
from django.templatetags.static import static

from pipelines.models import PipelineRelease, PipelineRun, RunEvent
from pipelines.services.releases import release_create

pytestmark = pytest.mark.django_db


def _run(client, path="/alice/pipelines/hello/run", prompt="x"):
    return client.post(path, {"v-prompt": prompt}, HTTP_HX_REQUEST="true")


# --- editor -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "public", "status"), [("owner", None, 200), ("other", None, 404), ("other", "ROLE_EXECUTOR", 403)]
)
def test_editor_is_for_the_owner_only(who, public, status, alice, bob, make_pipeline, page_client):
    make_pipeline(alice, "p", public=public)
    client = page_client(alice if who == "owner" else bob)
    response = client.get("/alice/pipelines/p/editor")
    assert response.status_code == status
    if status == 403:
        assert "only the owner" in response.content.decode()


def test_editor_asks_anonymous_visitors_to_sign_in(client, hello):
    response = client.get("/alice/pipelines/hello/editor")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_editor_page_has_the_recipe_graph_run_form_and_toolkit(alice_client, hello):
    page = alice_client.get("/alice/pipelines/hello/editor").content.decode()
    assert "jq-filter" in page and 'id="editor-config"' in page
    assert 'id="graph-data"' in page and '"component.greet"' in page and static("pipelines/graph.js") in page
    assert 'name="v-prompt"' in page and "Trigger Snippet" in page
    assert static("vendor/codemirror-5.65.21/codemirror.min.js") in page
    assert (
        '<button id="live-cancel" class="btn btn-sm" type="button" data-run-cancel hidden>Cancel run</button>' in page
    )


def test_validate_reports_problems_with_their_lines_and_draws_a_valid_recipe(alice_client, hello):
    broken = hello.raw_recipe.replace("${variable.prompt}", "${variable.nope}")
    answer = alice_client.post("/alice/pipelines/hello/editor/validate", {"rawRecipe": broken}).json()
    assert answer["valid"] is False and answer["graph"] is None
    [problem] = answer["problems"]
    assert problem["location"].startswith("component.greet.input") and "nope" in problem["error"]
    assert broken.splitlines()[problem["line"] - 1].strip().startswith("json-value")
    answer = alice_client.post("/alice/pipelines/hello/editor/validate", {"rawRecipe": hello.raw_recipe}).json()
    assert answer == {"valid": True, "problems": [], "graph": answer["graph"]}
    assert "component.greet" in {node["id"] for node in answer["graph"]["nodes"]}


def test_validate_points_yaml_syntax_errors_at_their_line(alice_client, hello):
    answer = alice_client.post("/alice/pipelines/hello/editor/validate", {"rawRecipe": "variable:\n  a: [1\n"}).json()
    assert answer["problems"][0]["line"] >= 2


def test_save_stores_a_valid_recipe_and_refuses_an_invalid_one(alice_client, hello):
    changed = hello.raw_recipe.replace('"Hello', '"Hi')
    answer = alice_client.post("/alice/pipelines/hello/editor/save", {"rawRecipe": changed}).json()
    assert answer["saved"] is True and 'name="v-prompt"' in answer["form"]
    hello.refresh_from_db()
    assert '"Hi' in hello.raw_recipe
    response = alice_client.post("/alice/pipelines/hello/editor/save", {"rawRecipe": "component: {x: {type: nope}}"})
    assert response.status_code == 400 and response.json()["saved"] is False and response.json()["problems"]
    hello.refresh_from_db()
    assert '"Hi' in hello.raw_recipe


def test_only_the_owner_can_save_validate_or_release(bob_client, alice, make_pipeline):
    make_pipeline(alice, "p", public="ROLE_EXECUTOR")
    for action in ("save", "validate", "release"):
        assert bob_client.post(f"/alice/pipelines/p/editor/{action}", {"rawRecipe": ""}).status_code == 403


def test_release_freezes_the_saved_recipe_and_reports_a_bad_or_taken_version(alice_client, hello, htmx):
    response = alice_client.post(
        "/alice/pipelines/hello/editor/release", {"version": "v1.0.0", "description": "first"}, **htmx
    )
    assert response.status_code == 200 and "Released" in response.content.decode()
    assert PipelineRelease.objects.get().raw_recipe == hello.raw_recipe
    taken = alice_client.post("/alice/pipelines/hello/editor/release", {"version": "v1.0.0"}, **htmx)
    assert taken.status_code == 400 and "already exists" in taken.content.decode()
    bad = alice_client.post("/alice/pipelines/hello/editor/release", {"version": "1.0"}, **htmx)
    assert bad.status_code == 400 and "use a version vX.Y.Z" in bad.content.decode()


def test_editor_run_starts_a_queued_console_run(alice_client, hello):
    response = alice_client.post("/alice/pipelines/hello/editor/run", {"v-prompt": "live"})
    assert response.status_code == 200
    run = PipelineRun.objects.get(uid=response.json()["runUid"])
    assert run.source == PipelineRun.Source.CONSOLE and run.inputs == [{"prompt": "live"}]


def test_editor_run_answers_field_errors(alice_client, hello):
    response = alice_client.post("/alice/pipelines/hello/editor/run", {})
    assert response.status_code == 400
    assert response.json()["errors"] == {"v-prompt": ["Prompt is required."]}


def test_editor_prefills_the_inputs_of_an_earlier_run(alice_client, hello):
    _run(alice_client, prompt="again")
    run = PipelineRun.objects.get()
    page = alice_client.get(f"/alice/pipelines/hello/editor?inputs={run.uid}").content.decode()
    assert ">again</textarea>" in page
    assert alice_client.get("/alice/pipelines/hello/editor?inputs=not-a-uuid").status_code == 200


# --- runs ---------------------------------------------------------------------------


def test_run_list_shows_all_runs_to_the_owner_and_their_own_to_others(alice_client, bob_client, alice, make_pipeline):
    make_pipeline(alice, "hello", public="ROLE_EXECUTOR")
    _run(alice_client, prompt="a")
    _run(bob_client, prompt="b")
    owner = alice_client.get("/alice/pipelines/hello/runs/").content.decode()
    assert owner.count("badge-completed") == 2 and "bob" in owner and "alice" in owner
    other = bob_client.get("/alice/pipelines/hello/runs/").content.decode()
    assert other.count("badge-completed") == 1 and ">alice<" not in other


def test_run_list_filters_and_paginates(alice_client, hello, htmx):
    for i in range(3):
        _run(alice_client, prompt=str(i))
    PipelineRun.objects.filter(pk=PipelineRun.objects.first().pk).update(source=PipelineRun.Source.API)
    web = alice_client.get(
        "/alice/pipelines/hello/runs/", {"source": "RUN_SOURCE_CONSOLE"}, HTTP_HX_TARGET="run-table", **htmx
    )
    page = web.content.decode()
    assert "<html" not in page and page.count("<tr>") == 1 + 2
    from pipelines.views import runs as run_views

    run_views.PAGE_SIZE, saved = 2, run_views.PAGE_SIZE
    try:
        page = alice_client.get("/alice/pipelines/hello/runs/").content.decode()
    finally:
        run_views.PAGE_SIZE = saved
    assert "page 1 of 2" in page and "Older" in page


def test_run_list_asks_anonymous_visitors_to_sign_in(client, alice, make_pipeline):
    make_pipeline(alice, "hello", public="ROLE_VIEWER")
    assert "Sign in to see runs" in client.get("/alice/pipelines/hello/runs/").content.decode()


def test_run_detail_shows_inputs_outputs_components_recipe_and_curl(alice_client, hello):
    _run(alice_client, prompt="detail")
    run = PipelineRun.objects.get()
    page = alice_client.get(f"/alice/pipelines/hello/runs/{run.uid}/").content.decode()
    assert "Hello detail" in page and "greet" in page and "jq-filter" in page
    assert "Copy as cURL" in page and "/v1beta/namespaces/alice/pipelines/hello/trigger" in page
    assert json.dumps({"data": [{"variable": {"prompt": "detail"}}]}).replace('"', "&quot;") in page
    assert f"/alice/pipelines/hello/editor?inputs={run.uid}" in page


def test_run_detail_shows_the_event_log(alice_client, hello):
    """Each stored event: seq, name, component, time since the run began, and its
    payload as a closed JSON tree, with values escaped."""
    _run(alice_client, prompt="<b>bold</b>")
    run = PipelineRun.objects.get()
    events = list(RunEvent.objects.filter(run=run).order_by("seq"))
    assert events
    page = alice_client.get(f"/alice/pipelines/hello/runs/{run.uid}/").content.decode()
    log = page.split('id="event-log"', 1)[1].split("</section>", 1)[0]
    assert f"{len(events)} events" in log
    for event in events:
        assert f'<tr data-seq="{event.seq}">' in log and f"<code>{event.name}</code>" in log
    assert "<code>greet</code>" in log and '<details class="json-tree" >' in log and "json-key" in log
    assert "Hello &lt;b&gt;bold&lt;/b&gt;" in log and "<b>bold</b>" not in log
    assert f'datetime="{events[0].time.isoformat()}' in log and "+" in log


def test_a_long_event_log_shows_its_start_and_says_where_the_rest_is(alice_client, hello, monkeypatch):
    monkeypatch.setattr("pipelines.views.runs.EVENT_LOG_LIMIT", 2)
    _run(alice_client)
    run = PipelineRun.objects.get()
    total = RunEvent.objects.filter(run=run).count()
    assert total > 2
    log = alice_client.get(f"/alice/pipelines/hello/runs/{run.uid}/").content.decode().split('id="event-log"', 1)[1]
    assert log.count("<tr data-seq=") == 2 and f"The first 2 of {total} events" in log
    assert f"/v1beta/pipeline-runs/{run.uid}/events" in log


def test_the_requester_of_a_run_on_a_public_pipeline_sees_its_event_log(bob_client, alice, make_pipeline):
    make_pipeline(alice, "hello", public="ROLE_EXECUTOR")
    _run(bob_client)
    run = PipelineRun.objects.get()
    page = bob_client.get(f"/alice/pipelines/hello/runs/{run.uid}/").content.decode()
    assert 'id="event-log"' in page and "COMPONENT_STATUS_UPDATED" in page


def test_curl_of_a_release_run_targets_the_release(alice_client, hello, rf):
    release_create(pipeline=hello, release_id="v2.0.0")
    alice_client.post("/alice/pipelines/hello/run?version=v2.0.0", {"v-prompt": "r"}, HTTP_HX_REQUEST="true")
    from pipelines.views.runs import curl_command

    command = curl_command(rf.get("/"), PipelineRun.objects.get())
    assert "/pipelines/hello/releases/v2.0.0/trigger" in command and "$INSTILL_API_TOKEN" in command


@pytest.mark.parametrize("who", ["anonymous", "other"])
def test_run_detail_is_hidden_from_others(who, alice_client, alice, bob, make_pipeline, page_client):
    make_pipeline(alice, "hello", public="ROLE_EXECUTOR")
    _run(alice_client)
    run = PipelineRun.objects.get()
    client = page_client(bob if who == "other" else None)
    assert client.get(f"/alice/pipelines/hello/runs/{run.uid}/").status_code == 404


def test_run_detail_under_another_pipeline_path_is_404(alice_client, alice, make_pipeline):
    make_pipeline(alice, "hello")
    make_pipeline(alice, "other")
    _run(alice_client)
    run = PipelineRun.objects.get()
    assert alice_client.get(f"/alice/pipelines/other/runs/{run.uid}/").status_code == 404


def test_page_runs_count_against_the_trigger_rate_limits(alice, hello, alice_client, api, settings):
    """The Run buttons count like API triggers: a per-pipeline limit holds whoever runs
    it and from where; over it, the page says so and no run is recorded."""
    settings.PIPELINE_RATE_LIMIT_PIPELINE_TRIGGERS = "2/hour"
    assert _run(alice_client).status_code == 200
    assert alice_client.post("/alice/pipelines/hello/editor/run", {"v-prompt": "live"}).status_code == 200
    before = PipelineRun.objects.count()
    refused = _run(alice_client)
    assert refused.status_code == 429 and "PIPELINE_RATE_LIMIT_PIPELINE_TRIGGERS" in refused.content.decode()
    live = alice_client.post("/alice/pipelines/hello/editor/run", {"v-prompt": "live"})
    assert live.status_code == 429 and "PIPELINE_RATE_LIMIT_PIPELINE_TRIGGERS" in live.json()["error"]
    body = {"data": [{"variable": {"prompt": "api"}}]}
    assert api.post("/v1beta/namespaces/alice/pipelines/hello/trigger", body, format="json").status_code == 429
    assert PipelineRun.objects.count() == before
