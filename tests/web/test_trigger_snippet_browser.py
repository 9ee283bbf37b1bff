"""snippets.js in a real browser: the rendered partial, headless Chromium, and a small
module script that clicks, types and copies, then writes what it saw into the page."""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings

from tests.web.test_trigger_snippet import render_page, snippets_of

CHROMIUM = next(
    (shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)), None
)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium to run snippets.js in")

# Runs after snippets.js (module scripts run in order). Each step records what the
# page shows; the results land in <pre id="results"> for --dump-dom to print.
DRIVER = """
<pre id="results"></pre>
<script type="module">
const root = document.querySelector("[data-snippet]");
const tab = (id) => root.querySelector(`[role="tab"][aria-controls$="-panel-${id}"]`);
const shown = () => {
  const panel = [...root.querySelectorAll('[role="tabpanel"]')].filter((p) => !p.hidden);
  const items = panel.flatMap((p) => [...p.querySelectorAll("[data-snippet-item]")].filter((i) => !i.hidden));
  return { panels: panel.map((p) => p.id.split("-panel-")[1]), items: items.map((i) => `${i.dataset.version}/${i.dataset.mode}`) };
};
const visibleCopy = () => [...root.querySelectorAll("[data-snippet-item]:not([hidden]) [data-snippet-copy]")]
  .find((b) => !b.closest('[role="tabpanel"]').hidden);
const results = { initial: shown() };

tab("python").click();
results.clicked = { ...shown(), selected: tab("python").getAttribute("aria-selected"), curl: tab("curl").getAttribute("aria-selected") };

tab("python").dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
results.arrow = { ...shown(), focused: document.activeElement === tab("javascript"), tabindex: tab("javascript").tabIndex };

const version = root.querySelector("[data-snippet-version]");
version.value = "v1.0.0";
version.dispatchEvent(new Event("change", { bubbles: true }));
const asyncMode = root.querySelector('[data-snippet-mode][value="async"]');
asyncMode.checked = true;
asyncMode.dispatchEvent(new Event("change", { bubbles: true }));
results.chosen = shown();

let copied = null;
Object.defineProperty(navigator, "clipboard", { configurable: true, value: { writeText: async (text) => { copied = text; } } });
const button = visibleCopy();
button.click();
await new Promise((resolve) => setTimeout(resolve, 50));
const code = document.getElementById(button.dataset.snippetCopy).textContent;
results.copy = { exact: copied === code, label: button.textContent, state: button.dataset.state,
                 status: root.querySelector("[data-snippet-status]").textContent };
await new Promise((resolve) => setTimeout(resolve, 2100));
results.copyLater = button.textContent;

Object.defineProperty(navigator, "clipboard", { configurable: true, value: { writeText: async () => { throw new Error("denied"); } } });
button.click();
await new Promise((resolve) => setTimeout(resolve, 50));
results.fallback = { label: button.textContent, selected: window.getSelection().toString() === code };

document.getElementById("results").textContent = JSON.stringify(results);
</script>
"""


@pytest.fixture
def site(tmp_path):
    """The partial (latest and v1.0.0 of the demo) in a page, served with the static files."""
    snippets = [*snippets_of().values(), *snippets_of(release_id="v1.0.0").values()]
    body = render_page(snippets, versions=("latest", "v1.0.0"))
    (tmp_path / "page.html").write_text(
        f"<!doctype html><html><head><meta charset='utf-8'></head><body>{body}{DRIVER}</body></html>"
    )
    # The page links the collected, hashed names (pipelines/staticfiles.py).
    shutil.copytree(Path(settings.STATIC_ROOT) / "pipelines", tmp_path / "static" / "pipelines")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/page.html"
    server.shutdown()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def browse(url: str, tmp_path: Path) -> dict:
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90)
    match = re.search(r'<pre id="results">(.*?)</pre>', result.stdout, re.S)
    assert match and match.group(1), f"no results from the page:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return json.loads(match.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


def test_tabs_choices_and_copy_in_a_browser(site, tmp_path):
    """One snippet shows at a time: tabs (click and arrow keys), version and mode switch
    it without a request; Copy copies it exactly and says so, then resets; when the
    clipboard is refused the snippet is left selected for Ctrl+C."""
    results = browse(site, tmp_path)
    assert results["initial"] == {"panels": ["curl"], "items": ["latest/sync"]}
    assert results["clicked"] == {"panels": ["python"], "items": ["latest/sync"], "selected": "true", "curl": "false"}
    assert results["arrow"] == {"panels": ["javascript"], "items": ["latest/sync"], "focused": True, "tabindex": 0}
    assert results["chosen"] == {"panels": ["javascript"], "items": ["v1.0.0/async"]}
    assert results["copy"] == {
        "exact": True,
        "label": "Copied",
        "state": "copied",
        "status": "Copied to the clipboard.",
    }
    assert results["copyLater"] == "Copy"
    assert results["fallback"]["label"] in ("Copied", "Press Ctrl+C")
    if results["fallback"]["label"] == "Press Ctrl+C":
        assert results["fallback"]["selected"]
