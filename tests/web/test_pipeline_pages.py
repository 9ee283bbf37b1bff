"""Pipelines list, New pipeline, Overview and its Run: pages and permissions."""

from __future__ import annotations

import base64
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from pipelines.models import Pipeline, PipelineRun
from pipelines.services.releases import release_create

pytestmark = pytest.mark.django_db

PRIVATE = None
VIEWER, EXECUTOR = "ROLE_VIEWER", "ROLE_EXECUTOR"

IMAGE_RECIPE = """\
variable:
  photo: {title: Photo, type: image, required: true}
  settings: {title: Settings, type: json}
  tags: {title: Tags, type: "array:string"}
output:
  width: {value: "${variable.photo:width}"}
  photo: {value: "${variable.photo}"}
  settings: {value: "${variable.settings}"}
  tags: {value: "${variable.tags}"}
"""


def png(width=3, height=2) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(buffer, format="PNG")
    return buffer.getvalue()


# --- list ---------------------------------------------------------------------------


def test_anonymous_visitors_see_only_public_pipelines(client, alice, make_pipeline):
    make_pipeline(alice, "open-one", public=VIEWER, description="shared with all")
    make_pipeline(alice, "secret-one")
    page = client.get("/").content.decode()
    assert "open-one" in page and "shared with all" in page
    assert "secret-one" not in page
    assert "New pipeline" not in page


def test_the_owner_sees_private_pipelines_with_badges_and_run_counts(alice_client, alice, bob, make_pipeline):
    make_pipeline(alice, "mine")
    make_pipeline(bob, "bobs-private")
    make_pipeline(bob, "bobs-public", public=EXECUTOR)
    page = alice_client.get("/").content.decode()
    assert "mine" in page and "Private" in page
    assert "bobs-public" in page and "Public" in page
    assert "bobs-private" not in page
    assert "New pipeline" in page


def test_search_filters_by_id_or_description_and_htmx_gets_the_results_only(alice_client, alice, make_pipeline, htmx):
    make_pipeline(alice, "alpha", description="first")
    make_pipeline(alice, "beta", description="the second one")
    page = alice_client.get("/", {"q": "second"}).content.decode()
    assert "beta" in page and "alpha" not in page
    partial = alice_client.get("/", {"q": "alp"}, HTTP_HX_TARGET="pipeline-results", **htmx).content.decode()
    assert "alpha" in partial and "<html" not in partial
    empty = alice_client.get("/", {"q": "zzz"}).content.decode()
    assert "No pipeline matches" in empty


# --- new ----------------------------------------------------------------------------


def test_new_pipeline_needs_a_signed_in_user(client):
    response = client.get("/new")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_new_pipeline_from_a_template_opens_the_editor(alice_client, alice):
    response = alice_client.post("/new", {"id": "greeter", "description": "hi", "template": "hello", "public": "on"})
    assert response.status_code == 302 and response["Location"] == "/alice/pipelines/greeter/editor"
    pipeline = Pipeline.objects.get(slug="greeter")
    assert pipeline.is_public and "greet" in pipeline.raw_recipe and pipeline.namespace.slug == "alice"


def test_new_pipeline_errors_are_shown_on_their_fields(alice_client, alice, make_pipeline):
    make_pipeline(alice, "taken")
    response = alice_client.post("/new", {"id": "Bad Id", "template": "blank"})
    assert response.status_code == 400 and "is not valid" in response.content.decode()
    response = alice_client.post("/new", {"id": "taken", "template": "blank"})
    assert response.status_code == 400 and "already exists" in response.content.decode()


def test_every_template_makes_a_valid_pipeline(alice_client, alice):
    from pipelines.views.pipelines import recipe_templates

    for index, key in enumerate(recipe_templates()):
        response = alice_client.post("/new", {"id": f"t{index}", "template": key})
        assert response.status_code == 302, (key, response.content.decode()[:500])


