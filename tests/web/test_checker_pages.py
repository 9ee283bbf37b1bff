"""The Editor's check: warnings beside errors, in the as-you-type answer and the page."""

from __future__ import annotations

import pytest

from tests.conftest import HELLO_RECIPE

pytestmark = pytest.mark.django_db

WARNED = "colour: blue\n" + HELLO_RECIPE


def test_validate_answers_warnings_as_problems_marked_warning(alice_client, hello):
    answer = alice_client.post("/alice/pipelines/hello/editor/validate", {"rawRecipe": WARNED}).json()
    assert answer["valid"] is True and any(node["kind"] == "component" for node in answer["graph"]["nodes"])
    [warning] = answer["problems"]
    assert warning["severity"] == "warning" and warning["location"] == "colour" and warning["line"] == 1


def test_save_keeps_a_recipe_with_warnings_and_the_page_says_so(alice_client, hello):
    saved = alice_client.post("/alice/pipelines/hello/editor/save", {"rawRecipe": WARNED}).json()
    assert saved["saved"] is True and [p["severity"] for p in saved["problems"]] == ["warning"]
    page = alice_client.get("/alice/pipelines/hello/editor").content.decode()
    assert "Valid · 1 warning" in page and 'class="problem-warning"' in page


def test_validate_puts_a_misspelled_input_on_its_line(alice_client, hello):
    draft = HELLO_RECIPE.replace("jq-filter:", "jq-fliter:")
    answer = alice_client.post("/alice/pipelines/hello/editor/validate", {"rawRecipe": draft}).json()
    assert answer["valid"] is False
    [error] = answer["problems"]
    assert error["severity"] == "error" and "did you mean `jq-filter`?" in error["error"]
    assert draft.splitlines()[error["line"] - 1].strip().startswith("jq-fliter")
