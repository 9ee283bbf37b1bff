"""The web UI in a real browser against a real server."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import SLOW_RECIPE
from tests.e2e.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.e2e

IMAGE_RECIPE = """\
version: v1beta
variable:
  photo: {title: Photo, type: image, required: true}
  caption: {title: Caption, type: string, default: a picture}
component: {}
output:
  width: {title: Width, value: "${variable.photo:width}"}
  photo: {title: Photo, value: "${variable.photo}"}
  caption: {title: Caption, value: "${variable.caption}"}
"""


def png_bytes(width: int = 40, height: int = 30) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


GREET_RECIPE = """\
version: v1beta
variable:
  prompt: {title: Prompt, type: string, required: true}
component:
  greet:
    type: json
    task: TASK_JQ
    input:
      json-value: ${variable.prompt}
      jq-filter: '"Hi \\(.)"'
output:
  answer: {title: Answer, value: "${greet.output.results[0]}"}
"""


def test_sign_in_and_create_a_pipeline_from_a_template(page, base_url, api_token):
    """A wrong password is refused; then New pipeline from "hello" opens the editor."""
    httpx.delete(
        f"{base_url}/v1beta/namespaces/admin/pipelines/from-template", headers={"Authorization": f"Bearer {api_token}"}
    )
    page.goto("/")
    page.get_by_role("banner").get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="+ New pipeline").click()
    page.get_by_label("Pipeline id").fill("from-template")
    page.get_by_label("Description").fill("Made in the browser test")
    page.get_by_role("radio", name=re.compile("Hello")).check()
    page.get_by_role("button", name="Create pipeline").click()
    page.wait_for_url("**/admin/pipelines/from-template/editor")
    expect(page.locator(".CodeMirror")).to_contain_text("greet")
    expect(page.locator("#validity")).to_contain_text("Valid")


def test_edit_and_save_with_a_validation_error_that_appears_and_disappears(signed_in, make_pipeline):
    page = signed_in
    page.goto(make_pipeline("edit-me", GREET_RECIPE) + "editor")
    expect(page.locator("#validity")).to_contain_text("Valid")
    line = page.locator(".CodeMirror-line", has_text="json-value")
    # ${variable.prompt} → ${variable.promptx}: a reference to an unknown variable.
    line.click()
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    page.keyboard.type("x")
    expect(page.locator("#validity")).to_contain_text("1 problem")
    expect(page.locator("#problems")).to_contain_text("promptx")
    expect(page.locator(".CodeMirror-lint-marker-error")).to_have_count(1)
    expect(page.locator("#save-state")).to_have_text("Unsaved changes")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-state")).to_contain_text("Not saved")
    line.click()
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Backspace")
    expect(page.locator("#validity")).to_contain_text("Valid")
    expect(page.locator(".CodeMirror-lint-marker-error")).to_have_count(0)
    page.keyboard.press("Control+s")
    expect(page.locator("#save-state")).to_have_text("Saved")
    page.reload()
    expect(line).to_contain_text("${variable.prompt}")


def test_run_from_the_overview_with_a_text_input(signed_in):
    page = signed_in
    page.goto("/admin/pipelines/hello/")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#errors-v-prompt")).to_contain_text("Prompt is required.")
    page.get_by_label("Prompt").fill("browser")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("[data-output=answer]")).to_contain_text("Hello browser")
    expect(page.locator("#errors-v-prompt")).to_be_empty()
    expect(page.locator("#overview-status")).to_have_text("Completed")


def test_run_from_the_overview_with_an_uploaded_image(signed_in, make_pipeline):
    page = signed_in
    page.goto(make_pipeline("photo-width", IMAGE_RECIPE))
    expect(page.get_by_label("Caption")).to_have_value("a picture")  # defaults are pre-filled
    page.get_by_label("Photo").set_input_files(
        {"name": "dot.png", "mimeType": "image/png", "buffer": png_bytes(40, 30)}
    )
    expect(page.locator("#preview-v-photo img")).to_be_visible()
    page.get_by_role("button", name="Run").click()
    expect(page.locator("[data-output=width]")).to_contain_text("40")
    expect(page.locator("[data-output=photo] img")).to_have_attribute("src", re.compile(r"^data:image/png;.*base64,"))
    expect(page.locator("[data-output=caption]")).to_contain_text("a picture")


def test_run_from_the_editor_shows_component_statuses_live(signed_in):
    page = signed_in
    page.goto("/admin/pipelines/chunk-and-jq/editor")
    # Record every status each component shows, in order, as the page changes.
    page.evaluate(
        """() => { window.seen = {};
        new MutationObserver(() => document.querySelectorAll('#live-components [data-component]').forEach((li) => {
          const list = (window.seen[li.dataset.component] ||= []);
          if (list[list.length - 1] !== li.dataset.status) list.push(li.dataset.status);
        })).observe(document.getElementById('live-components'), {subtree: true, childList: true, attributes: true}); }"""
    )
    page.get_by_label("Text").fill("one two three four five six seven")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#live-status")).to_have_text("Completed", timeout=20_000)
    expect(page.locator("#live-components [data-component=split]")).to_have_attribute("data-status", "completed")
    expect(page.locator("#live-components [data-component=total]")).to_have_attribute("data-status", "completed")
    expect(page.locator("#live-outputs [data-output=summary] .json-row", has_text="words")).to_contain_text("7")
    expect(page.locator("#graph [data-component=split]")).to_have_attribute("data-status", "completed")
    seen = page.evaluate("window.seen")
    # Streamed over the websocket, not polled: each status was shown as it happened.
    assert seen["split"][:2] == ["pending", "running"] and seen["split"][-1] == "completed", seen


def test_cancel_a_run_from_the_editor(signed_in, make_pipeline, slow_server, api):
    """Cancel (reached with the keyboard) stops a run waiting on a slow server: the
    button says "Cancelling…", then the run and its unfinished component show as
    Cancelled, and the API agrees."""
    page = signed_in
    page.goto(make_pipeline("slow-cancel", SLOW_RECIPE) + "editor")
    page.evaluate(
        """() => { window.cancelTexts = [];
        new MutationObserver(() => window.cancelTexts.push(document.getElementById('live-cancel').textContent))
          .observe(document.getElementById('live-cancel'), {childList: true, characterData: true, subtree: true}); }"""
    )
    page.locator("#id_v-url").fill(f"{slow_server}/sleep/30")
    page.get_by_role("button", name="Run").click()
    cancel = page.get_by_role("button", name="Cancel run")
    expect(cancel).to_be_visible()
    expect(page.locator("#live-components [data-component=wait]")).to_have_attribute("data-status", "running")
    cancel.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#live-status")).to_have_text("Cancelled", timeout=5_000)
    expect(page.locator("#live-components [data-component=wait]")).to_have_attribute("data-status", "cancelled")
    expect(page.locator("#live-components [data-component=wait] .badge")).to_have_text("Cancelled")
    expect(cancel).to_be_hidden()
    assert "Cancelling…" in page.evaluate("window.cancelTexts")
    run_uid = page.locator("#live-run-link").get_attribute("href").rstrip("/").rsplit("/", 1)[-1]
    runs = api.get("/v1beta/namespaces/admin/pipelines/slow-cancel/runs").json()["pipelineRuns"]
    assert [r["status"] for r in runs if r["pipelineRunUid"] == run_uid] == ["RUN_STATUS_CANCELLED"]


def test_copy_a_run_as_curl_and_run_it(signed_in, api_token):
    page = signed_in
    page.goto("/admin/pipelines/hello/")
    page.get_by_label("Prompt").fill("curl")
    page.get_by_role("button", name="Run").click()
    # The link shows as soon as the run starts; its page shows the outputs once it ended.
    expect(page.locator("#overview-status")).to_have_text("Completed", timeout=20_000)
    page.get_by_role("link", name="View run").click()
    expect(page.locator("[data-output=answer]")).to_contain_text("Hello curl")
    page.get_by_role("button", name="Copy as cURL").click()
    expect(page.get_by_role("button", name="Copied ✓")).to_be_visible()
    command = page.evaluate("navigator.clipboard.readText()")
    assert command.startswith("curl -X POST ")
    done = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "INSTILL_API_TOKEN": api_token},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"] == [{"answer": "Hello curl"}]


def test_create_and_revoke_a_token(signed_in, base_url):
    page = signed_in
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("browser-token")
    page.get_by_label("Expires after").select_option("7")
    page.get_by_role("button", name="Create token").click()
    shown = page.locator("#new-token")
    expect(shown).to_have_value(re.compile(r"^instill_sk_[A-Za-z0-9]{32}$"))
    token = shown.input_value()
    page.get_by_role("button", name="Copy", exact=True).click()
    assert page.evaluate("navigator.clipboard.readText()") == token
    row = page.locator("#token-browser-token")
    expect(row).to_contain_text("instill_sk_****" + token[-4:])
    assert httpx.get(f"{base_url}/v1beta/tokens", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    expect(row).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("revoked")
    assert httpx.get(f"{base_url}/v1beta/tokens", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_browse_runs_and_open_a_run_detail(signed_in):
    page = signed_in
    page.goto("/admin/pipelines/hello/")
    page.get_by_label("Prompt").fill("history")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("[data-output=answer]")).to_contain_text("Hello history")
    page.get_by_role("navigation", name="Pipeline").get_by_role("link", name="Runs").click()
    table = page.locator("#run-table table")
    expect(table).to_be_visible()
    page.get_by_label("Source").select_option("RUN_SOURCE_CONSOLE")
    expect(page).to_have_url(re.compile(r"source=RUN_SOURCE_CONSOLE"))
    expect(table.locator("tbody tr").first).to_contain_text("Web")
    table.locator("tbody tr a").first.click()
    expect(page.get_by_role("heading", name="Components")).to_be_visible()
    expect(page.locator("table").first).to_contain_text("greet")
    expect(page.locator("[data-output=answer]")).to_contain_text("Hello")
    # The event log: closed until asked for, then each event with its payload on demand.
    log = page.locator("#event-log")
    first = log.locator("tbody tr").first
    expect(first).to_be_hidden()
    log.get_by_role("heading", name="Event log").click()
    expect(first).to_be_visible()
    expect(log.locator("tbody tr", has_text="COMPONENT_STATUS_UPDATED").first).to_contain_text("greet")
    payload = log.locator("tbody tr", has_text="PIPELINE_OUTPUT_UPDATED").locator(".json-tree").first
    expect(payload.locator(".json-row").first).to_be_hidden()
    payload.locator("summary").first.click()
    expect(payload).to_contain_text("Hello history")


def test_an_llm_answer_grows_token_by_token_in_the_editor(signed_in, make_pipeline, fake_openai):
    """The editor shows each PIPELINE_OUTPUT_UPDATED as it arrives: the answer of a
    (fake, slow) OpenAI-compatible model is seen growing, not only finished."""
    from pipelines.demo import chat_recipe
    from tests.fake_openai import tokens_of

    fake_openai.chunk_delay = 0.15
    page = signed_in
    page.goto(make_pipeline("chatty", chat_recipe(base_url=fake_openai.base_url, model="fake-llama")) + "editor")
    page.evaluate(
        """() => { window.answers = [];
        new MutationObserver(() => {
          const text = document.querySelector('#live-outputs [data-output=answer] dd')?.textContent;
          if (text && text !== window.answers[window.answers.length - 1]) window.answers.push(text);
        }).observe(document.getElementById('live-outputs'), {subtree: true, childList: true, characterData: true}); }"""
    )
    page.get_by_label("Prompt").fill("tell me more")
    page.get_by_role("button", name="Run").click()
    answer = "You said: tell me more"
    expect(page.locator("#live-outputs [data-output=answer]")).to_contain_text(answer, timeout=20_000)
    expect(page.locator("#live-status")).to_have_text("Completed")
    seen = page.evaluate("window.answers")
    tokens = tokens_of(answer)
    assert len(seen) >= len(tokens) - 1, seen  # one rendering per token (the first may coalesce)
    assert all(answer.startswith(text) for text in seen) and seen[-1] == answer


def test_copy_the_curl_trigger_snippet_from_the_overview_and_run_it(signed_in, api_token):
    """The API section's Trigger Snippet (cURL, latest, sync) copied with its button runs as is."""
    page = signed_in
    page.goto("/admin/pipelines/hello/")
    api = page.locator("#api")
    api.get_by_role("tab", name="cURL").click()
    item = api.locator("[data-snippet-item][data-version=latest][data-mode=sync]:visible")
    item.get_by_role("button", name=re.compile("Copy the cURL snippet")).click()
    command = page.evaluate("navigator.clipboard.readText()")
    assert command.startswith("curl") and "/v1beta/namespaces/admin/pipelines/hello/trigger" in command
    done = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "INSTILL_API_TOKEN": api_token},
    )
    assert done.returncode == 0, done.stderr
    [output] = json.loads(done.stdout)["outputs"]
    assert output["answer"].startswith("Hello ")
