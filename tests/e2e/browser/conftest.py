"""Browser tests: Playwright driving Debian's chromium against a real ``serve``.

One browser for the session (pytest-playwright's ``browser``, launched from
/usr/bin/chromium: Playwright's own browser download does not work here), a fresh
context per test, and a full-page screenshot in ``$PIPELINE_TEST_OUTPUT/screenshots``
when a test fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, ROOT

CHROMIUM = os.environ.get("PIPELINE_CHROMIUM", "/usr/bin/chromium")
OUTPUT = Path(os.environ.get("PIPELINE_TEST_OUTPUT", ROOT / "test-output"))

pytestmark = pytest.mark.e2e


def _is_browser_test(item) -> bool:
    return Path(str(item.fspath)).is_relative_to(Path(__file__).parent)


def pytest_collection_modifyitems(config, items):
    """Browser tests run last: Playwright's sync API keeps an event loop running in the
    main thread for as long as the (session) browser lives, and every async test after
    it would fail with "asyncio.run() cannot be called from a running event loop". On
    pytest-xdist workers too: scripts/test.sh hands modules out in this order."""
    items.sort(key=_is_browser_test)
    if Path(CHROMIUM).exists() or shutil.which("chromium"):
        return
    skip = pytest.mark.skip(reason=f"no chromium at {CHROMIUM}: `make test` installs Debian's chromium")
    for item in items:
        if _is_browser_test(item):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    return {
        "executable_path": CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ],
    }


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _page_in_context(browser, base_url: str, request, **context_args) -> Iterator:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}, **context_args)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        folder = OUTPUT / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            page.screenshot(path=str(folder / f"{request.node.name}.png"), full_page=True)
        except Exception as exc:  # noqa: BLE001 - a failed screenshot must not hide the failure
            print(f"screenshot failed: {exc}")
    context.close()


@pytest.fixture
def page(browser, base_url: str, request) -> Iterator:
    """A fresh browser context (no cookies) at 1280 px; screenshot on failure."""
    yield from _page_in_context(browser, base_url, request)


@pytest.fixture(scope="session")
def admin_session(browser, base_url: str) -> dict:
    """The admin's session cookie, signed in once through the login page (password
    hashing makes each sign-in cost about a second)."""
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture
def signed_in(browser, base_url: str, admin_session: dict, request) -> Iterator:
    """A fresh browser context signed in as the server's admin, on the pipelines list."""
    for page in _page_in_context(browser, base_url, request, storage_state=admin_session):
        page.goto("/")
        yield page


@pytest.fixture(scope="session")
def make_pipeline(base_url: str, api_token: str):
    """Create (or replace) an admin pipeline through the API; returns its overview path."""

    def make(pipeline_id: str, raw_recipe: str, **fields) -> str:
        headers = {"Authorization": f"Bearer {api_token}"}
        url = f"{base_url}/v1beta/namespaces/admin/pipelines"
        httpx.delete(f"{url}/{pipeline_id}", headers=headers)
        answer = httpx.post(url, headers=headers, json={"id": pipeline_id, "rawRecipe": raw_recipe, **fields})
        assert answer.status_code == 201, answer.text
        return f"/admin/pipelines/{pipeline_id}/"

    return make
