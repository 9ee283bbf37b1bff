"""Completion and help in the Editor (static/pipelines/editor.js) in Chromium, at 1280x900
and 390x844: the component types, a component's tasks and a task's input names come from
the catalog the API serves (GET /v1beta/component-definitions), chosen with the keyboard
alone; the help under the editor describes the component, task and input at the cursor.

The tests wait on what the page shows, never on time: the editor's wrapper says
data-catalog="loaded" once the catalog is in, and a list that a request would open is
opened before that attribute is set, so "no list" is checked after it.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}

CM = "document.querySelector('.CodeMirror').CodeMirror"
RECIPE = "variable:\n  q: {title: Q, format: string}\ncomponent:\n"


def cursor_line(page) -> str:
    return page.evaluate(f"() => {{ const cm = {CM}; return cm.getLine(cm.getCursor().line); }}")


def open_editor(page, make_pipeline, size: str, name: str, recipe: str = RECIPE):
    """The Editor of a new pipeline at ``size``; the catalog's requests are counted in
    ``page.catalog_requests``."""
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    requests: list[str] = []
    page.on("request", lambda r: "/v1beta/component-definitions" in r.url and requests.append(r.url))
    page.goto(make_pipeline(f"{name}-{size}", recipe) + "editor")
    page.locator(".CodeMirror").wait_for()
    return requests


def put_cursor_at_new_component(page) -> None:
    page.evaluate(
        f"() => {{ const cm = {CM}; cm.setValue(cm.getValue() + '  ask:\\n    ');"
        " cm.setCursor(cm.lineCount() - 1, 4); cm.focus(); }"
    )


def hold_catalog(page) -> list:
    """The catalog's requests wait (in the returned list) until :func:`release`."""
    held: list = []
    page.route("**/v1beta/component-definitions*", lambda route: held.append(route))
    return held


def release(page, held: list) -> None:
    """Let the held catalog request through (Playwright hands it to the route handler
    while the page is being driven, so it may need a moment to arrive)."""
    for _ in range(200):
        if held:
            held.pop().continue_()
            return
        page.wait_for_timeout(50)
    raise AssertionError("the editor never asked for the catalog")


def count_lists_opened(page) -> None:
    page.evaluate(f"() => {{ window.listsOpened = 0; {CM}.on('startCompletion', () => (window.listsOpened += 1)); }}")


@pytest.mark.parametrize("size", list(SIZES))
def test_completion_offers_types_tasks_and_input_names_from_the_catalog(signed_in, make_pipeline, size):
    page = signed_in
    requests = open_editor(page, make_pipeline, size, "completion")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    wrapper = page.locator(".CodeMirror")
    put_cursor_at_new_component(page)
    expect(wrapper).to_have_attribute("data-catalog", "loaded", timeout=30_000)
    hints = page.locator(".CodeMirror-hints")

    page.keyboard.type("type: ")
    expect(hints).to_be_visible()
    for component in ("openai", "anthropic", "json"):
        expect(hints.locator("li", has_text=component).first).to_be_visible()
    page.keyboard.type("opena")
    expect(hints.locator("li")).to_have_count(1)
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
    expect(wrapper).not_to_have_class(re.compile("cm-leaving"))
    page.keyboard.press("Control+Space")
    expect(hints).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    assert cursor_line(page) == "      prompt: "
    page.keyboard.press("Escape")
    expect(wrapper).to_have_class(re.compile("cm-leaving"))
    # One load of the catalog served every list.
    assert len(requests) == 1, requests
    assert errors == []


# In one task of the page: a letter typed into the open list, then a key before the next
# animation frame, when show-hint redraws the list (and until then has set its keys aside).
KEY_BEFORE_REDRAW = f"""([letter, key, keyCode]) => {{
  const cm = {CM};
  cm.replaceRange(letter, cm.getCursor(), null, "+input");
  cm.triggerOnKeyDown({{ type: "keydown", key, keyCode, preventDefault() {{ this.defaultPrevented = true; }} }});
  return {{ open: !!cm.state.completionActive, line: cm.getLine(cm.getCursor().line) }};
}}"""


@pytest.mark.parametrize("size", list(SIZES))
def test_list_keys_act_on_the_list_before_it_redraws(signed_in, make_pipeline, size):
    """On a busy machine the next key can come before the list redraws after a letter:
    Escape still closes the list only, and an arrow still moves in the list."""
    page = signed_in
    open_editor(page, make_pipeline, size, "completion-redraw")
    wrapper = page.locator(".CodeMirror")
    hints = page.locator(".CodeMirror-hints")
    put_cursor_at_new_component(page)
    expect(wrapper).to_have_attribute("data-catalog", "loaded", timeout=30_000)
    page.keyboard.type("type: op")
    expect(hints.locator("li", has_text="openai")).to_be_visible()

    state = page.evaluate(KEY_BEFORE_REDRAW, ["e", "Escape", 27])
    assert state == {"open": False, "line": "    type: ope"}
    expect(hints).to_have_count(0)
    expect(wrapper).not_to_have_class(re.compile("cm-leaving"))

    for _ in "ope":
        page.keyboard.press("Backspace")
    page.keyboard.press("Control+Space")  # every component
    expect(hints.locator("li").first).to_have_class(re.compile("CodeMirror-hint-active"))
    state = page.evaluate(KEY_BEFORE_REDRAW, ["o", "ArrowDown", 40])  # ollama, openai, ...
    assert state == {"open": True, "line": "    type: o"}
    expect(hints.locator("li").nth(1)).to_have_class(re.compile("CodeMirror-hint-active"))
    assert all(text.startswith("o") for text in hints.locator("li").all_inner_texts())


