"""``/validate`` through the API: errors (with a did-you-mean and their line) and
warnings apart; warnings leave the recipe valid and savable."""

from __future__ import annotations

from tests.conftest import HELLO_RECIPE

NS = "/v1beta/namespaces/alice/pipelines"


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_validate_separates_errors_from_warnings(api, hello):
    draft = "colour: blue\n" + HELLO_RECIPE.replace("jq-filter:", "jq-fliter:")
    answer = api.post(f"{NS}/hello/validate", {"rawRecipe": draft}).json()
    assert answer["success"] is False
    [error] = answer["errors"]
    assert error["location"] == "component.greet.input.jq-fliter"
    assert error["error"].endswith("did you mean `jq-filter`?")
    assert error["severity"] == "error" and error["line"] == _line(draft, "jq-fliter")
    [warning] = answer["warnings"]
    assert warning == {"location": "colour", "error": warning["error"], "severity": "warning", "line": 1}
    assert "unknown top-level key" in warning["error"]


def test_a_recipe_with_only_warnings_is_valid_and_saves(api, hello):
    draft = "colour: blue\n" + HELLO_RECIPE
    answer = api.post(f"{NS}/hello/validate", {"rawRecipe": draft}).json()
    assert answer["success"] is True and answer["errors"] == [] and len(answer["warnings"]) == 1
    response = api.patch(f"{NS}/hello", {"rawRecipe": draft})
    assert response.status_code == 200 and response.json()["pipeline"]["rawRecipe"] == draft


def test_a_refused_save_lists_the_errors_only(api, hello):
    draft = "colour: blue\n" + HELLO_RECIPE.replace("jq-filter:", "jq-fliter:")
    response = api.patch(f"{NS}/hello", {"rawRecipe": draft})
    assert response.status_code == 400
    body = str(response.json())
    assert "did you mean `jq-filter`?" in body and "colour" not in body
    assert api.get(f"{NS}/hello?view=VIEW_RECIPE").json()["pipeline"]["rawRecipe"] == HELLO_RECIPE


def test_an_unclosed_quote_points_at_its_line(api, hello):
    draft = HELLO_RECIPE.replace("title: Answer", 'title: "Answer')
    [error] = api.post(f"{NS}/hello/validate", {"rawRecipe": draft}).json()["errors"]
    assert error["line"] == _line(draft, '"Answer') and "never closed" in error["error"]
