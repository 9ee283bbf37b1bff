"""The console audit: every page at 1280x900 and 390x844 is screenshotted for review,
checked with axe-core and loaded without script errors; the Overview and the Editor are
walked with the keyboard alone.

Screenshots: ``$PIPELINE_TEST_OUTPUT/screenshots/pages/<width>x<height>/<page>.png``
(test-output/, which CI keeps). Adding a page is one line in ``PAGES``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from pipelines.demo import HELLO
from tests.e2e.browser.conftest import OUTPUT

AXE = (Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js").read_text()
SIZES = {"1280x900": {"width": 1280, "height": 900}, "390x844": {"width": 390, "height": 844}}
PIPELINE = "/admin/pipelines/audit/"
# Third-party markup that is not ours to fix: Swagger UI renders the API docs' body.
NOT_OURS = ["#swagger-ui"]


def tab(name: str) -> Callable:
    """Open the Editor panel ``name`` (Run, Graph, Release, Toolkit)."""
    return lambda page: page.get_by_role("tab", name=name).click()


@dataclass(frozen=True)
class Page:
    name: str
    path: str  # may name {pipeline} and {run}
    signed_in: bool = True
    then: Callable | None = None  # what to do once loaded (open a panel)
    ready: str = "main, #swagger-ui"  # shown when the page is ready for its picture


EDITOR = "{pipeline}editor"
PAGES = [
    Page("sign-in", "/accounts/login/", signed_in=False),
    Page("sign-up", "/accounts/signup/", signed_in=False),
    Page("pipelines", "/"),
    Page("pipelines-signed-out", "/", signed_in=False),
    Page("new", "/new"),
    Page("overview", "{pipeline}"),
    Page("editor-run", EDITOR, ready=".CodeMirror"),
    Page("editor-graph", EDITOR, then=tab("Graph"), ready=".CodeMirror"),
    Page("editor-release", EDITOR, then=tab("Release"), ready=".CodeMirror"),
    Page("editor-toolkit", EDITOR, then=tab("Toolkit"), ready=".CodeMirror"),
    Page("settings", "{pipeline}settings"),
    Page("runs", "{pipeline}runs/"),
    Page("run-detail", "{run}"),
    Page("tokens", "/settings/tokens"),
    Page("secrets", "/settings/secrets"),
    Page("api-docs", "/v1beta/docs", ready="#swagger-ui .information-container"),
    Page("not-found", "/no/such/page/"),
]


@pytest.fixture(scope="session")
def audit_paths(base_url: str, api_token: str, make_pipeline) -> dict[str, str]:
    """A pipeline with one finished run and one secret, so no page shows only its empty state."""
    headers = {"Authorization": f"Bearer {api_token}"}
    pipeline = make_pipeline("audit", HELLO, description="The audit's pipeline.")
    api = f"{base_url}/v1beta/namespaces/admin"
    answer = httpx.post(
        f"{api}/pipelines/audit/trigger", headers=headers, json={"data": [{"variable": {"prompt": "audit"}}]}
    )
    assert answer.status_code == 200, answer.text
    runs = httpx.get(f"{api}/pipelines/audit/runs", headers=headers).json()["pipelineRuns"]
    httpx.post(f"{api}/secrets", headers=headers, json={"id": "audit-key", "value": "s3cret"})
    return {"pipeline": pipeline, "run": f"{pipeline}runs/{runs[0]['pipelineRunUid']}/"}


@pytest.fixture
def audited(browser, base_url: str, admin_session: dict, request):
    """Opens a page of ``PAGES`` at a size in a fresh context; yields the Playwright page
    and the script errors it raised."""
    contexts = []

    def open_page(spec: Page, size: str, paths: dict[str, str]):
        context = browser.new_context(
            base_url=base_url,
            viewport=SIZES[size],
            storage_state=admin_session if spec.signed_in else None,
        )
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(spec.path.format(**paths))
        page.locator(spec.ready).first.wait_for()
        if spec.then:
            spec.then(page)
        page.wait_for_load_state("networkidle")
        return page, errors

    yield open_page
    for context in contexts:
        context.close()


def axe_violations(page, *, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's violations of ``impacts`` on the page as shown, outside ``NOT_OURS``."""
    page.evaluate(AXE)  # evaluated, not a <script>: the Content-Security-Policy allows no inline script
    result = page.evaluate(
        """async (exclude) => {
            const present = exclude.filter((selector) => document.querySelector(selector));
            const results = await axe.run({ exclude: present.map((s) => [s]) }, { resultTypes: ["violations"] });
            return results.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.map((n) => ({ target: n.target.join(" "), html: n.html.slice(0, 200),
                                           summary: n.failureSummary })) }));
        }""",
        NOT_OURS,
    )
    return [violation for violation in result if violation["impact"] in impacts]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:10]:
            lines.append(f"    {node['target']}  {node['html']}")
            lines.append("      " + node["summary"].replace("\n", "\n      "))
    return "\n".join(lines)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("spec", PAGES, ids=[spec.name for spec in PAGES])