# Keys typed while the catalog is held back, the key pressed after them, and how many
# lists open once the catalog comes.
WHILE_LOADING = {
    "escape": ("type: ", "Escape", 0),
    "arrow-key": ("type: op", "ArrowLeft", 0),
    "newest": ("type: op", None, 1),
}


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("case", list(WHILE_LOADING))
def test_while_the_catalog_loads_only_the_newest_untouched_request_opens(signed_in, make_pipeline, size, case):
    """Each key typed asks for a list ("type: op" asks four times) while the catalog is
    held back: once it comes, only the newest request opens, once, and none does when a
    key (Escape, an arrow) was pressed after it."""
    typed, then, opened = WHILE_LOADING[case]
    page = signed_in
    held = hold_catalog(page)
    requests = open_editor(page, make_pipeline, size, f"completion-{case}")
    wrapper = page.locator(".CodeMirror")
    hints = page.locator(".CodeMirror-hints")
    count_lists_opened(page)
    put_cursor_at_new_component(page)
    expect(wrapper).to_have_attribute("data-catalog", "loading")
    page.keyboard.type(typed)
    if then:
        page.keyboard.press(then)
    release(page, held)
    expect(wrapper).to_have_attribute("data-catalog", "loaded", timeout=30_000)
    assert page.evaluate("() => window.listsOpened") == opened
    if opened:
        expect(hints.locator("li")).to_have_count(1)
        expect(hints.locator("li")).to_contain_text("openai")
    else:
        expect(hints).to_have_count(0)
        # Asked for again, a list opens at once from the loaded catalog.
        page.keyboard.press("Control+Space")
        expect(hints.locator("li", has_text="openai")).to_be_visible()
    page.keyboard.press("Escape")
    expect(hints).to_have_count(0)
    assert len(requests) == 1, requests


HELP_RECIPE = """variable:
  q: {title: Q, format: string}
component:
  ask:
    type: openai
    task: TASK_TEXT_GENERATION
    input:
      model: gpt-4o-mini
      prompt: ${variable.q}
  pick:
    type: json
    task: TASK_JQ
    input:
      json-value: ${ask.output.texts}
      jq-filter: .
output:
  answer: {title: Answer, value: "${ask.output.texts}"}
"""


@pytest.mark.parametrize("size", list(SIZES))
def test_help_describes_the_component_task_and_input_at_the_cursor(signed_in, make_pipeline, size):
    page = signed_in
    open_editor(page, make_pipeline, size, "completion-help", HELP_RECIPE)
    help_ = page.locator("#component-help")
    expect(help_).to_contain_text("Put the cursor in a component")

    def cursor_to(line: int, ch: int = 8) -> None:
        page.evaluate(f"() => {{ const cm = {CM}; cm.focus(); cm.setCursor({line}, {ch}); }}")

    cursor_to(8)  # on `prompt:` inside openai's input
    expect(page.locator(".CodeMirror")).to_have_attribute("data-catalog", "loaded", timeout=30_000)
    expect(help_.locator("h3")).to_contain_text("OpenAI")
    expect(help_.locator("h3")).to_contain_text("openai")
    expect(help_).to_contain_text("OpenAI-compatible server")  # the catalog's description
    expect(help_).to_contain_text("TASK_TEXT_GENERATION")
    expect(help_).to_contain_text("Provide text outputs")  # the task's description
    prompt = help_.locator("li[data-input=prompt]")
    expect(prompt).to_contain_text("string")
    expect(prompt).to_contain_text("required")
    expect(prompt).to_contain_text("The prompt text.")
    expect(prompt).to_have_attribute("aria-current", "true")
    temperature = help_.locator("li[data-input=temperature]")
    expect(temperature).to_contain_text("number")
    expect(temperature).not_to_contain_text("required")
    expect(help_.locator("li[data-input=images]")).to_contain_text("array")

    cursor_to(10, 6)  # on json's `type:` line: its task's inputs, none current
    expect(help_.locator("h3")).to_contain_text("JSON")
    expect(help_.locator("li[data-input=jq-filter]")).to_contain_text("required")
    expect(help_.locator("[aria-current]")).to_have_count(0)
    # Without its task line, the help lists the component's tasks.
    page.evaluate(f"() => {{ const cm = {CM}; cm.replaceRange('', {{line: 11, ch: 0}}, {{line: 12, ch: 0}}); }}")
    cursor_to(10, 6)
    expect(help_.locator("li", has_text="TASK_MARSHAL")).to_be_visible()
    expect(help_.locator("li", has_text="TASK_JQ")).to_be_visible()
    expect(help_.locator("li[data-input]")).to_have_count(0)

    cursor_to(14, 4)  # the output block (once the task line is gone): no component
    expect(help_).to_contain_text("Put the cursor in a component")
    # The help wraps inside the page: nothing scrolls sideways.
    help_.scroll_into_view_if_needed()
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
