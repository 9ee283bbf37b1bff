"""Instill's current API beside the old forms: server-made ids, display names, views,
owners and users, proto-JSON field names, recipes Instill saves and refuses at trigger."""

from __future__ import annotations

import pytest

from tests.conftest import HELLO_RECIPE, ApiClient

pytestmark = pytest.mark.django_db

NS = "/v1beta/namespaces/alice/pipelines"
UNKNOWN_COMPONENT = """\
variable:
  to: {type: string}
component:
  mail:
    type: asana
    task: TASK_CRUD_TASK
    input: {recipients: ["${variable.to}"]}
output:
  sent: {value: "${mail.output.result}"}
"""


# --- create without an id, display names, ids --------------------------------------------


def test_create_without_id_derives_a_unique_id_from_the_display_name(api):
    """Instill's clients send displayName and no id: the id is its slug, made unique in the namespace."""
    body = {"displayName": "My Pipeline: v2!", "rawRecipe": HELLO_RECIPE}
    first = api.post(NS, body).json()["pipeline"]
    second = api.post(NS, body).json()["pipeline"]
    assert (first["id"], second["id"]) == ("my-pipeline-v2", "my-pipeline-v2-2")
    assert first["displayName"] == "My Pipeline: v2!" and first["slug"] == second["slug"] == "my-pipeline-v2"
    assert first["name"] == "users/alice/pipelines/my-pipeline-v2"
    assert api.post(NS, {"displayName": "2024 report"}).json()["pipeline"]["id"] == "pipeline-2024-report"


def test_create_needs_an_id_or_a_display_name(api):
    response = api.post(NS, {"description": "nothing to name it by"})
    assert response.status_code == 400 and "displayName" in response.json()["message"]


def test_ids_of_up_to_63_characters_are_accepted_and_not_uuids(api):
    long_id = "integration-test-invariant-" + "x" * 36  # 63 characters
    assert api.post(NS, {"id": long_id}).status_code == 201
    assert api.post(NS, {"id": long_id + "x"}).status_code == 400
    uuid_like = "abcdef01-2345-4678-9abc-def012345678"
    response = api.post(NS, {"id": uuid_like})
    assert response.status_code == 400 and "UUID" in response.json()["message"]
    renamed = api.post(f"{NS}/{long_id}/rename", {"newPipelineId": "short"})
    assert renamed.json()["pipeline"]["id"] == "short"


def test_display_name_changes_with_patch_and_is_the_id_when_never_set(api, hello):
    got = api.get(f"{NS}/hello").json()["pipeline"]
    assert got["displayName"] == "hello" and got["slug"] == "hello"
    patched = api.patch(f"{NS}/hello", {"displayName": "Say Hello"}).json()["pipeline"]
    assert patched["displayName"] == "Say Hello" and patched["slug"] == "say-hello" and patched["id"] == "hello"


# --- owner, creator, users ------------------------------------------------------------------


def test_owner_and_creator_match_the_users_api(api, alice):
    """``owner.user`` is the user ``GET /v1beta/users/{id}`` answers; ``GET /v1beta/user`` is the caller."""
    created = api.post(NS, {"id": "mine", "rawRecipe": HELLO_RECIPE}).json()["pipeline"]
    me = api.get("/v1beta/user").json()["user"]
    assert me["name"] == "users/alice" and me["id"] == "alice" and me["email"] == alice.email
    assert created["owner"]["user"]["profile"] == me["profile"] and created["owner"]["user"]["id"] == "alice"
    assert created["creatorName"] == "users/alice" and created["ownerName"] == "users/alice"
    public = ApiClient().get("/v1beta/users/alice").json()["user"]
    assert public == created["owner"]["user"] and "email" not in public
    assert ApiClient().get("/v1beta/users/nobody").status_code == 404
    assert ApiClient().get("/v1beta/user").status_code == 401


# --- views ------------------------------------------------------------------------------------


