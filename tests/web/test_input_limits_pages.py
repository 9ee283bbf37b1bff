"""Limits at the door on the web pages: the editor refuses a YAML alias bomb, the run
form refuses JSON nested too deep — each with a message, never a 500."""

from __future__ import annotations

import pytest

from tests.engine.test_input_limits import alias_bomb

pytestmark = pytest.mark.django_db

JSON_RECIPE = """\
variable:
  j: {type: json}
component:
  echo:
    type: json
    task: TASK_JQ
    input: {json-value: "${variable.j}", jq-filter: "."}
output:
  out: {value: "${echo.output.results[0]}"}
"""


def test_editor_refuses_an_alias_bomb_naming_the_limit(alice_client, hello):
    """Validate lists the limit as the recipe's problem; save refuses and keeps the recipe."""
    bomb = alias_bomb(9)
    answer = alice_client.post("/alice/pipelines/hello/editor/validate", {"rawRecipe": bomb}).json()
    assert any("PIPELINE_MAX_RECIPE_BYTES" in p["error"] for p in answer["problems"])
    response = alice_client.post("/alice/pipelines/hello/editor/save", {"rawRecipe": bomb})
    assert response.status_code == 400 and response.json()["saved"] is False
    before = hello.raw_recipe
    hello.refresh_from_db()
    assert hello.raw_recipe == before


def test_run_form_refuses_json_nested_too_deep(alice, alice_client, make_pipeline):
    """A JSON variable typed 100,000 levels deep is a form error naming the limit."""
    make_pipeline(alice, "j", raw_recipe=JSON_RECIPE)
    response = alice_client.post(
        "/alice/pipelines/j/run", {"v-j": "[" * 100_000 + "]" * 100_000}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code < 500
    assert "PIPELINE_MAX_JSON_DEPTH" in response.content.decode()
