"""Largest Contentful Paint of the console's pages on a throttled phone, as Lighthouse's
mobile preset loads them: Chromium (Playwright) at 390x844, 4x CPU slowdown and "slow 4G"
(562.5 ms request latency, 1.47 Mbit/s down, 675 kbit/s up, Chrome DevTools' emulation),
a cold cache for every load.

    .venv/bin/python benchmarks/lcp.py                     # this checkout
    .venv/bin/python benchmarks/lcp.py --before 6e397db    # and an older commit, same run

With ``--before REV`` the commit is exported (``git archive``) to a temporary folder and
served beside this checkout, one server each, measured alternately in the same run: the
figures printed side by side are comparable. Each page is loaded ``--runs`` times (default
3): the median LCP is printed, with the bytes the page transferred (compressed, as sent). The target is an Editor LCP under 2.5 s (``--strict``: exit 1
when it is missed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._server import Server, bench_server, print_verdicts  # noqa: E402

CHROMIUM = os.environ.get("PIPELINE_CHROMIUM", "/usr/bin/chromium")
VIEWPORT = {"width": 390, "height": 844}
# Lighthouse's mobile preset ("mobileSlow4G", DevTools throttling): 150 ms RTT x 3.75,
# 1.6384 Mbit/s x 0.9 down, 750 kbit/s x 0.9 up, CPU 4x slower.
NETWORK = {
    "offline": False,
    "latency": 150 * 3.75,
    "downloadThroughput": 1638.4 * 0.9 * 1024 / 8,
    "uploadThroughput": 750 * 0.9 * 1024 / 8,
}
CPU_SLOWDOWN = 4
TARGET_MS = 2500
# The page's path on a fresh server (the admin's demo pipeline "hello"), whether it needs
# a signed-in session, and what shows once it is rendered (a later, larger paint counts).
PAGES = {
    "sign-in": ("/accounts/login/", False, "main"),
    "pipelines": ("/", True, "main"),
    "overview": ("/admin/pipelines/hello/", True, "main"),
    "editor": ("/admin/pipelines/hello/editor", True, ".CodeMirror"),
    "api-docs": ("/v1beta/docs", True, "#swagger-ui .information-container"),
}
# Keeps the last LCP candidate: the value Lighthouse reports once the page is loaded.
OBSERVER = """
window.__lcp = null;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__lcp = {time: entry.startTime, size: entry.size,
    element: entry.element ? entry.element.tagName.toLowerCase() + (entry.element.id ? "#" + entry.element.id : "")
      + (entry.element.className && typeof entry.element.className === "string" ? "." + entry.element.className.trim().split(/\\s+/).join(".") : "") : entry.url};
}).observe({type: "largest-contentful-paint", buffered: true});
"""


def sign_in(browser, server: Server) -> dict:
    context = browser.new_context(base_url=server.base_url)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(server.admin_password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    state = context.storage_state()
    context.close()
    return state


def measure(browser, server: Server, path: str, ready: str, state: dict | None) -> tuple[float, int, str]:
    """One cold, throttled load of ``path``: its LCP in ms, the bytes it transferred
    (compressed, as sent) and the LCP element."""
    context = browser.new_context(
        base_url=server.base_url,
        viewport=VIEWPORT,
        device_scale_factor=1.75,
        is_mobile=True,
        has_touch=True,
        storage_state=state,
    )
    try:
        page = context.new_page()
        page.add_init_script(OBSERVER)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send("Network.emulateNetworkConditions", NETWORK)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        page.goto(path, wait_until="load", timeout=120_000)
        # Late candidates (Swagger UI rendering the schema it fetched) still count.
        page.locator(ready).first.wait_for(timeout=120_000)
        page.wait_for_load_state("networkidle", timeout=120_000)
        page.wait_for_timeout(1000)
        entry = page.evaluate("window.__lcp")
        if entry is None:
            raise RuntimeError(f"{path}: no largest-contentful-paint entry")
        transferred = page.evaluate(
            "() => [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]"
            ".reduce((total, e) => total + e.transferSize, 0)"
        )
        # No element: the text is in a user-agent shadow tree (the Editor's <textarea>).
        return float(entry["time"]), int(transferred), str(entry["element"] or "textarea text")
    finally:
        context.close()


def export(rev: str, into: Path) -> Path:
    """The tree of commit ``rev`` in ``into`` (git archive: no .git, no worktree)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", metavar="REV", help="also measure this commit, for before/after figures")
    parser.add_argument("--runs", type=int, default=3, help="loads per page and server (median printed)")
    parser.add_argument("--pages", nargs="+", choices=list(PAGES), default=list(PAGES))
    parser.add_argument("--strict", action="store_true", help="exit 1 when the Editor misses the target")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with ExitStack() as stack:
        trees = {}
        if args.before:
            workdir = Path(tempfile.mkdtemp(prefix="lcp-before-"))
            stack.callback(shutil.rmtree, workdir, ignore_errors=True)
            trees[f"before ({args.before})"] = export(args.before, workdir / "tree")
        trees["after (this checkout)" if args.before else "this checkout"] = ROOT
        servers = {name: stack.enter_context(bench_server("lcp-", root=root)) for name, root in trees.items()}
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        states = {name: sign_in(browser, server) for name, server in servers.items()}
        results: dict[str, dict[str, list[float]]] = {name: {page: [] for page in args.pages} for name in servers}
        sizes: dict[str, dict[str, int]] = {name: {} for name in servers}
        elements: dict[str, dict[str, str]] = {name: {} for name in servers}
        for _ in range(args.runs):
            for page in args.pages:
                path, private, ready = PAGES[page]
                for name, server in servers.items():  # alternate: both see the same machine load
                    time_ms, size, element = measure(browser, server, path, ready, states[name] if private else None)
                    results[name][page].append(time_ms)
                    sizes[name][page] = size
                    elements[name][page] = element
        browser.close()

    names = list(servers)
    print(
        f"\nLargest Contentful Paint, median of {args.runs} cold loads "
        f"({VIEWPORT['width']}x{VIEWPORT['height']}, {CPU_SLOWDOWN}x CPU, slow 4G):"
    )
    print("  " + f"{'page':<11}" + "".join(f"{name:>34}" for name in names) + "   LCP element (last)")
    medians = {name: {page: statistics.median(results[name][page]) for page in args.pages} for name in names}
    for page in args.pages:
        figures = "".join(
            f"{medians[name][page] / 1000:>18.2f} s {sizes[name][page] / 1024:>8.0f} KB" for name in names
        )
        print(f"  {page:<11}{figures}   {elements[names[-1]][page]}")
    if "editor" not in args.pages:
        return 0
    editor = medians[names[-1]]["editor"]
    met = print_verdicts([(f"Editor LCP {editor / 1000:.2f} s", f"< {TARGET_MS / 1000:.1f} s", editor < TARGET_MS)])
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
