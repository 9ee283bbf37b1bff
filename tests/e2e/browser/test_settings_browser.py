"""A pipeline's Settings, re-running with an earlier run's file, and the page shell
(phone menu, tables that scroll inside their card, favicon) in a real browser, at
1280x900 and 390x844."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import OUTPUT

pytestmark = pytest.mark.e2e

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

GREET_RECIPE = """\
version: v1beta
variable:
  prompt: {title: Prompt, type: string, required: true}
component: {}
output:
  answer: {title: Answer, value: "${variable.prompt}"}
"""

IMAGE_RECIPE = """\
version: v1beta
variable:
  photo: {title: Photo, type: image, required: true}
  caption: {title: Caption, type: string}
component: {}
output:
  width: {title: Width, value: "${variable.photo:width}"}
  name: {title: Name, value: "${variable.photo:filename}"}
"""


def png_bytes(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def document_fits(page) -> bool:
    """The page never scrolls sideways: the document is as wide as the viewport."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


WIDEST = """[...document.querySelectorAll('body *')].filter((el) => !el.closest('.table-wrap') && el.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 12).map((el) => `${el.tagName}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`)"""


def answer_dialog(messages: list[str], *, accept: bool):
    """A dialog handler that notes the message, then accepts or dismisses."""

    def answer(dialog) -> None:
        messages.append(dialog.message)
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    return answer


def screenshot(page, name: str) -> None:
    """A full-page picture for reviewers, under $PIPELINE_TEST_OUTPUT/screenshots/pages."""
    folder = OUTPUT / "screenshots" / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("size", SIZES)
def test_settings_toggle_visibility_rename_and_delete(size, signed_in, make_pipeline, base_url, api):
    page = signed_in
    page.set_viewport_size(SIZES[size])
    old, new = f"settings-{size}", f"renamed-{size}"
    api.delete(f"/v1beta/namespaces/admin/pipelines/{new}")
    page.goto(make_pipeline(old, GREET_RECIPE))
    page.get_by_role("navigation", name="Pipeline").get_by_role("link", name="Settings").click()
    expect(page).to_have_url(re.compile(f"/admin/pipelines/{old}/settings$"))
    assert document_fits(page)
    screenshot(page, f"pipeline-settings-{size}")

    # Visibility and description.
    page.get_by_label("Description", exact=True).fill("Says it back")
    page.get_by_role("radio", name=re.compile("^Public")).check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("The pipeline is public")
    expect(page.locator(".title-row .badge")).to_have_text("Public")
    expect(page.locator(".pipeline-head .lead")).to_have_text("Says it back")
    assert httpx.get(f"{base_url}/admin/pipelines/{old}/").status_code == 200  # signed out

    # Rename: the dialog says what happens; dismissed, nothing changes.
    page.get_by_label("New pipeline id").fill(new)
    page.get_by_label("I understand that the old page and trigger URLs stop working").check()
    dialogs: list[str] = []
    page.once("dialog", answer_dialog(dialogs, accept=False))
    page.get_by_role("button", name="Rename pipeline").click()
    expect(page).to_have_url(re.compile(f"/admin/pipelines/{old}/settings$"))
    assert dialogs and "old page and trigger URLs will stop working" in dialogs[0]
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rename pipeline").click()
    expect(page).to_have_url(re.compile(f"/admin/pipelines/{new}/settings$"))
    expect(page.get_by_role("status")).to_contain_text(f'Renamed "{old}" to "{new}"')
    assert httpx.get(f"{base_url}/admin/pipelines/{old}/").status_code == 404
    assert httpx.get(f"{base_url}/admin/pipelines/{new}/").status_code == 200
    trigger = api.post(
        f"/v1beta/namespaces/admin/pipelines/{old}/trigger", json={"data": [{"variable": {"prompt": "x"}}]}
    )
    assert trigger.status_code == 404

    # Private again: signed-out visitors no longer see it.
    page.get_by_role("radio", name=re.compile("^Private")).check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".title-row .badge")).to_have_text("Private")
    assert httpx.get(f"{base_url}/admin/pipelines/{new}/").status_code == 404

    # Delete: the typed id and the dialog; then it is gone from the list.
    page.get_by_label("Type the pipeline id to confirm").fill(new)
    messages: list[str] = []
    page.once("dialog", answer_dialog(messages, accept=True))
    page.get_by_role("button", name="Delete pipeline").click()
    expect(page).to_have_url(re.compile(r"/$"))
    assert "cannot be undone" in messages[0]
    expect(page.get_by_role("status")).to_contain_text(f'Deleted "{new}"')
    expect(page.locator(f'a[href="/admin/pipelines/{new}/"]')).to_have_count(0)
    assert api.get(f"/v1beta/namespaces/admin/pipelines/{new}").status_code == 404


