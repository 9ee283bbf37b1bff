"""Connections through the API, as Instill has them (protobufs
``pipeline/v1beta/integration.proto``): CRUD with the integration's setup checked,
secret fields encrypted and answered as ``*****MASK*****``, owner-only, the pipelines
that reference one, and a recipe's ``setup: ${connection.<id>}`` resolved at run time
against a real local OpenAI-compatible server (tests/fake_openai.py)."""

from __future__ import annotations

import pytest
from django.db import connection as db

from pipelines.services.connections import connections_for_run
from tests.api.test_async import poll
from tests.components.test_platform_keys import INSTILL_RECIPE

pytestmark = pytest.mark.django_db(transaction=True)

CONNECTIONS = "/v1beta/namespaces/alice/connections"
PIPELINES = "/v1beta/namespaces/alice/pipelines"
KEY = "sk-connection-key-0123456789"
MASK = "*****MASK*****"

# Instill's recipe with its setup moved to a connection.
RECIPE = INSTILL_RECIPE.replace(
    "    setup:\n      api-key: ${secret.INSTILL_SECRET}\n", "    setup: ${connection.my-openai}\n"
)
assert "${connection.my-openai}" in RECIPE


def openai_connection(base_url: str = "http://localhost:9/v1", key: str = KEY, cid: str = "my-openai") -> dict:
    return {
        "id": cid,
        "integrationId": "openai",
        "method": "METHOD_DICTIONARY",
        "setup": {"api-key": key, "base-url": base_url},
    }


def raw_rows() -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM pipelines_connection")
        return repr(cursor.fetchall())


def test_crud_with_the_secret_masked_and_encrypted(api, alice):
    created = api.post(CONNECTIONS, openai_connection())
    assert created.status_code == 201, created.content
    body = created.json()["connection"]
    assert body["id"] == "my-openai" and body["namespaceId"] == "alice"
    assert body["integrationId"] == "openai" and body["integrationTitle"] == "OpenAI"
    assert body["method"] == "METHOD_DICTIONARY" and body["view"] == "VIEW_FULL"
    assert body["setup"] == {"api-key": MASK, "base-url": "http://localhost:9/v1"}
    assert body["uid"] and body["createTime"] and body["updateTime"]
    assert KEY not in raw_rows()

    basic = api.get(f"{CONNECTIONS}/my-openai").json()["connection"]
    assert basic["view"] == "VIEW_BASIC" and basic["setup"] is None
    full = api.get(f"{CONNECTIONS}/my-openai", {"view": "VIEW_FULL"}).json()["connection"]
    assert full["setup"]["api-key"] == MASK

    # An edit that sends the mask back keeps the key; a new key replaces it.
    patched = api.patch(f"{CONNECTIONS}/my-openai", {"setup": {"api-key": MASK, "base-url": "http://localhost:8/v1"}})
    assert patched.status_code == 200, patched.content
    assert patched.json()["connection"]["setup"] == {"api-key": MASK, "base-url": "http://localhost:8/v1"}
    assert api.patch(f"{CONNECTIONS}/my-openai", {"setup": {"api-key": "sk-other"}}).status_code == 200
    assert "sk-other" not in raw_rows()

    assert api.post(CONNECTIONS, openai_connection()).status_code == 409
    assert api.delete(f"{CONNECTIONS}/my-openai").status_code == 204
    missing = api.get(f"{CONNECTIONS}/my-openai")
    assert missing.status_code == 404 and "Connection my-openai doesn't exist." in missing.json()["message"]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"id": "Bad Id"}, "id", "not valid"),
        ({"integrationId": "nope"}, "integrationId", 'integrationId: integration "nope" does not exist'),
        ({"integrationId": ""}, "integrationId", "integrationId is required"),
        ({"method": "METHOD_OAUTH"}, "method", "METHOD_OAUTH is not supported"),
        ({"setup": None}, "setup", "setup is required"),
        ({"setup": "key"}, "setup", "must be a JSON object"),
        ({"setup": {"api-key": 5}}, "setup.api-key", "api-key"),
        ({"setup": {"api-kee": "x"}}, "setup.api-kee", 'no field "api-kee"'),
    ],
)
def test_bad_connections_are_refused_naming_the_field(api, alice, change, field, words):
    response = api.post(CONNECTIONS, {**openai_connection(), **change})
    assert response.status_code == 400, response.content
    body = response.json()
    assert words in body["message"]
    assert field in body["message"]