def test_page_screenshot_axe_and_no_script_errors(audited, audit_paths, spec: Page, size: str):
    page, errors = audited(spec, size, audit_paths)
    folder = OUTPUT / "screenshots" / "pages" / size
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{spec.name}.png"), full_page=True)
    violations = axe_violations(page)
    assert not violations, f"axe-core on {spec.name} at {size} ({page.url}):\n{describe(violations)}"
    assert not errors, f"script errors on {spec.name} at {size}: {errors}"
    skips = page.evaluate(HEADING_SKIPS, NOT_OURS)
    assert not skips, f"heading levels skip on {spec.name} at {size}: {skips}"
    if size == "390x844":
        small = page.evaluate(SMALL_TEXT, NOT_OURS)
        assert not small, f"text under 12 px on {spec.name} at {size} (Lighthouse's legible size): {small}"


# Headings as assistive technology lists them (hidden ones are not), where one goes more
# than a level deeper than the one before it: "h1 'admin/audit' -> h3 'Releases'".
HEADING_SKIPS = """(exclude) => {
  const headings = [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")].filter((h) =>
    !h.closest("[hidden], [aria-hidden=true]") && !exclude.some((s) => h.closest(s))
    && (h.getClientRects().length || h.classList.contains("visually-hidden")));
  const skips = [];
  let previous = null;
  for (const h of headings) {
    const level = Number(h.tagName[1]);
    const text = `${h.tagName.toLowerCase()} '${h.textContent.trim().replace(/\\s+/g, " ").slice(0, 30)}'`;
    if (level > (previous ? previous.level + 1 : 1)) skips.push(`${previous ? previous.text : "(page start)"} -> ${text}`);
    previous = { level, text };
  }
  return skips;
}"""

# Visible text (outside SVG drawings and NOT_OURS) set in less than 12 px: "tag.class 11.7px 'text'".
SMALL_TEXT = """(exclude) => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const small = new Map();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || el.closest("svg") || exclude.some((s) => el.closest(s))) continue;
    if (!el.checkVisibility({ checkVisibilityCSS: true }) || !el.getClientRects().length) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size >= 12) continue;
    const key = `${el.tagName.toLowerCase()}${el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : ""} ${size}px`;
    if (!small.has(key)) small.set(key, `${key} '${node.textContent.trim().slice(0, 30)}'`);
  }
  return [...small.values()];
}"""


# --- keyboard only ---------------------------------------------------------------------

# Every control the Tab key should stop at, in DOM order (a radio group counts once: its
# checked radio, else its first), each tagged with data-walk for the walk to recognise.
TABBABLE = """() => {
  const all = [...document.querySelectorAll(
    'a[href], button, input, select, textarea, summary, [tabindex], [contenteditable=""], [contenteditable=true]')];
  const list = all.filter((el) => {
    if (el.disabled || el.tabIndex < 0 || el.closest("[hidden], [inert]")) return false;
    if (el.type === "hidden" || !el.checkVisibility({ checkVisibilityCSS: true }) || !el.getClientRects().length) return false;
    if (el.closest(".CodeMirror")) return false;  // the code editor is one stop: "codemirror"
    if (el.type !== "radio") return true;
    const group = [...document.querySelectorAll(`input[type=radio][name="${el.name}"]`)];
    return el === (group.find((radio) => radio.checked) || group[0]);
  });
  function describe(el) {
    const text = (el.getAttribute("aria-label") || (el.labels && el.labels[0] && el.labels[0].textContent)
                  || el.textContent || el.value || "").trim().replace(/\\s+/g, " ").slice(0, 40);
    return `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} "${text}"`;
  }
  return list.map((el, i) => (el.dataset.walk = `${i} ${describe(el)}`));
}"""
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  if (el.closest(".CodeMirror")) return "codemirror";
  return el.dataset.walk || `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} (not in the list)`;
}"""


def keyboard_page(browser, base_url: str, admin_session: dict, path: str, size: str):
    context = browser.new_context(base_url=base_url, viewport=SIZES[size], storage_state=admin_session)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(path)
    page.wait_for_load_state("networkidle")
    return context, page


def tab_through(page, *, leave_editor: bool = False, limit: int = 250) -> list[str]:
    """Press Tab from the top of the page until focus leaves the page; the focus stops
    seen, in order. In the code editor, Escape then Tab leaves it (``leave_editor``)."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    stops: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            break
        if stops[-2:] == [focused, focused]:
            raise AssertionError(f"Tab stays at {focused} (pressed three times); stops before: {stops[-8:]}")
        stops.append(focused)
        if focused == "codemirror" and leave_editor:
            page.keyboard.press("Escape")
    return stops


def assert_reaches_every_control(page, stops: list[str], where: str) -> None:
    expected = page.evaluate(TABBABLE)
    reached = [stop for stop in stops if stop != "codemirror"]
    missing = [control for control in expected if control not in reached]
    assert not missing, f"{where}: Tab never reached {missing}\nstops in order: {stops}"
    order = [int(stop.split(" ", 1)[0]) for stop in reached if stop[0].isdigit()]
    assert order == sorted(order), f"{where}: Tab order is not the page's order: {reached}"
    strays = [stop for stop in reached if not stop[0].isdigit()]
    assert not strays, f"{where}: Tab stopped at controls that are hidden or not listed: {strays}"