def test_views_of_a_pipeline_and_its_releases(api, hello):
    """VIEW_BASIC (the default of reads) leaves the recipe out, VIEW_RECIPE adds it,
    VIEW_FULL adds the data specification; a write answers with all of it."""
    basic = api.get(f"{NS}/hello").json()["pipeline"]
    assert basic["recipe"] is None and basic["rawRecipe"] == "" and basic["dataSpecification"] is None
    recipe = api.get(f"{NS}/hello?view=VIEW_RECIPE").json()["pipeline"]
    assert recipe["rawRecipe"] == HELLO_RECIPE and recipe["recipe"] and recipe["dataSpecification"] is None
    full = api.get(f"{NS}/hello?view=VIEW_FULL").json()["pipeline"]
    assert full["rawRecipe"] == HELLO_RECIPE and "prompt" in full["dataSpecification"]["input"]["properties"]
    assert api.get(f"{NS}?view=VIEW_FULL").json()["pipelines"][0]["rawRecipe"] == HELLO_RECIPE
    assert api.get(NS).json()["pipelines"][0]["recipe"] is None
    assert api.patch(f"{NS}/hello", {"description": "x"}).json()["pipeline"]["rawRecipe"] == HELLO_RECIPE
    bad = api.get(f"{NS}/hello?view=VIEW_EVERYTHING")
    assert bad.status_code == 400 and "view" in bad.json()["message"]

    created = api.post(f"{NS}/hello/releases", {"id": "v1.0.0"}).json()["release"]
    assert created["rawRecipe"] == HELLO_RECIPE and created["name"] == "users/alice/pipelines/hello/releases/v1.0.0"
    assert api.get(f"{NS}/hello/releases/v1.0.0").json()["release"]["recipe"] is None
    assert api.get(f"{NS}/hello/releases?view=VIEW_FULL").json()["releases"][0]["rawRecipe"] == HELLO_RECIPE


# --- proto-JSON field names -------------------------------------------------------------------


def test_request_fields_in_snake_case_or_lower_camel_case(api, hello, alice):
    """Every body field is read under its proto name too, as proto-JSON parsers do."""
    created = api.post(NS, {"display_name": "Snake Made", "raw_recipe": HELLO_RECIPE, "max_run_seconds": 5}).json()[
        "pipeline"
    ]
    assert created["id"] == "snake-made" and created["rawRecipe"] == HELLO_RECIPE
    patched = api.patch(f"{NS}/snake-made", {"max_run_seconds": 30, "display_name": "Snake"}).json()["pipeline"]
    assert patched["maxRunSeconds"] == 30 and patched["displayName"] == "Snake"
    assert api.post(f"{NS}/snake-made/rename", {"new_pipeline_id": "renamed"}).json()["pipeline"]["id"] == "renamed"
    assert api.post(f"{NS}/renamed/rename", {"newPipelineId": "again"}).json()["pipeline"]["id"] == "again"
    clone = api.post(f"{NS}/again/clone", {"target_namespace_id": "alice", "target_pipeline_id": "copy"})
    assert clone.status_code == 201 and clone.json()["pipeline"]["id"] == "copy"
    valid = api.post(f"{NS}/hello/validate", {"raw_recipe": "component: {a: {type: json, task: NOPE}}"}).json()
    assert valid["success"] is False
    release = api.post(f"{NS}/hello/releases", {"id": "v1.0.0", "display_name": "First"}).json()["release"]
    assert release["displayName"] == "First"
    assert api.patch(f"{NS}/hello/releases/v1.0.0", {"display_name": "Uno"}).json()["release"]["displayName"] == "Uno"
    # A trigger's variables are the client's data: their keys stay as sent.
    raw = HELLO_RECIPE.replace("prompt", "my_prompt")
    api.patch(f"{NS}/hello", {"raw_recipe": raw})
    out = api.post(f"{NS}/hello/trigger", {"data": [{"variable": {"my_prompt": "snake"}}]}).json()
    assert out["outputs"] == [{"answer": "Hello snake"}]
    token = api.post("/v1beta/tokens", {"id": "snake", "expire_time": "2999-01-01T00:00:00Z"}).json()["token"]
    assert token["expireTime"].startswith("2999-01-01")
    secret = api.post("/v1beta/namespaces/alice/secrets", {"id": "k", "value": "v"})
    assert secret.status_code == 201
    connection = api.post(
        "/v1beta/namespaces/alice/connections",
        {"id": "my-conn", "integration_id": "openai", "method": "METHOD_DICTIONARY", "setup": {"api-key": "sk"}},
    )
    assert connection.status_code == 201 and connection.json()["connection"]["integrationId"] == "openai"


