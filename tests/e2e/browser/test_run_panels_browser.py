"""The run panels in a real browser, at a desktop (1280x900) and a phone (390x844) size:
the Overview's Run is live (statuses and a streamed answer as they happen, the page's
counters kept true), the Editor's Run runs the draft without saving it, and the run
form marks what it refuses and takes dropped files."""

from __future__ import annotations

import base64
import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.browser.test_pages_browser import GREET_RECIPE, png_bytes

pytestmark = pytest.mark.e2e

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

FILES_RECIPE = """\
version: v1beta
variable:
  photo: {title: Photo, type: image, required: true}
  attachment: {title: Attachment, type: file}
component: {}
output:
  width: {title: Width, value: "${variable.photo:width}"}
"""


@pytest.fixture(params=list(SIZES))
def sized(request, signed_in):
    signed_in.set_viewport_size(SIZES[request.param])
    signed_in.size = request.param
    return signed_in


def _in_view(page, selector: str) -> bool:
    """Whether the element's top edge is inside the viewport."""
    return page.evaluate(
        "(s) => { const r = document.querySelector(s).getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight; }",
        selector,
    )


def _record(page, name: str, selector: str, root: str) -> None:
    """window[name]: every distinct text of `selector` as the page changes under `root`."""
    page.evaluate(
        """([name, selector, root]) => { window[name] = [];
        new MutationObserver(() => {
          const text = document.querySelector(selector)?.textContent;
          const seen = window[name];
          if (text && text !== seen[seen.length - 1]) seen.push(text);
        }).observe(document.querySelector(root), {subtree: true, childList: true, characterData: true, attributes: true}); }""",
        [name, selector, root],
    )