def test_list_pages_and_filters(api, alice):
    for cid in ("a-one", "b-two", "c-three"):
        assert api.post(CONNECTIONS, openai_connection(cid=cid)).status_code == 201
    first = api.get(CONNECTIONS, {"pageSize": 2}).json()
    assert [c["id"] for c in first["connections"]] == ["a-one", "b-two"] and first["totalSize"] == 3
    assert all(c["setup"] is None for c in first["connections"])
    second = api.get(CONNECTIONS, {"pageSize": 2, "pageToken": first["nextPageToken"]}).json()
    assert [c["id"] for c in second["connections"]] == ["c-three"] and second["nextPageToken"] == ""
    assert api.get(CONNECTIONS, {"filter": 'qConnection="two"'}).json()["totalSize"] == 1
    assert api.get(CONNECTIONS, {"filter": 'integrationId="openai"'}).json()["totalSize"] == 3
    assert api.get(CONNECTIONS, {"filter": 'integrationId="http"'}).json()["totalSize"] == 0
    full = api.get(CONNECTIONS, {"view": "VIEW_FULL"}).json()
    assert KEY not in str(full) and full["connections"][0]["setup"]["api-key"] == MASK


def test_only_the_owner_sees_or_changes_connections(api, bob_api, alice):
    assert api.post(CONNECTIONS, openai_connection()).status_code == 201
    assert bob_api.get(CONNECTIONS).status_code == 403
    assert bob_api.get(f"{CONNECTIONS}/my-openai").status_code == 403
    assert bob_api.post(CONNECTIONS, openai_connection(cid="x")).status_code == 403
    assert bob_api.patch(f"{CONNECTIONS}/my-openai", {"setup": {}}).status_code == 403
    assert bob_api.delete(f"{CONNECTIONS}/my-openai").status_code == 403
    assert bob_api.get(f"{CONNECTIONS}/my-openai/referenced-pipelines").status_code == 403


def test_referenced_pipelines(api, alice):
    """Instill's list (newest first, paged, q on the id), counting a pipeline whose draft
    no longer names the connection while one of its releases still does."""
    assert api.post(CONNECTIONS, openai_connection()).status_code == 201
    other = RECIPE.replace("${connection.my-openai}", "${connection.my-openai-2}")
    for pid in ("uses-it", "released", "also-uses"):
        assert api.post(PIPELINES, {"id": pid, "rawRecipe": RECIPE}).status_code == 201
    assert api.post(f"{PIPELINES}/released/releases", {"id": "v1.0.0"}).status_code == 201
    assert api.patch(f"{PIPELINES}/released", {"rawRecipe": other}).status_code == 200
    assert api.post(PIPELINES, {"id": "other", "rawRecipe": other}).status_code == 201
    path = f"{CONNECTIONS}/my-openai/referenced-pipelines"
    found = api.get(path).json()
    assert found == {"pipelineIds": ["also-uses", "released", "uses-it"], "nextPageToken": "", "totalSize": 3}
    first = api.get(path, {"pageSize": 2}).json()
    assert first["pipelineIds"] == ["also-uses", "released"] and first["totalSize"] == 3
    rest = api.get(path, {"pageSize": 2, "pageToken": first["nextPageToken"]}).json()
    assert rest == {"pipelineIds": ["uses-it"], "nextPageToken": "", "totalSize": 3}
    assert api.get(path, {"filter": 'q="also"'}).json()["pipelineIds"] == ["also-uses"]
    # Once the release is gone, nothing of "released" references the connection.
    assert api.delete(f"{PIPELINES}/released/releases/v1.0.0").status_code == 204
    assert api.get(path).json()["pipelineIds"] == ["also-uses", "uses-it"]
    assert api.get(f"{CONNECTIONS}/nope/referenced-pipelines").status_code == 404


def test_a_recipe_runs_on_its_connection_with_the_key_masked(api, alice, fake_openai, settings):
    settings.PIPELINE_LLM_ALLOWED_HOSTS = [fake_openai.base_url.removeprefix("http://").removesuffix("/v1")]
    fake_openai.require_key(KEY)
    assert api.post(CONNECTIONS, openai_connection(fake_openai.base_url)).status_code == 201
    assert api.post(PIPELINES, {"id": "chat", "rawRecipe": RECIPE}).status_code == 201
    # The prompt says the key: the answer echoes it, and every answer masks it.
    row = {"data": [{"variable": {"prompt": f"my key is {KEY}"}}]}
    response = api.post(f"{PIPELINES}/chat/trigger", row, HTTP_INSTILL_RETURN_TRACES="true")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["outputs"] == [{"answer": "You said: my key is ***"}]
    assert fake_openai.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"
    runs = api.get(f"{PIPELINES}/chat/runs").json()
    run_uid = runs["pipelineRuns"][0]["pipelineRunUid"]
    component_runs = api.get(f"{PIPELINES}/chat/runs/{run_uid}/component-runs").json()
    # The run keeps its trigger's inputs as sent; everything the run made is masked.
    assert runs["pipelineRuns"][0]["outputs"] == [{"answer": "You said: my key is ***"}]
    for answer in (body, component_runs, api.get(f"{PIPELINES}/chat").json()):
        assert KEY not in str(answer)
    with db.cursor() as cursor:
        cursor.execute("SELECT payload FROM pipelines_runevent")
        assert KEY not in repr(cursor.fetchall())