def test_one_field_under_both_names_is_refused(api, hello):
    response = api.post(f"{NS}/hello/rename", {"newPipelineId": "a", "new_pipeline_id": "b"})
    assert response.status_code == 400
    assert response.json()["message"] == '"newPipelineId" is sent twice (once as "new_pipeline_id"): send one of them'


# --- recipes Instill saves and refuses at trigger ---------------------------------------------


def test_unknown_component_is_saved_and_its_trigger_names_it(api):
    """Instill saves a recipe with a component type it lacks and refuses the trigger;
    /validate still reports it."""
    created = api.post(NS, {"id": "mailer", "rawRecipe": UNKNOWN_COMPONENT})
    assert created.status_code == 201 and created.json()["pipeline"]["dataSpecification"] is None
    response = api.post(f"{NS}/mailer/trigger", {"data": [{"variable": {"to": "a@b.c"}}]})
    assert response.status_code == 400
    assert 'unknown component type "asana"' in response.json()["message"]
    problems = api.post(f"{NS}/mailer/validate").json()
    assert problems["success"] is False and problems["errors"][0]["location"] == "component.mail.type"
    other = api.post(NS, {"id": "broken", "rawRecipe": "component: {a: {type: json, task: NOPE}}"})
    assert other.status_code == 400  # every other error is still refused at save


def test_missing_connection_is_saved_and_its_trigger_names_it(api):
    raw = """\
variable:
  prompt: {type: string}
component:
  ask:
    type: openai
    task: TASK_TEXT_GENERATION
    input: {model: gpt-4o-mini, prompt: "${variable.prompt}"}
    setup: ${connection.my-conn}
output:
  answer: {value: "${ask.output.texts}"}
"""
    assert api.post(NS, {"id": "asker", "rawRecipe": raw}).status_code == 201
    response = api.post(f"{NS}/asker/trigger", {"data": [{"variable": {"prompt": "x"}}]})
    assert response.status_code == 400 and response.json()["message"] == "Connection my-conn doesn't exist."
    errors = api.post(f"{NS}/asker/validate").json()["errors"]
    assert errors[0]["error"] == "Connection my-conn doesn't exist."


# --- the old forms ------------------------------------------------------------------------------


def test_old_form_requests_keep_working(api, alice):
    """Explicit ids, camelCase bodies, ``namespaces/`` paths and ``page`` numbers, as
    clients of the first contract send them; the new ``name`` is a path that works too."""
    created = api.post(NS, {"id": "old", "rawRecipe": HELLO_RECIPE, "description": "d"})
    assert created.status_code == 201 and created.json()["pipeline"]["id"] == "old"
    name = created.json()["pipeline"]["name"]
    for path in (f"{NS}/old", "/v1beta/namespace/alice/pipelines/old", f"/v1beta/{name}"):
        assert api.get(path).json()["pipeline"]["id"] == "old", path
    assert api.patch(f"{NS}/old", {"rawRecipe": HELLO_RECIPE, "maxRunSeconds": 9}).status_code == 200
    out = api.post(f"{NS}/old/trigger", {"inputs": [{"prompt": "old"}]}).json()
    assert out["outputs"] == [{"answer": "Hello old"}]
    assert api.post(f"/v1beta/{name}/releases", {"id": "v1.0.0"}).status_code == 201
    runs = api.get(f"{NS}/old/runs?page=0&pageSize=1").json()
    assert runs["totalSize"] == 1 and len(runs["pipelineRuns"]) == 1
    assert api.post(f"{NS}/old/rename", {"newPipelineId": "older"}).json()["pipeline"]["id"] == "older"
    assert api.delete(f"{NS}/older").status_code == 204
