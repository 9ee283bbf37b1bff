"""Platform keys through the API: an Instill recipe saved byte-for-byte runs on the
server's PIPELINE_OPENAI_API_KEY / PIPELINE_OPENAI_BASE_URL (a real local
OpenAI-compatible server, tests/fake_openai.py); without the key the component fails
with a message naming the setting; the key shows in no answer."""

from __future__ import annotations

import pytest

from tests.components.test_platform_keys import INSTILL_RECIPE, NO_SETUP_RECIPE

pytestmark = pytest.mark.django_db(transaction=True)

NS = "/v1beta/namespaces/alice/pipelines"
KEY = "sk-server-key-0123456789"
ROW = {"data": [{"variable": {"prompt": "hello there"}}]}


def trigger(api, pipeline_id: str) -> dict:
    response = api.post(f"{NS}/{pipeline_id}/trigger", ROW, HTTP_INSTILL_RETURN_TRACES="true")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("recipe", [INSTILL_RECIPE, NO_SETUP_RECIPE], ids=["instill-secret", "no-setup"])
def test_saved_instill_recipe_runs_on_the_server_key(api, alice, fake_openai, settings, recipe):
    settings.PIPELINE_OPENAI_API_KEY = KEY
    settings.PIPELINE_OPENAI_BASE_URL = fake_openai.base_url
    fake_openai.require_key(KEY)
    assert api.post(NS, {"id": "instill", "rawRecipe": recipe}).status_code == 201
    body = trigger(api, "instill")
    assert body["outputs"] == [{"answer": "You said: hello there"}]
    assert fake_openai.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"
    for answer in (body, api.get(f"{NS}/instill/runs").json(), api.get(f"{NS}/instill").json()):
        assert KEY not in str(answer)


def test_without_the_setting_the_component_error_names_it(api, alice, fake_openai, settings):
    settings.PIPELINE_OPENAI_API_KEY = ""  # whatever the environment running the tests says
    settings.PIPELINE_OPENAI_BASE_URL = fake_openai.base_url
    assert api.post(NS, {"id": "instill", "rawRecipe": INSTILL_RECIPE}).status_code == 201
    trace = trigger(api, "instill")["metadata"]["traces"]["openai-0"]
    assert trace["statuses"] == ["STATUS_ERROR"]
    assert "PIPELINE_OPENAI_API_KEY" in trace["error"]["message"]
    assert fake_openai.requests == []


def test_the_platform_secret_outside_an_ai_setup_is_refused_at_save(api, alice):
    misplaced = INSTILL_RECIPE.replace("prompt: ${variable.prompt}", "prompt: ${secret.INSTILL_SECRET}")
    response = api.post(NS, {"id": "misplaced", "rawRecipe": misplaced})
    assert response.status_code == 400
    violation = response.json()["details"][0]["fieldViolations"][0]
    assert violation["field"] == "component.openai-0.input.prompt"
    assert "only be used in the setup" in violation["description"]
    on_http = """
component:
  call:
    type: http
    task: TASK_GET
    input: {endpoint-url: "https://api.example.com"}
    setup: {authentication: {auth-type: BEARER_TOKEN, token: "${secret.INSTILL_SECRET}"}}
"""
    response = api.post(NS, {"id": "http-key", "rawRecipe": on_http})
    assert response.status_code == 400
    assert '"http" takes no such key' in response.json()["message"]