# --- overview -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "public", "status"),
    [
        ("owner", PRIVATE, 200),
        ("other", PRIVATE, 404),
        ("anonymous", PRIVATE, 404),
        ("other", VIEWER, 200),
        ("anonymous", EXECUTOR, 200),
    ],
)
def test_overview_permissions(who, public, status, alice, bob, make_pipeline, page_client):
    make_pipeline(alice, "p", public=public)
    client = page_client({"owner": alice, "other": bob, "anonymous": None}[who])
    assert client.get("/alice/pipelines/p/").status_code == status


def test_overview_shows_the_run_form_readme_and_api_snippet(alice_client, alice, make_pipeline):
    make_pipeline(alice, "p", readme="# Title\n\n**bold** <script>alert(1)</script>")
    page = alice_client.get("/alice/pipelines/p/").content.decode()
    assert 'name="v-prompt"' in page and "Prompt" in page and 'class="req"' in page
    assert "<h1>Title</h1>" in page and "<strong>bold</strong>" in page
    assert "<script>alert(1)</script>" not in page
    assert "/v1beta/namespaces/alice/pipelines/p/trigger" in page
    assert "Editor" in page


def test_overview_of_a_public_pipeline_asks_anonymous_visitors_to_sign_in(client, alice, make_pipeline):
    make_pipeline(alice, "p", public=EXECUTOR)
    page = client.get("/alice/pipelines/p/").content.decode()
    assert "Sign in to run" in page and ">Editor<" not in page


def test_overview_version_selector_shows_a_release_and_404s_an_unknown_one(alice_client, alice, make_pipeline):
    pipeline = make_pipeline(alice, "p")
    release_create(pipeline=pipeline, release_id="v1.0.0", description="first")
    page = alice_client.get("/alice/pipelines/p/", {"version": "v1.0.0"}).content.decode()
    assert '<option value="v1.0.0" selected>' in page and "?version=v1.0.0" in page
    assert alice_client.get("/alice/pipelines/p/", {"version": "v9.9.9"}).status_code == 404


def test_the_run_form_follows_ui_order_and_prefills_defaults(alice_client, alice, make_pipeline):
    recipe = """\
variable:
  second: {type: number, default: 2.5, instill-ui-order: 1}
  first: {type: string, default: hey, instill-ui-order: 0}
  flag: {type: boolean, default: true, instill-ui-order: 2}
  data: {type: json, default: {a: 1}, instill-ui-order: 3}
  many: {type: "array:integer", default: [1, 2], instill-ui-order: 4}
output: {}
"""
    make_pipeline(alice, "p", raw_recipe=recipe)
    page = alice_client.get("/alice/pipelines/p/").content.decode()
    assert page.index('name="v-first"') < page.index('name="v-second"') < page.index('name="v-flag"')
    # A short string gets a one-line input.
    assert 'name="v-first" type="text" value="hey"' in page and 'value="2.5"' in page and "checked" in page
    assert "&quot;a&quot;: 1" in page and page.count('name="v-many"') == 3  # two items + the template


# --- run from the overview ------------------------------------------------------------


def test_run_answers_the_outputs_and_records_a_console_run(alice_client, hello, htmx):
    response = alice_client.post("/alice/pipelines/hello/run", {"v-prompt": "web"}, **htmx)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Hello web" in page and "Completed" in page and "<html" not in page
    run = PipelineRun.objects.get()
    assert run.source == PipelineRun.Source.CONSOLE and run.requester.username == "alice"
    assert f"/alice/pipelines/hello/runs/{run.uid}/" in page


def test_a_missing_required_variable_is_shown_next_to_its_field(alice_client, hello, htmx):
    response = alice_client.post("/alice/pipelines/hello/run", {}, **htmx)
    page = response.content.decode()
    assert response.status_code == 400
    assert (
        'id="errors-v-prompt" class="field-errors" hx-swap-oob="true"><p class="error" role="alert">Prompt is required.'
        in page
    )
    assert not PipelineRun.objects.exists()


