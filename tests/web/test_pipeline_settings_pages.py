"""A pipeline's Settings tab: owner only; description, visibility, rename, clone and
delete do what the page says, and refused input comes back in the form."""

from __future__ import annotations

import pytest

from pipelines.models import Pipeline, PipelineRelease, PipelineRun
from pipelines.services.releases import release_create
from pipelines.services.run_files import run_dir

pytestmark = pytest.mark.django_db

SETTINGS = "/alice/pipelines/hello/settings"


def post(client, action: str, pipeline: str = "hello", **fields):
    return client.post(
        f"/alice/pipelines/{pipeline}/settings/{action}", {f"{action}-{k}": v for k, v in fields.items()}
    )


def run_hello(client) -> PipelineRun:
    assert client.post("/alice/pipelines/hello/run", {"v-prompt": "Ada"}).status_code == 200
    return PipelineRun.objects.get(pipeline__slug="hello")


def test_the_owner_finds_a_settings_tab_with_every_setting(alice_client, hello):
    overview = alice_client.get("/alice/pipelines/hello/").content.decode()
    assert f'href="{SETTINGS}"' in overview
    page = alice_client.get(SETTINGS)
    assert page.status_code == 200
    html = page.content.decode()
    for heading in ("Description and visibility", "Clone", "Rename", "Delete"):
        assert f">{heading}</h2>" in html
    assert 'aria-current="page">Settings' in html
    assert "the old ones stop working" in html
    assert "/v1beta/namespaces/alice/pipelines/hello/trigger" in html


@pytest.mark.parametrize("who, status", [("anonymous", 302), ("bob", 404)])
def test_others_cannot_see_a_private_pipelines_settings(who, status, hello, bob_client, client):
    visitor = bob_client if who == "bob" else client
    assert visitor.get(SETTINGS).status_code == status
    assert post(visitor, "delete", confirm_id="hello").status_code == status
    assert Pipeline.objects.filter(slug="hello").exists()


def test_readers_of_a_public_pipeline_get_403_and_no_tab(alice, bob_client, make_pipeline):
    make_pipeline(alice, "hello", public="ROLE_EXECUTOR")
    assert "Settings</a>" not in bob_client.get("/alice/pipelines/hello/").content.decode()
    assert bob_client.get(SETTINGS).status_code == 403
    assert post(bob_client, "rename", new_id="mine", confirm="on").status_code == 403
    assert post(bob_client, "details", description="hacked", visibility="VISIBILITY_PRIVATE").status_code == 403
    assert Pipeline.objects.get(slug="hello").description == ""


def test_description_and_visibility_are_saved(alice_client, hello, client):
    answer = post(alice_client, "details", description="Greets <people>", visibility="VISIBILITY_PUBLIC")
    assert answer.status_code == 302 and answer["Location"] == SETTINGS
    page = alice_client.get(SETTINGS).content.decode()
    assert "Settings saved. The pipeline is public" in page
    assert "Greets &lt;people&gt;" in page
    # Public: a visitor sees it now; private again: not any more.
    assert client.get("/alice/pipelines/hello/").status_code == 200
    post(alice_client, "details", description="", visibility="VISIBILITY_PRIVATE")
    assert client.get("/alice/pipelines/hello/").status_code == 404
    assert Pipeline.objects.get(slug="hello").description == ""


def test_a_bad_visibility_is_shown_in_the_form(alice_client, hello):
    answer = post(alice_client, "details", description="x", visibility="VISIBILITY_WORLD")
    assert answer.status_code == 400
    assert "Select a valid choice" in answer.content.decode()


def test_rename_keeps_runs_and_releases_and_the_old_url_stops_working(alice_client, hello, api):
    run = run_hello(alice_client)
    release_create(pipeline=hello, release_id="v1.0.0")
    answer = post(alice_client, "rename", new_id="greeter", confirm="on")
    assert answer.status_code == 302 and answer["Location"] == "/alice/pipelines/greeter/settings"
    page = alice_client.get(answer["Location"]).content.decode()
    assert "Renamed &quot;hello&quot; to &quot;greeter&quot;" in page and "no longer work" in page
    assert alice_client.get("/alice/pipelines/hello/").status_code == 404
    assert alice_client.get("/alice/pipelines/greeter/").status_code == 200
    assert alice_client.get(f"/alice/pipelines/greeter/runs/{run.uid}/").status_code == 200
    assert PipelineRelease.objects.filter(pipeline__slug="greeter", slug="v1.0.0").exists()
    old = api.post(
        "/v1beta/namespaces/alice/pipelines/hello/trigger", {"data": [{"variable": {"prompt": "x"}}]}, format="json"
    )
    assert old.status_code == 404