def test_a_missing_connection_fails_the_trigger_and_validate(api, alice):
    created = api.post(PIPELINES, {"id": "chat", "rawRecipe": RECIPE})
    assert created.status_code == 201  # as Instill: accepted at save time
    response = api.post(f"{PIPELINES}/chat/trigger", {"data": [{"variable": {"prompt": "hi"}}]})
    assert response.status_code == 400
    assert response.json()["message"] == "Connection my-openai doesn't exist."
    checked = api.post(f"{PIPELINES}/chat/validate", {}).json()
    assert checked["success"] is False
    assert checked["errors"] == [
        {"location": "component.openai-0.setup", "error": "Connection my-openai doesn't exist.", "severity": "error"}
    ]


def test_a_connection_outside_a_setup_is_refused_and_cannot_be_overridden(api, alice):
    in_input = RECIPE.replace("prompt: ${variable.prompt}", "prompt: ${connection.my-openai}")
    response = api.post(PIPELINES, {"id": "bad", "rawRecipe": in_input})
    assert response.status_code == 400
    assert "a connection can only be a component's setup" in response.json()["message"]
    assert api.post(CONNECTIONS, openai_connection()).status_code == 201
    assert api.post(PIPELINES, {"id": "chat", "rawRecipe": RECIPE}).status_code == 201
    row = {"data": [{"variable": {"prompt": "hi"}, "secret": {"connection:my-openai": "{}"}}]}
    response = api.post(f"{PIPELINES}/chat/trigger", row)
    assert response.status_code == 400 and "cannot be overridden" in response.json()["message"]


def test_a_nested_secret_field_is_masked_and_kept(api, alice):
    """``http``'s credential is inside ``authentication``: masked there, kept when the
    mask comes back, encrypted at rest."""
    setup = {"authentication": {"auth-type": "BEARER_TOKEN", "token": KEY}}
    created = api.post(CONNECTIONS, {"id": "web", "integrationId": "http", "setup": setup})
    assert created.status_code == 201, created.content
    assert created.json()["connection"]["setup"] == {"authentication": {"auth-type": "BEARER_TOKEN", "token": MASK}}
    assert KEY not in raw_rows()
    masked = {"authentication": {"auth-type": "BEARER_TOKEN", "token": MASK}}
    assert api.patch(f"{CONNECTIONS}/web", {"setup": masked}).status_code == 200
    entries = connections_for_run(namespace_id=alice.namespace.pk, connection_ids=["web"])
    assert KEY in entries["connection:web"] and entries["connection:web#0"] == KEY


def test_an_async_trigger_runs_on_its_connection(api, alice, fake_openai, settings):
    """A queued run loads the connection again when it starts (as it loads secrets)."""
    settings.PIPELINE_LLM_ALLOWED_HOSTS = [fake_openai.base_url.removeprefix("http://").removesuffix("/v1")]
    fake_openai.require_key(KEY)
    assert api.post(CONNECTIONS, openai_connection(fake_openai.base_url)).status_code == 201
    assert api.post(PIPELINES, {"id": "chat", "rawRecipe": RECIPE}).status_code == 201
    response = api.post(f"{PIPELINES}/chat/trigger-async", {"data": [{"variable": {"prompt": "later"}}]})
    assert response.status_code == 200, response.content
    done = poll(api, response.json()["operation"]["name"])
    assert done["response"]["outputs"] == [{"answer": "You said: later"}]
    assert api.delete(f"{CONNECTIONS}/my-openai").status_code == 204
    refused = api.post(f"{PIPELINES}/chat/trigger-async", {"data": [{"variable": {"prompt": "x"}}]})
    assert refused.status_code == 400 and refused.json()["message"] == "Connection my-openai doesn't exist."


def test_the_mask_alone_is_never_taken_for_a_key(api, alice):
    """A mask where nothing is stored leaves the field out (a run would send no key,
    not the mask)."""
    masked = {**openai_connection(), "setup": {"api-key": MASK}}
    assert api.post(CONNECTIONS, masked).json()["connection"]["setup"] == {}
    assert api.patch(f"{CONNECTIONS}/my-openai", {"setup": {"api-key": MASK}}).json()["connection"]["setup"] == {}
    assert connections_for_run(namespace_id=alice.namespace.pk, connection_ids=["my-openai"]) == {
        "connection:my-openai": "{}"
    }
