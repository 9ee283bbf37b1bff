"""Settings → Connections in a real browser, at a desktop (1280x900) and a phone
(390x844) size: create an OpenAI connection on the page (its key typed into a password
field), use it in a recipe as ``setup: ${connection.<id>}`` and run it against the
local OpenAI-compatible fake; the key shows nowhere on the pages."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.api.test_connections import RECIPE

pytestmark = pytest.mark.e2e

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
KEY = "sk-browser-key-0123456789"


@pytest.mark.parametrize("size", list(SIZES))
def test_create_a_connection_on_the_page_and_run_a_recipe_with_it(
    signed_in, size, make_pipeline, fake_openai, base_url, api_token
):
    page = signed_in
    page.set_viewport_size(SIZES[size])
    cid = f"openai-{size}"
    httpx.delete(
        f"{base_url}/v1beta/namespaces/admin/connections/{cid}", headers={"Authorization": f"Bearer {api_token}"}
    )
    fake_openai.require_key(KEY)
    page.goto("/settings/connections")
    page.get_by_label("Integration").select_option("openai")
    page.get_by_role("button", name="Choose").click()
    page.locator("#connection-id").fill(cid)
    page.get_by_label("API Key").fill(KEY)
    page.get_by_label("Base URL").fill(fake_openai.base_url)
    page.get_by_role("button", name="Save OpenAI connection").click()
    expect(page.locator(f"#connection-{cid}")).to_contain_text("OpenAI")
    expect(page.locator(".messages")).to_contain_text(f"${{connection.{cid}}}")
    assert KEY not in page.content()
    page.get_by_role("link", name=f"Edit {cid}").click()
    expect(page.get_by_label("Base URL")).to_have_value(fake_openai.base_url)
    assert KEY not in page.content()

    page.goto(make_pipeline(f"conn-chat-{size}", RECIPE.replace("my-openai", cid)))
    page.get_by_label("Prompt").fill("hello connection")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#overview-outputs [data-output=answer]")).to_contain_text(
        "You said: hello connection", timeout=20_000
    )
    assert fake_openai.chat_requests[-1].headers["authorization"] == f"Bearer {KEY}"