def test_rename_needs_the_confirmation_and_a_free_valid_id(alice_client, alice, hello, make_pipeline):
    make_pipeline(alice, "taken")
    unconfirmed = post(alice_client, "rename", new_id="greeter")
    assert unconfirmed.status_code == 400 and "This field is required" in unconfirmed.content.decode()
    taken = post(alice_client, "rename", new_id="taken", confirm="on")
    assert taken.status_code == 400
    assert "pipeline &quot;taken&quot; already exists" in taken.content.decode()
    bad = post(alice_client, "rename", new_id="Bad Id!", confirm="on")
    assert bad.status_code == 400 and "is not valid" in bad.content.decode()
    assert Pipeline.objects.filter(slug="hello").exists() and not Pipeline.objects.filter(slug="greeter").exists()


def test_clone_copies_the_recipe_privately_without_runs(alice_client, alice, hello):
    run_hello(alice_client)
    post(alice_client, "details", description="The greeter", visibility="VISIBILITY_PUBLIC")
    answer = post(alice_client, "clone", target_id="hello-copy")
    assert answer.status_code == 302 and answer["Location"] == "/alice/pipelines/hello-copy/"
    clone = Pipeline.objects.get(slug="hello-copy")
    assert clone.raw_recipe == hello.raw_recipe and clone.description == "The greeter"
    assert not clone.is_public and not clone.runs.exists()
    assert "Cloned" in alice_client.get(answer["Location"]).content.decode()
    again = post(alice_client, "clone", target_id="hello-copy")
    assert again.status_code == 400 and "already exists" in again.content.decode()


def test_delete_asks_for_the_id_then_removes_runs_releases_and_files(
    alice_client, hello, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.PIPELINE_DATA_DIR = str(tmp_path)
    run = run_hello(alice_client)
    run_dir(run.uid).mkdir(parents=True)
    (run_dir(run.uid) / "kept.bin").write_bytes(b"x")
    release_create(pipeline=hello, release_id="v1.0.0")
    page = alice_client.get(SETTINGS).content.decode()
    assert "also deletes its 1 run" in page and "1 release (v1.0.0)" in page
    wrong = post(alice_client, "delete", confirm_id="hell")
    assert wrong.status_code == 400 and "Type &quot;hello&quot; exactly" in wrong.content.decode()
    assert Pipeline.objects.filter(slug="hello").exists()
    with django_capture_on_commit_callbacks(execute=True):
        with_commit = post(alice_client, "delete", confirm_id="hello")
    assert with_commit.status_code == 302 and with_commit["Location"] == "/"
    assert not Pipeline.objects.filter(slug="hello").exists()
    assert not PipelineRun.objects.filter(uid=run.uid).exists()
    assert not PipelineRelease.objects.filter(slug="v1.0.0").exists()
    assert not run_dir(run.uid).exists()
    assert "Deleted &quot;hello&quot;" in alice_client.get("/").content.decode()
    assert alice_client.get(SETTINGS).status_code == 404


def test_an_unknown_setting_is_not_an_error_page(alice_client, hello):
    answer = alice_client.post("/alice/pipelines/hello/settings/explode", {})
    assert answer.status_code == 302
    assert "There is no setting" in alice_client.get(answer["Location"]).content.decode()


def test_the_public_choice_says_who_can_run_it(alice_client, alice, make_pipeline):
    make_pipeline(alice, "hello", public="ROLE_VIEWER")
    page = alice_client.get(SETTINGS).content.decode()
    assert "Public — anyone can see it; only you can run it" in page
    post(alice_client, "details", description="", visibility="VISIBILITY_PRIVATE")
    post(alice_client, "details", description="", visibility="VISIBILITY_PUBLIC")
    assert Pipeline.objects.get(slug="hello").public_role == "ROLE_VIEWER"  # the role is kept
    page = alice_client.get(SETTINGS).content.decode()
    assert "The pipeline is public: anyone can see it; only you can run it." in page
