"""The Content-Security-Policy in a real browser: every kind of page loads and works
with no violation reported (no inline script or style, no eval, nothing from elsewhere)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

REPORTER = """
document.addEventListener('securitypolicyviolation', (e) =>
  window.reportCsp(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber} on ${location.pathname}`));
"""


def _watch(page) -> list[str]:
    """Violations the page reports (the DOM event) and the browser logs, across navigations."""
    violations: list[str] = []
    page.expose_binding("reportCsp", lambda source, text: violations.append(text))
    page.add_init_script(REPORTER)
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return violations


def _assert_watcher_sees_inline_script_blocked(page, violations: list[str]) -> None:
    """The policy is enforced and the watcher hears of it: an injected inline script is
    blocked and reported (then forgotten, so the pages' own record starts empty)."""
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1'; document.head.append(s); }"
    )
    for _ in range(50):  # the report reaches Python through an exposed binding, a moment later
        if any("script-src" in v for v in violations):
            break
        page.wait_for_timeout(100)
    assert any("script-src" in v for v in violations), violations
    assert page.evaluate("window.ran") is None
    violations.clear()


def test_signed_in_pages_work_without_csp_violations(signed_in):
    page = signed_in
    violations = _watch(page)
    response = page.goto("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    _assert_watcher_sees_inline_script_blocked(page, violations)
    for path in [
        "/",
        "/new",
        "/settings/tokens",
        "/settings/secrets",
        "/admin/pipelines/hello/runs/",
        "/no-such-page/",
    ]:
        page.goto(path)
        expect(page.locator("main")).to_be_visible()
    page.goto("/")  # htmx search: its indicator is styled by app.css, not an injected <style>
    page.get_by_role("searchbox").fill("hello")
    expect(page.locator("#pipeline-results")).to_contain_text("hello")

    page.goto("/admin/pipelines/hello/")
    page.get_by_label("Prompt").fill("csp")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("[data-output=answer]")).to_contain_text("Hello csp")
    api = page.locator("#api")  # Trigger Snippets: an ES module switching tabs
    for tab in ("Python", "JavaScript", "cURL"):
        api.get_by_role("tab", name=tab).click()
        expect(api.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")

    page.goto("/admin/pipelines/chunk-and-jq/editor")  # CodeMirror, validation, graph, websocket run
    page.get_by_label("Text").fill("one two three")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#live-status")).to_have_text("Completed", timeout=20_000)
    expect(page.locator("#graph [data-component=split]")).to_have_attribute("data-status", "completed")

    page.goto("/admin/pipelines/hello/runs/")
    page.locator("table a").first.click()
    expect(page.get_by_text("Copy as cURL")).to_be_visible()

    page.goto("/v1beta/docs")  # Swagger UI: its init script and styles from files
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Pipeline API", timeout=20_000)
    assert violations == []


def test_sign_in_and_sign_up_pages_without_csp_violations(page):
    violations = _watch(page)
    page.goto("/accounts/signup/")
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    _assert_watcher_sees_inline_script_blocked(page, violations)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("nobody")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert violations == []