def _api(base_url: str, api_token: str, path: str) -> dict:
    answer = httpx.get(
        f"{base_url}/v1beta/namespaces/admin/pipelines/{path}", headers={"Authorization": f"Bearer {api_token}"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _set_recipe(page, text: str) -> None:
    page.evaluate("(text) => document.querySelector('.CodeMirror').CodeMirror.setValue(text)", text)


# --- Overview -----------------------------------------------------------------------


def test_overview_answer_grows_token_by_token_and_the_page_stays_true(sized, make_pipeline, fake_openai):
    from pipelines.demo import chat_recipe
    from tests.fake_openai import tokens_of

    fake_openai.chunk_delay = 0.15
    page = sized
    page.goto(
        make_pipeline(f"chat-overview-{page.size}", chat_recipe(base_url=fake_openai.base_url, model="fake-llama"))
    )
    expect(page.locator("#run-stats")).to_contain_text("0 runs")
    expect(page.locator("#recent-runs")).to_contain_text("No runs yet")
    _record(page, "answers", "#overview-outputs [data-output=answer] dd", "#overview-run")
    _record(page, "llm", "#overview-components [data-component=llm]", "#overview-run")
    page.get_by_label("Prompt").fill("tell me more")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#overview-status")).to_have_text("Running")
    assert _in_view(page, "#overview-run")  # the result is brought into view (below the form on a phone)
    answer = "You said: tell me more"
    expect(page.locator("#overview-outputs [data-output=answer]")).to_contain_text(answer, timeout=20_000)
    expect(page.locator("#overview-status")).to_have_text("Completed")
    # Titles, not keys; and the run's page.
    expect(page.locator("#overview-outputs [data-output=answer] dt")).to_have_text("Answer")
    expect(page.locator("#overview-run-link")).to_have_attribute(
        "href", re.compile(r"/admin/pipelines/chat-overview-.*/runs/.+/")
    )
    seen = page.evaluate("window.answers")
    tokens = tokens_of(answer)
    assert len(seen) >= len(tokens) - 1, seen  # one rendering per token (the first may coalesce)
    assert all(answer.startswith(text) for text in seen) and seen[-1] == answer
    statuses = [text.split("llm")[-1].strip() for text in page.evaluate("window.llm")]
    assert statuses[0].startswith("Pending") and any(s.startswith("Running") for s in statuses), statuses
    assert statuses[-1].startswith("Completed"), statuses
    # The page is not stale: the run count and Recent runs follow.
    expect(page.locator("#run-stats")).to_contain_text("1 run")
    expect(page.locator("#recent-runs li")).to_have_count(1)
    expect(page.locator("#recent-runs li .badge").first).to_have_text("Completed")


def test_overview_refused_run_clears_the_result_and_marks_the_field(sized, make_pipeline):
    page = sized
    page.goto(make_pipeline(f"greet-refused-{page.size}", GREET_RECIPE))
    prompt = page.get_by_label("Prompt")
    prompt.fill("first")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#overview-outputs [data-output=answer]")).to_contain_text("Hi first")
    expect(page.locator("#overview-status")).to_have_text("Completed")
    prompt.fill("")
    page.get_by_role("button", name="Run").click()
    # Nothing of the earlier run stays; the field says what is wrong, and has the focus.
    expect(page.locator("#overview-run")).to_be_hidden()
    expect(page.locator("[data-output=answer]")).to_have_count(0)
    expect(page.locator("#run-result")).to_contain_text("Fix the highlighted field and run again.")
    expect(prompt).to_have_attribute("aria-invalid", "true")
    expect(prompt).to_be_focused()
    expect(page.locator("#errors-v-prompt")).to_have_text("Prompt is required.")
    border = prompt.evaluate("(el) => getComputedStyle(el).borderTopWidth")
    assert border == "2px"
    below = page.evaluate(
        "() => document.getElementById('errors-v-prompt').getBoundingClientRect().top >= document.getElementById('id_v-prompt').getBoundingClientRect().bottom"
    )
    assert below  # the message is under the field
    # Typing clears the mark; a good run shows its result again.
    prompt.fill("again")
    expect(prompt).not_to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#overview-outputs [data-output=answer]")).to_contain_text("Hi again")


def test_a_file_dropped_on_a_picker_is_taken_and_its_size_shown(sized, make_pipeline):
    page = sized
    page.goto(make_pipeline(f"drop-files-{page.size}", FILES_RECIPE))
    drop = """([selector, name, type, b64]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], name, { type }));
        const zone = document.querySelector(selector);
        zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
        zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
    }"""
    png = base64.b64encode(png_bytes(40, 30)).decode()
    page.evaluate(drop, ["[data-field=v-photo] .file-picker", "dot.png", "image/png", png])
    expect(page.locator("#preview-v-photo img")).to_be_visible()
    assert page.locator("#id_v-photo").evaluate("(el) => el.files[0].name") == "dot.png"
    page.evaluate(
        drop,
        ["[data-field=v-attachment] .file-picker", "notes.txt", "text/plain", base64.b64encode(b"x" * 62).decode()],
    )
    expect(page.locator("#preview-v-attachment .file-chip")).to_have_text("notes.txt (62 bytes)")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#overview-outputs [data-output=width]")).to_contain_text("40", timeout=15_000)


# --- Editor -------------------------------------------------------------------------


def test_editor_run_runs_the_draft_without_saving_it(sized, make_pipeline, base_url, api_token):
    page = sized
    pipeline_id = f"greet-draft-{page.size}"
    page.goto(make_pipeline(pipeline_id, GREET_RECIPE) + "editor")
    _set_recipe(page, GREET_RECIPE.replace('"Hi ', '"Howdy '))
    expect(page.locator("#save-state")).to_have_text("Unsaved changes")
    page.get_by_label("Prompt").fill("draft")
    run_button = page.get_by_role("button", name="Run", exact=True)
    run_button.click()
    expect(page.locator("#live-run")).to_be_visible()
    assert _in_view(page, "#live-run")  # brought into view: on a phone it starts below the fold
    # Focus does not fall to <body> while the run goes on.
    assert page.evaluate("document.activeElement !== document.body")
    expect(page.locator("#live-outputs [data-output=answer]")).to_contain_text("Howdy draft", timeout=15_000)
    expect(page.locator("#live-status")).to_have_text("Completed")
    expect(page.locator("#live-run [data-run-draft]")).to_be_visible()
    expect(page.locator("#live-outputs [data-output=answer] dt")).to_have_text("Answer")
    expect(page.locator("#live-status")).to_have_text("Completed", timeout=20_000)
    assert page.evaluate("document.activeElement !== document.body")
    # Nothing was saved: the API serves the recipe as it was, and the marker stays.
    expect(page.locator("#save-state")).to_have_text("Unsaved changes")
    assert _api(base_url, api_token, f"{pipeline_id}?view=VIEW_RECIPE")["pipeline"]["rawRecipe"] == GREET_RECIPE
    [run] = _api(base_url, api_token, f"{pipeline_id}/runs")["pipelineRuns"]
    assert run["draft"] is True and "Howdy" in str(run["recipeSnapshot"])
    # The history says it was a draft run.
    page.get_by_role("link", name="View run").click()
    expect(page.locator(".result-head .badge-draft")).to_have_text("draft")
    expect(page.locator("[data-output=answer] dt")).to_have_text("Answer")
    page.goto(f"/admin/pipelines/{pipeline_id}/runs/")
    expect(page.locator("#run-table tbody tr").first.locator(".badge-draft")).to_be_visible()


def test_editor_run_of_an_invalid_recipe_shows_its_problems(sized, make_pipeline):
    page = sized
    page.goto(make_pipeline(f"greet-broken-{page.size}", GREET_RECIPE) + "editor")
    _set_recipe(page, GREET_RECIPE.replace("${variable.prompt}", "${variable.nope}"))
    page.get_by_label("Prompt").fill("x")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#live-error")).to_have_text("Not run: the recipe has 1 problem. Fix it first.")
    expect(page.locator("#live-problems li")).to_have_count(1)
    expect(page.locator("#live-problems li")).to_contain_text("nope")
    assert _in_view(page, "#live-run")
    # A problem's line takes the cursor there.
    page.locator("#live-problems").get_by_role("button", name=re.compile(r"^Line \d+$")).click()
    line = page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getCursor().line")
    assert "json-value" in GREET_RECIPE.splitlines()[line]
    # No "View run" to nowhere, no empty headings, no status of a run that never was.
    expect(page.locator("#live-run-link")).to_be_hidden()
    expect(page.locator("#live-run [data-run-body]")).to_be_hidden()
    expect(page.locator("#live-status")).to_be_hidden()


def test_editor_run_form_marks_the_refused_field(sized, make_pipeline):
    page = sized
    page.goto(make_pipeline(f"greet-empty-{page.size}", GREET_RECIPE) + "editor")
    page.get_by_role("button", name="Run", exact=True).click()
    prompt = page.get_by_label("Prompt")
    expect(prompt).to_have_attribute("aria-invalid", "true")
    expect(prompt).to_be_focused()
    expect(page.locator("#errors-v-prompt")).to_have_text("Prompt is required.")
    expect(page.locator("#live-run")).to_be_hidden()


JSON_RECIPE = """\
version: v1beta
variable:
  data: {title: Data, type: json}
component: {}
output:
  data: {title: Data, value: "${variable.data}"}
"""


def test_bad_json_is_reported_once(sized, make_pipeline):
    page = sized
    page.goto(make_pipeline(f"json-once-{page.size}", JSON_RECIPE))
    data = page.get_by_label("Data")
    data.fill("{nope")
    expect(page.locator("#id_v-data_jsonstate")).to_contain_text("Not valid JSON")  # the browser's check as you type
    page.get_by_role("button", name="Run").click()
    field = page.locator("[data-field=v-data]")
    expect(field.locator(".field-errors .error")).to_have_count(1)
    expect(field.locator(".field-errors")).to_contain_text("This is not valid JSON")
    expect(page.locator("#id_v-data_jsonstate")).to_be_empty()  # ... gives way to the server's answer
    assert field.inner_text().count("not valid JSON") == 1
    expect(data).to_be_focused()


def test_the_editor_run_form_follows_the_draft(signed_in, make_pipeline):
    """A variable added in the draft gets its field (what was typed stays) and the run uses it."""
    page = signed_in
    page.goto(make_pipeline("greet-follow", GREET_RECIPE) + "editor")
    page.get_by_label("Prompt").fill("kept")
    draft = GREET_RECIPE.replace(
        "variable:\n", "variable:\n  tone: {title: Tone, type: string, default: warmly}\n", 1
    ).replace("output:\n", 'output:\n  tone: {title: Tone, value: "${variable.tone}"}\n', 1)
    _set_recipe(page, draft)
    expect(page.get_by_label("Tone")).to_have_value("warmly")
    expect(page.get_by_label("Prompt")).to_have_value("kept")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#live-outputs [data-output=answer]")).to_contain_text("Hi kept", timeout=15_000)
    expect(page.locator("#live-outputs [data-output=tone]")).to_contain_text("warmly")