def test_run_without_htmx_renders_the_whole_page(alice_client, hello):
    response = alice_client.post("/alice/pipelines/hello/run", {"v-prompt": "plain"})
    page = response.content.decode()
    assert response.status_code == 200 and "<html" in page and "Hello plain" in page


def test_run_of_a_release_runs_its_frozen_recipe(alice_client, hello, htmx):
    release_create(pipeline=hello, release_id="v1.0.0")
    alice_client.post("/alice/pipelines/hello/run?version=v1.0.0", {"v-prompt": "r"}, **htmx)
    assert PipelineRun.objects.get().pipeline_version == "v1.0.0"


@pytest.mark.parametrize(
    ("who", "public", "status"),
    [("anonymous", EXECUTOR, 401), ("other", PRIVATE, 404), ("other", VIEWER, 403), ("other", EXECUTOR, 200)],
)
def test_run_permissions(who, public, status, alice, bob, make_pipeline, page_client, htmx):
    make_pipeline(alice, "p", public=public)
    client = page_client({"other": bob, "anonymous": None}[who])
    assert client.post("/alice/pipelines/p/run", {"v-prompt": "x"}, **htmx).status_code == status


def test_run_with_an_uploaded_image_json_and_an_array(alice_client, alice, make_pipeline, htmx):
    make_pipeline(alice, "img", raw_recipe=IMAGE_RECIPE)
    upload = SimpleUploadedFile("dot.png", png(3, 2), content_type="image/png")
    response = alice_client.post(
        "/alice/pipelines/img/run", {"v-photo": upload, "v-settings": '{"k": [1, 2]}', "v-tags": ["a", "", "b"]}, **htmx
    )
    page = response.content.decode()
    assert response.status_code == 200, page
    assert '<img class="output-image" src="data:image/png;' in page
    assert '<code class="json-number">3</code>' in page
    assert '<span class="json-key">k</span>' in page
    assert '"a"' in page and '"b"' in page


def test_bad_json_and_a_wrong_file_type_are_field_errors(alice_client, alice, make_pipeline, htmx):
    make_pipeline(alice, "img", raw_recipe=IMAGE_RECIPE)
    upload = SimpleUploadedFile("notes.txt", b"not an image", content_type="text/plain")
    page = alice_client.post(
        "/alice/pipelines/img/run", {"v-photo": upload, "v-settings": "{nope"}, **htmx
    ).content.decode()
    assert "This is not valid JSON" in page
    upload = SimpleUploadedFile("notes.txt", b"not an image", content_type="text/plain")
    page = alice_client.post("/alice/pipelines/img/run", {"v-photo": upload}, **htmx).content.decode()
    assert 'id="errors-v-photo"' in page and "must be an image" in page


def test_a_component_error_is_shown_with_the_component(alice_client, alice, make_pipeline, htmx):
    recipe = """\
variable:
  text: {type: string}
component:
  decode:
    type: base64
    task: TASK_DECODE
    input: {data: "${variable.text}"}
output:
  out: {value: "${decode.output.data}"}
"""
    make_pipeline(alice, "b64", raw_recipe=recipe)
    page = alice_client.post("/alice/pipelines/b64/run", {"v-text": "%%%not base64"}, **htmx).content.decode()
    assert "Failed" in page and "decode" in page and 'class="error"' in page


def test_text_outputs_that_look_like_markdown_are_rendered_and_sanitised():
    from pipelines.templatetags.pipeline_ui import render_value

    html = render_value("# Heading\n\n- one\n- two <img src=x onerror=alert(1)>")
    rendered, raw = html.split("<details", 1)
    assert "<h1>Heading</h1>" in rendered and "<li>one</li>" in rendered and "onerror" not in rendered
    assert "&lt;img src=x onerror" in raw  # the raw text, escaped
    assert "Raw text" in html
    assert render_value("data:application/pdf;base64,JVBE").startswith('<a class="file-link"')
    assert render_value(None) == '<span class="muted">null</span>'
    assert base64  # imported for symmetry with the upload tests
