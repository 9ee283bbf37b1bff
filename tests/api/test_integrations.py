"""``/v1beta/integrations``: one per component type that has a setup, in Instill's shape
(pipeline-backend integration-test/pipeline/rest-integration.js, protobufs
pipeline/v1beta/integration.proto)."""

from __future__ import annotations

import pytest

from pipelines.components import default_registry

URL = "/v1beta/integrations"
WITH_SETUP = sorted(d.type for d in default_registry() if d.setup_schema)


@pytest.fixture
def client(anon, db):
    return anon


def test_list_has_one_integration_per_component_with_a_setup(client):
    body = client.get(f"{URL}?pageSize=100").json()  # more than a default page (10) of them
    assert body["totalSize"] == len(WITH_SETUP)
    assert [i["id"] for i in body["integrations"]] == WITH_SETUP
    assert body["nextPageToken"] == ""
    for integration in body["integrations"]:
        assert integration["setupSchema"] is None and integration["view"] == "VIEW_BASIC"
        assert integration["schemas"] == []


def test_pages_follow_the_token(client):
    first = client.get(f"{URL}?pageSize=1").json()
    assert len(first["integrations"]) == 1 and first["nextPageToken"]
    second = client.get(f"{URL}?pageSize=1&pageToken={first['nextPageToken']}").json()
    assert second["integrations"][0]["id"] != first["integrations"][0]["id"]


def test_get_basic_and_full_view(client):
    definition = default_registry().get("openai")
    basic = client.get(f"{URL}/openai")
    assert basic.status_code == 200
    assert basic.json()["integration"] == {
        "uid": basic.json()["integration"]["uid"],
        "id": "openai",
        "title": "OpenAI",
        "description": definition.description,
        "vendor": "OpenAI",
        "icon": "assets/openai.svg",
        "helpLink": basic.json()["integration"]["helpLink"],
        "setupSchema": None,
        "oAuthConfig": None,
        "schemas": [],
        "view": "VIEW_BASIC",
    }
    full = client.get(f"{URL}/openai?view=VIEW_FULL").json()["integration"]
    assert full["view"] == "VIEW_FULL"
    assert full["setupSchema"] == definition.setup_schema
    assert "api-key" in full["setupSchema"]["properties"]
    assert full["schemas"] == [{"method": "METHOD_DICTIONARY", "schema": definition.setup_schema}]


@pytest.mark.parametrize("integration_id", ["restapio", "document", "json"])
def test_unknown_or_setup_less_is_instills_404(client, integration_id):
    response = client.get(f"{URL}/{integration_id}")
    assert response.status_code == 404
    assert response.json()["message"] == "Integration does not exist."


def test_filter_by_title_or_vendor(client):
    body = client.get(f'{URL}?filter=qIntegration="open"').json()
    assert body["totalSize"] == 1 and body["integrations"][0]["title"] == "OpenAI"
    assert client.get(f'{URL}?filter=qIntegration="nothing-like-this"').json()["totalSize"] == 0
    bad = client.get(f'{URL}?filter=vendor="x"')
    assert bad.status_code == 400 and "qIntegration" in bad.json()["message"]
