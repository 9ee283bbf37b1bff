"""Releases: semantic-version ids, frozen recipes, owner-only changes, release triggers."""

from __future__ import annotations

from pipelines.models import PipelineRun
from tests.conftest import HELLO_RECIPE

BASE = "/v1beta/namespaces/alice/pipelines/hello"


def test_release_freezes_recipe_and_triggers_it(api, hello):
    response = api.post(f"{BASE}/releases", {"id": "v1.0.0", "description": "first"})
    assert response.status_code == 201
    release = response.json()["release"]
    assert release["id"] == "v1.0.0" and release["rawRecipe"] == HELLO_RECIPE
    assert release["name"] == "users/alice/pipelines/hello/releases/v1.0.0"
    api.patch(BASE, {"rawRecipe": HELLO_RECIPE.replace("Hello", "Bye")})
    assert api.get(f"{BASE}/releases/v1.0.0?view=VIEW_FULL").json()["release"]["rawRecipe"] == HELLO_RECIPE
    body = {"data": [{"variable": {"prompt": "x"}}]}
    assert api.post(f"{BASE}/releases/v1.0.0/trigger", body).json()["outputs"] == [{"answer": "Hello x"}]
    assert api.post(f"{BASE}/trigger", body).json()["outputs"] == [{"answer": "Bye x"}]
    versions = [r["pipelineVersion"] for r in api.get(f"{BASE}/runs").json()["pipelineRuns"]]
    assert versions == ["latest", "v1.0.0"]
    assert PipelineRun.objects.filter(release__slug="v1.0.0").count() == 1


def test_release_ids_are_semver_or_resource_ids(api, hello):
    """A release id is a semantic version, or an id as Instill's resource-id rule allows
    (its clients release ``v1-abcdefgh``); ``latest`` names the pipeline's own recipe."""
    for good in ("v1.0.0", "v2.1.0-beta.1", "v0.0.1-rc.2", "v1", "v1-abcdefgh"):
        assert api.post(f"{BASE}/releases", {"id": good}).status_code == 201, good
    for bad in ("1.0.0", "v1.2", "v01.0.0", "latest", "v1.0.0-", "V1"):
        response = api.post(f"{BASE}/releases", {"id": bad})
        assert response.status_code == 400, bad
        assert "vX.Y.Z" in response.json()["message"]
    assert api.post(f"{BASE}/releases", {"id": "v1.0.0"}).status_code == 409


def test_release_list_get_patch_delete(api, hello):
    api.post(f"{BASE}/releases", {"id": "v1.0.0"})
    api.post(f"{BASE}/releases", {"id": "v1.1.0"})
    listed = api.get(f"{BASE}/releases").json()
    assert [r["id"] for r in listed["releases"]] == ["v1.1.0", "v1.0.0"] and listed["totalSize"] == 2
    patched = api.patch(f"{BASE}/releases/v1.0.0", {"description": "stable"}).json()["release"]
    assert patched["description"] == "stable"
    assert api.patch(f"{BASE}/releases/v1.0.0", {"rawRecipe": "x: 1"}).status_code == 400
    assert api.delete(f"{BASE}/releases/v1.0.0").status_code == 204
    assert api.get(f"{BASE}/releases/v1.0.0").status_code == 404
    response = api.post(f"{BASE}/releases/v9.9.9/trigger", {"data": [{"variable": {"prompt": "x"}}]})
    assert response.status_code == 404 and "v9.9.9" in response.json()["message"]


def test_only_owner_creates_or_deletes_releases(bob_api, api, alice, make_pipeline):
    make_pipeline(alice, "hello", public="ROLE_EXECUTOR")
    api.post(f"{BASE}/releases", {"id": "v1.0.0"})
    assert bob_api.get(f"{BASE}/releases/v1.0.0").status_code == 200
    assert bob_api.post(f"{BASE}/releases", {"id": "v2.0.0"}).status_code == 403
    assert bob_api.delete(f"{BASE}/releases/v1.0.0").status_code == 403
    body = {"data": [{"variable": {"prompt": "bob"}}]}
    assert bob_api.post(f"{BASE}/releases/v1.0.0/trigger", body).json()["outputs"] == [{"answer": "Hello bob"}]
