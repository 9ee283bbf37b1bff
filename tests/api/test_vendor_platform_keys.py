"""Platform keys of the AI vendor components through the API: Instill's groq README
recipe, saved byte-for-byte, runs on PIPELINE_GROQ_API_KEY / PIPELINE_GROQ_BASE_URL
(a local server speaking Groq's API, tests/fake_vendors.py) and the key shows in no
answer; without PIPELINE_ANTHROPIC_API_KEY the anthropic component's error names it."""

from __future__ import annotations

import pytest

from tests.components.test_anthropic_component import README_RECIPE as ANTHROPIC_README_RECIPE
from tests.components.test_groq_component import README_RECIPE as GROQ_README_RECIPE
from tests.fake_vendors import fixtures, start_groq

pytestmark = pytest.mark.django_db(transaction=True)

NS = "/v1beta/namespaces/alice/pipelines"
KEY = "gsk_server_key_0123456789"
_server, fake = fixtures(start_groq)


def test_groq_readme_recipe_runs_on_the_server_key(api, alice, fake, settings):
    settings.PIPELINE_GROQ_API_KEY = KEY
    settings.PIPELINE_GROQ_BASE_URL = fake.base_url
    assert api.post(NS, {"id": "star", "rawRecipe": GROQ_README_RECIPE}).status_code == 201
    response = api.post(f"{NS}/star/trigger", {"data": [{"variable": {"experience": "Shipped v2."}}]})
    assert response.status_code == 200, response.content
    prompt = "Rewrite this experience using the STAR (Situation, Task, Action, Result) method for a resume or CV:\n\nShipped v2."
    assert response.json()["outputs"] == [{"resume_format": f"You said: {prompt}"}]
    assert fake.requests[0].headers["authorization"] == f"Bearer {KEY}"
    for answer in (response.json(), api.get(f"{NS}/star/runs").json()):
        assert KEY not in str(answer)


def test_anthropic_without_the_setting_fails_naming_it(api, alice, settings):
    settings.PIPELINE_ANTHROPIC_API_KEY = ""
    recipe = ANTHROPIC_README_RECIPE[: ANTHROPIC_README_RECIPE.index("  github:\n")] + (
        "    setup:\n      api-key: ${secret.INSTILL_SECRET}\n"
    )
    recipe = recipe.replace("${github.output.issues}", "none")
    assert api.post(NS, {"id": "claude", "rawRecipe": recipe}).status_code == 201
    response = api.post(f"{NS}/claude/trigger", {"data": [{}]}, HTTP_INSTILL_RETURN_TRACES="true")
    assert response.status_code == 200, response.content
    trace = response.json()["metadata"]["traces"]["anthropic-0"]
    assert trace["statuses"] == ["STATUS_ERROR"]
    assert "PIPELINE_ANTHROPIC_API_KEY" in trace["error"]["message"]
