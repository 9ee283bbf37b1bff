"""Completion in the Editor (static/pipelines/editor.js) in Chromium at 1280x900: the
component types, a component's tasks and a task's input names come from the catalog the
API serves (GET /v1beta/component-definitions), chosen with the keyboard alone."""

from __future__ import annotations

import re

from playwright.sync_api import expect

CURSOR_LINE = (
    "() => { const cm = document.querySelector('.CodeMirror').CodeMirror; return cm.getLine(cm.getCursor().line); }"
)


def cursor_line(page) -> str:
    return page.evaluate(CURSOR_LINE)


RECIPE = "variable:\n  q: {title: Q, format: string}\ncomponent:\n"


def test_completion_offers_types_tasks_and_input_names_from_the_catalog(signed_in, make_pipeline):
    page = signed_in
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(make_pipeline("completion", RECIPE) + "editor")
    page.locator(".CodeMirror").click()
    page.evaluate(
        "() => { const cm = document.querySelector('.CodeMirror').CodeMirror;"
        " cm.setValue(cm.getValue() + '  ask:\\n    '); cm.setCursor(cm.lineCount() - 1, 4); cm.focus(); }"
    )
    hints = page.locator(".CodeMirror-hints")

    page.keyboard.type("type: ")
    expect(hints).to_be_visible()
    for component in ("openai", "anthropic", "json"):
        expect(hints.locator("li", has_text=component).first).to_be_visible()
    page.keyboard.type("opena")
    expect(hints.locator("li")).to_have_count(1)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.keyboard.press("Enter")
    expect(hints).to_have_count(0)
    assert cursor_line(page) == "    type: openai"

    page.keyboard.press("Enter")
    page.keyboard.type("task: ")
    expect(hints.locator("li", has_text="TASK_TEXT_EMBEDDINGS")).to_be_visible()
    expect(hints.locator("li", has_text="TASK_TEXT_GENERATION")).to_contain_text("Provide text outputs")
    page.keyboard.type("TASK_TEXT_G")
    expect(hints.locator("li")).to_have_count(1)
    page.keyboard.press("Enter")
    assert cursor_line(page) == "    task: TASK_TEXT_GENERATION"

    page.keyboard.press("Enter")
    page.keyboard.type("input:")
    page.keyboard.press("Enter")
    page.keyboard.type("  pr")
    expect(hints.locator("li", has_text="prompt").first).to_be_visible()
    # Escape closes the list only; the next Escape arms "Tab leaves the editor".
    page.keyboard.press("Escape")
    expect(hints).to_have_count(0)
    expect(page.locator(".CodeMirror")).not_to_have_class("cm-leaving")
    page.keyboard.press("Control+Space")
    expect(hints).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    assert cursor_line(page) == "      prompt: "
    page.keyboard.press("Escape")
    expect(page.locator(".CodeMirror")).to_have_class(re.compile("cm-leaving"))
    assert errors == []