@pytest.mark.parametrize("size", SIZES)
def test_a_rerun_from_the_run_page_carries_the_uploaded_file(size, signed_in, make_pipeline):
    page = signed_in
    page.set_viewport_size(SIZES[size])
    page.goto(make_pipeline(f"rerun-{size}", IMAGE_RECIPE))
    page.get_by_label("Photo").set_input_files(
        {"name": "wide.png", "mimeType": "image/png", "buffer": png_bytes(64, 8)}
    )
    page.get_by_role("button", name="Run").click()
    expect(page.locator("[data-output=width]")).to_contain_text("64")

    page.get_by_role("navigation", name="Pipeline").get_by_role("link", name="Runs").click()
    page.locator("#run-table tbody a").first.click()
    page.get_by_role("link", name="Open in editor with these inputs").click()
    carried = page.get_by_role("checkbox", name=re.compile(r"Use wide\.png \(\d+ bytes\) from run"))
    expect(carried).to_be_checked()
    screenshot(page, f"editor-rerun-with-file-{size}")
    page.get_by_label("Caption").fill("again")
    page.locator("#run-button").click()
    expect(page.locator("#live-status")).to_have_text("Completed", timeout=20_000)
    expect(page.locator("#live-outputs [data-output=width]")).to_contain_text("64")
    expect(page.locator("#live-outputs [data-output=name]")).to_contain_text("wide.png")
    assert document_fits(page)


def test_the_phone_menu_opens_and_closes_with_the_keyboard(signed_in):
    page = signed_in
    page.set_viewport_size(SIZES["phone"])
    page.goto("/")
    toggle = page.get_by_role("button", name="Menu")
    tokens = page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(tokens).to_be_hidden()
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the brand
    page.keyboard.press("Tab")
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(tokens).to_be_visible()
    screenshot(page, "menu-open-phone")
    page.keyboard.press("Tab")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Pipelines")).to_be_focused()
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(tokens).to_be_hidden()
    page.keyboard.press("Space")
    expect(tokens).to_be_visible()
    page.keyboard.press("Space")
    expect(tokens).to_be_hidden()
    assert document_fits(page)

    # At 1280 px there is no menu button: the menu is a row.
    page.set_viewport_size(SIZES["desktop"])
    expect(toggle).to_be_hidden()
    expect(tokens).to_be_visible()


def test_without_script_the_phone_menu_is_a_visible_list(browser, base_url, admin_session):
    context = browser.new_context(
        base_url=base_url, viewport=SIZES["phone"], java_script_enabled=False, storage_state=admin_session
    )
    try:
        page = context.new_page()
        page.goto("/")
        expect(page.locator(".menu-toggle")).to_be_hidden()
        expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens")).to_be_visible()
        assert document_fits(page)
    finally:
        context.close()


def test_wide_tables_scroll_inside_their_card_on_a_phone(signed_in, make_pipeline, api):
    page = signed_in
    path = make_pipeline("wide-table", GREET_RECIPE)
    for n in range(3):
        prompt = f"run-{n}-" + "x" * 20
        answer = api.post(
            "/v1beta/namespaces/admin/pipelines/wide-table/trigger", json={"data": [{"variable": {"prompt": prompt}}]}
        )
        assert answer.status_code == 200, answer.text
    secret = {"id": "a-long-secret-name-for-phones", "value": "v", "description": "Used by the wide-table test"}
    api.delete(f"/v1beta/namespaces/admin/secrets/{secret['id']}")
    assert api.post("/v1beta/namespaces/admin/secrets", json=secret).status_code in (200, 201)
    page.set_viewport_size(SIZES["phone"])
    for url in (f"{path}runs/", "/settings/tokens", "/settings/secrets"):
        page.goto(url)
        expect(page.locator(".table-wrap table").first).to_be_visible()
        assert document_fits(page), (url, page.evaluate(WIDEST))
        screenshot(page, "table-phone-" + url.strip("/").replace("/", "-"))
    page.goto(f"{path}runs/")
    wrap = page.locator(".table-wrap").first
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth"), "the run table is wider than a phone"
    wrap.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    assert wrap.evaluate("el => el.scrollLeft") > 0
    assert page.evaluate("window.scrollX") == 0


def test_favicon_is_linked_and_served(page, base_url):
    page.goto("/")
    href = page.locator('link[rel="icon"]').get_attribute("href")
    icon = httpx.get(base_url + href)
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in icon.content
    legacy = httpx.get(base_url + "/favicon.ico", follow_redirects=True)
    assert legacy.status_code == 200 and legacy.content == icon.content


def test_signed_out_visitors_see_no_run_filters(page, make_pipeline):
    make_pipeline("public-runs", GREET_RECIPE, sharing={"users": {"*/*": {"enabled": True, "role": "ROLE_VIEWER"}}})
    page.goto("/admin/pipelines/public-runs/runs/")
    expect(page.get_by_role("heading", name="Sign in to see runs")).to_be_visible()
    expect(page.get_by_role("form", name="Filter runs")).to_have_count(0)