def press_until(page, key: str, target: str, *, limit: int = 100) -> None:
    """Press ``key`` until the focused element's walk tag contains ``target``."""
    for _ in range(limit):
        focused = page.evaluate(FOCUSED) or ""
        if target in focused:
            return
        page.keyboard.press(key)
    raise AssertionError(f"{key} never reached {target!r}")


@pytest.mark.parametrize("size", list(SIZES))
def test_overview_with_the_keyboard_alone(browser, base_url, admin_session, audit_paths, size):
    context, page = keyboard_page(browser, base_url, admin_session, audit_paths["pipeline"], size)
    try:
        page.evaluate(TABBABLE)
        stops = tab_through(page)
        assert_reaches_every_control(page, stops, f"Overview at {size}")

        # A run: type the prompt, Tab to Run, Enter.
        page.evaluate(TABBABLE)
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        press_until(page, "Tab", '"Prompt')
        page.keyboard.type("keyboard")
        press_until(page, "Tab", 'button "Run"')
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.body.innerText.includes('Hello keyboard')")

        # Copy a snippet: Tab to a Copy button, Enter; the clipboard holds its code.
        press_until(page, "Tab", '"Copy')
        code_id = page.evaluate("() => document.activeElement.dataset.snippetCopy")
        page.keyboard.press("Enter")
        page.wait_for_function("(id) => navigator.clipboard.readText().then((t) => t.length > 0)", arg=code_id)
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert copied == page.evaluate("(id) => document.getElementById(id).textContent", code_id)
    finally:
        context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_editor_with_the_keyboard_alone(browser, base_url, admin_session, audit_paths, size):
    context, page = keyboard_page(browser, base_url, admin_session, audit_paths["pipeline"] + "editor", size)
    try:
        page.locator(".CodeMirror").wait_for()
        recipe = page.evaluate("() => document.querySelector('.CodeMirror').CodeMirror.getValue()")
        page.evaluate(TABBABLE)
        stops = tab_through(page, leave_editor=True)
        assert "codemirror" in stops, f"Tab never reached the code editor: {stops}"
        assert_reaches_every_control(page, stops, f"Editor at {size}")
        # Leaving typed nothing: the draft is still the saved recipe.
        assert page.evaluate("() => document.querySelector('.CodeMirror').CodeMirror.getValue()") == recipe
        assert page.locator("#save-state").inner_text() == "Saved"
        # Shift+Tab gets out backwards too.
        page.evaluate("() => document.querySelector('.CodeMirror').CodeMirror.focus()")
        page.keyboard.press("Escape")
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(FOCUSED) not in (None, "codemirror")

        # The focused editor shows a focus ring.
        page.evaluate("() => document.querySelector('.CodeMirror').CodeMirror.focus()")
        outline = page.evaluate("() => getComputedStyle(document.querySelector('.CodeMirror')).outlineStyle")
        assert outline != "none"

        # A run from the Run panel, with the keyboard.
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        page.evaluate(TABBABLE)
        press_until(page, "Tab", '"Prompt', limit=150)
        page.keyboard.type("keys")
        press_until(page, "Tab", "#run-button")
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.body.innerText.includes('Hello keys')")

        # Toolkit with the arrow keys on the panel tabs, then Copy a snippet.
        page.evaluate("() => document.getElementById('tab-run').focus()")
        page.keyboard.press("End")
        assert page.evaluate("() => document.activeElement.id") == "tab-toolkit", "End does not reach the last tab"
        page.keyboard.press("Enter")
        page.evaluate(TABBABLE)
        press_until(page, "Tab", '"Copy')
        code_id = page.evaluate("() => document.activeElement.dataset.snippetCopy")
        page.keyboard.press("Enter")
        page.wait_for_function("() => navigator.clipboard.readText().then((t) => t.length > 0)")
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert copied == page.evaluate("(id) => document.getElementById(id).textContent", code_id)
    finally:
        context.close()


def test_static_files_are_hashed_compressed_and_cached_for_long(signed_in, base_url):
    """Pages link content-hashed file names, served gzipped with a long, immutable lifetime."""
    signed_in.goto(PIPELINE.replace("audit", "hello") + "editor")
    sources = signed_in.evaluate(
        "() => [...document.querySelectorAll('script[src], link[rel=stylesheet]')].map((e) => e.src || e.href)"
    )
    assert any("codemirror.min." in source for source in sources), sources
    for source in sources:
        assert re.search(r"\.[0-9a-f]{12}\.(js|css)$", source), f"not a hashed name: {source}"
        answer = httpx.get(source, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200, source
        assert "immutable" in answer.headers["cache-control"] and "max-age=315360000" in answer.headers["cache-control"]
        assert answer.headers.get("content-encoding") == "gzip" or len(answer.content) < 1024, f"{source} not gzipped"
