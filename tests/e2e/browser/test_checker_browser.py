"""The Editor's checker in a real browser: a misspelled input is an error with a
did-you-mean on its own line; an unknown top-level key is a warning that does not
stop Save."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import HELLO_RECIPE
from tests.e2e.browser.conftest import OUTPUT

pytestmark = pytest.mark.e2e

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _editor(page, overview: str, viewport: str):
    """The Editor of a pipeline at ``viewport``, once it has said the recipe is valid."""
    page.set_viewport_size(VIEWPORTS[viewport])
    page.goto(overview + "editor")
    expect(page.locator("#validity")).to_have_text("Valid")
    return page


def _type_at(page, line_text: str, keys: list[str], text: str) -> None:
    """Click the editor line holding ``line_text``, press ``keys``, then type ``text``."""
    page.locator(".CodeMirror-line", has_text=line_text).click()
    for key in keys:
        page.keyboard.press(key)
    page.keyboard.type(text)


def _line_with(page, text: str):
    """The editor's whole line (gutter markers included) whose code contains ``text``."""
    return page.locator(".CodeMirror-code > div").filter(has=page.locator(".CodeMirror-line", has_text=text))


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_misspelled_input_shows_its_error_with_a_suggestion_on_its_line(signed_in, make_pipeline, viewport):
    page = _editor(signed_in, make_pipeline(f"typo-{viewport}", HELLO_RECIPE), viewport)
    # jq-filter → jq-fliter, typed as a user would.
    _type_at(page, "jq-filter", ["Home", *["ArrowRight"] * 4, "Delete", "Delete"], "li")
    expect(page.locator("#validity")).to_have_text("1 problem")
    problem = page.locator("#problems li")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("TASK_JQ has no input `jq-fliter`; did you mean `jq-filter`?")
    expect(problem).not_to_have_class("problem-warning")
    number = HELLO_RECIPE.splitlines().index("      jq-filter: '\"Hello \\(.)\"'") + 1
    expect(problem.get_by_role("button")).to_have_text(f"Line {number}")
    # The gutter marks that line, and only it.
    expect(page.locator(".CodeMirror-lint-marker-error")).to_have_count(1)
    expect(_line_with(page, "jq-fliter").locator(".CodeMirror-lint-marker-error")).to_have_count(1)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-state")).to_contain_text("Not saved")
    page.screenshot(path=str(_artifact(f"checker-typo-{viewport}.png")), full_page=True)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_an_unknown_top_level_key_is_a_warning_and_save_still_works(signed_in, make_pipeline, viewport):
    page = _editor(signed_in, make_pipeline(f"colour-{viewport}", HELLO_RECIPE), viewport)
    _type_at(page, "version: v1beta", ["End", "Enter"], "colour: blue")
    expect(page.locator("#validity")).to_have_text("Valid · 1 warning")
    warning = page.locator("#problems li")
    expect(warning).to_have_count(1)
    expect(warning).to_have_class("problem-warning")
    expect(warning).to_contain_text("Warning")
    expect(warning).to_contain_text("unknown top-level key, ignored: `colour`")
    expect(warning.get_by_role("button")).to_have_text("Line 2")
    expect(page.locator(".CodeMirror-lint-marker-error")).to_have_count(0)
    expect(_line_with(page, "colour: blue").locator(".CodeMirror-lint-marker-warning")).to_have_count(1)
    page.keyboard.press("Control+s")
    expect(page.locator("#save-state")).to_have_text("Saved")
    page.reload()
    expect(page.locator(".CodeMirror-line", has_text="colour: blue")).to_be_visible()
    expect(page.locator("#validity")).to_have_text("Valid · 1 warning")
    page.screenshot(path=str(_artifact(f"checker-warning-{viewport}.png")), full_page=True)


def _artifact(name: str):
    folder = OUTPUT / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name
