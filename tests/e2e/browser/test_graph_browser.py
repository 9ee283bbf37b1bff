"""The Editor's graph (static/pipelines/graph.js) in Chromium, at 1280x900 and 390x844:
the whole pipeline fits the canvas, pan/zoom/fit/full width work with buttons, keys
and the mouse, condition edges are drawn, a node selects its block in the YAML, and
nodes follow a run live and keep their duration after it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import SLOW_RECIPE
from tests.e2e.browser.conftest import OUTPUT

SIZES = [pytest.param((1280, 900), id="desktop"), pytest.param((390, 844), id="phone")]
CHUNK_NODES = 9  # 3 variables, split, the count iterator and its words, total, 2 outputs

# A slow step (the slow_server answers after the time in the URL), then a quick one.
SLOW_THEN_QUICK = SLOW_RECIPE.replace(
    "output:\n",
    """  shape:
    type: json
    task: TASK_JQ
    input: {json-value: "${wait.output.status-code}", jq-filter: "{code: .}"}
output:
  shaped: {value: "${shape.output.results[0]}"}
""",
)


def _open_graph(page, path="/admin/pipelines/chunk-and-jq/editor", size=(1280, 900)):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(path)
    page.get_by_role("tab", name="Graph").click()
    graph = page.get_by_role("group", name=re.compile("^Recipe graph"))
    expect(graph).to_be_visible()
    return graph


def _box(locator):
    box = locator.bounding_box()
    assert box is not None
    return box


def _in_canvas(locator):
    """The node's box relative to the canvas (the page may scroll meanwhile)."""
    box, canvas = _box(locator), _box(locator.page.locator("#graph"))
    return {**box, "x": box["x"] - canvas["x"], "y": box["y"] - canvas["y"]}


def _inside(inner, outer, slack=0.5):
    return (
        inner["x"] >= outer["x"] - slack
        and inner["y"] >= outer["y"] - slack
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
    )


def _all_nodes_inside(page):
    canvas = _box(page.locator("#graph"))
    nodes = page.locator("#graph [data-node]")
    boxes = [_box(nodes.nth(i)) for i in range(nodes.count())]
    return all(_inside(b, canvas) for b in boxes), boxes, canvas


def _screenshot(page, name):
    """For a reviewer: what the graph looked like (test-output/screenshots/graph/)."""
    folder = OUTPUT / "screenshots" / "graph"
    folder.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=str(folder / f"{name}-{size['width']}x{size['height']}.png"), full_page=True)


def _selection(page):
    return page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getSelection()")


@pytest.mark.parametrize("size", SIZES)
def test_every_node_is_inside_the_visible_canvas_with_data_and_condition_edges(signed_in, size):
    page = signed_in
    graph = _open_graph(page, size=size)
    expect(graph).to_have_attribute("aria-label", "Recipe graph: 3 variables, 4 components, 2 outputs")
    expect(page.locator("#graph [data-node]")).to_have_count(CHUNK_NODES)
    inside, boxes, canvas = _all_nodes_inside(page)
    assert inside, (canvas, boxes)
    viewport = page.viewport_size
    assert canvas["x"] >= 0 and canvas["x"] + canvas["width"] <= viewport["width"]
    # The outputs, clipped off the old drawing, are there and readable.
    for output in ("chunks", "summary"):
        expect(page.locator(f'#graph [data-node="output.{output}"]')).to_be_visible()
    # The iterator is a box around its inner component.
    assert _inside(
        _box(page.locator('[data-node="component.count.words"]')),
        _box(page.locator('[data-node="component.count"] > rect')),
    )
    # The condition link is drawn, dashed, besides the data links.
    condition = page.locator('#graph path.edge-condition[data-from="variable.mode"][data-to="component.total"]')
    expect(condition).to_have_count(1)
    assert _box(condition)["width"] > 10
    assert page.locator("#graph path.edge-data").count() == 6
    dash = condition.evaluate("e => getComputedStyle(e).strokeDasharray")
    assert dash not in ("", "none"), dash
    page.locator("#graph").scroll_into_view_if_needed()
    _screenshot(page, "fitted")


@pytest.mark.parametrize("size", SIZES)
def test_zoom_pan_and_fit_with_buttons_keys_and_the_mouse(signed_in, size):
    page = signed_in
    graph = _open_graph(page, size=size)
    node = page.locator('#graph [data-node="component.split"]')
    fitted = _in_canvas(node)
    page.get_by_role("button", name="Zoom in").click()
    zoomed = _box(node)
    assert zoomed["width"] == pytest.approx(fitted["width"] * 1.25, rel=0.02)
    page.get_by_role("button", name="Zoom out").click()
    page.get_by_role("button", name="Zoom out").click()
    assert _box(node)["width"] == pytest.approx(fitted["width"] * 0.8, rel=0.02)

    # The keyboard: the canvas takes focus; arrows pan, + zooms, 0 fits.
    graph.focus()
    expect(graph).to_be_focused()
    before = _box(node)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowUp")
    after = _box(node)
    assert after["x"] == pytest.approx(before["x"] + 48, abs=1) and after["y"] == pytest.approx(before["y"] + 48, abs=1)
    page.keyboard.press("+")
    assert _box(node)["width"] == pytest.approx(before["width"] * 1.25, rel=0.02)

    # The mouse: drag the background to pan.
    canvas = _box(graph)
    start = _box(node)
    page.mouse.move(canvas["x"] + 8, canvas["y"] + canvas["height"] - 8)
    page.mouse.down()
    page.mouse.move(canvas["x"] + 48, canvas["y"] + canvas["height"] - 28, steps=5)
    page.mouse.up()
    moved = _box(node)
    assert moved["x"] == pytest.approx(start["x"] + 40, abs=2) and moved["y"] == pytest.approx(start["y"] - 20, abs=2)
    assert not _all_nodes_inside(page)[0] or size[0] > 1000  # zoomed in on a phone, some nodes are out of view

    page.keyboard.press("0")
    assert _in_canvas(node) == pytest.approx(fitted, abs=1)
    page.get_by_role("button", name="Zoom in").click()
    page.get_by_role("button", name="Fit").click()
    assert _all_nodes_inside(page)[0]
    assert _in_canvas(node) == pytest.approx(fitted, abs=1)


def test_two_fingers_pinch_to_zoom_on_a_phone(signed_in):
    page = signed_in
    _open_graph(page, size=(390, 844))
    node = page.locator('#graph [data-node="component.split"]')
    fitted = _box(node)
    canvas = _box(page.locator("#graph"))
    x, y = canvas["x"] + 100, canvas["y"] + 150
    page.evaluate(
        """([x, y]) => {
        const box = document.getElementById('graph');
        const touch = (type, id, cx) => box.dispatchEvent(new PointerEvent(type, {
          pointerId: id, pointerType: 'touch', clientX: cx, clientY: y, bubbles: true, isPrimary: id === 1 }));
        touch('pointerdown', 1, x); touch('pointerdown', 2, x + 60);
        touch('pointermove', 2, x + 90); touch('pointermove', 2, x + 120);
        touch('pointerup', 2, x + 120); touch('pointerup', 1, x); }""",
        [x, y],
    )
    assert _box(node)["width"] == pytest.approx(fitted["width"] * 2, rel=0.02)  # 60 px apart, then 120
    expect(page.locator('#graph [data-node="component.split"]')).not_to_have_attribute("aria-pressed", "true")


def test_full_width_gives_the_graph_the_page_and_back(signed_in):
    page = signed_in
    graph = _open_graph(page)
    narrow = _box(graph)
    wide_button = page.get_by_role("button", name="Full width")
    expect(wide_button).to_have_attribute("aria-pressed", "false")
    wide_button.click()
    exit_button = page.get_by_role("button", name="Exit full width")
    expect(exit_button).to_have_attribute("aria-pressed", "true")
    page.wait_for_function("document.getElementById('graph').getBoundingClientRect().width > 1000")
    wide = _box(graph)
    assert wide["width"] > narrow["width"] * 1.8
    # Above the recipe, and the pipeline is fitted to the larger canvas.
    assert wide["y"] < _box(page.locator(".CodeMirror"))["y"]
    page.wait_for_function(
        "document.querySelector('[data-node=\"component.split\"]').getBoundingClientRect().width > 190"
    )
    assert _all_nodes_inside(page)[0]
    _screenshot(page, "full-width")
    graph.focus()
    page.keyboard.press("Escape")
    expect(wide_button).to_have_attribute("aria-pressed", "false")
    page.wait_for_function("document.getElementById('graph').getBoundingClientRect().width < 700")
    assert _all_nodes_inside(page)[0]


@pytest.mark.parametrize("size", SIZES)
def test_a_node_selects_its_block_in_the_yaml_and_shows_its_details(signed_in, size):
    page = signed_in
    _open_graph(page, size=size)
    page.locator('#graph [data-node="component.total"]').click()
    selection = _selection(page)
    assert selection.startswith("  total:\n    type: json") and "condition: ${variable.mode}" in selection
    assert "output:" not in selection  # the block only, not the next section
    details = page.locator("#graph-details")
    expect(details.get_by_role("heading", name="component total")).to_be_visible()
    expect(details).to_contain_text("json · TASK_JQ")
    expect(page.locator('#graph [data-node="component.total"]')).to_have_attribute("aria-pressed", "true")

    # An iterator's inner component, reached with the keyboard.
    inner = page.locator('#graph [data-node="component.count.words"]')
    inner.focus()
    page.keyboard.press("Enter")
    assert _selection(page).startswith("      words:\n        type: json")
    expect(details.get_by_role("heading", name="component words")).to_be_visible()
    expect(details).to_contain_text("count")

    page.locator('#graph [data-node="variable.mode"]').click()
    assert _selection(page).startswith("  mode:\n    title: Mode")
    page.locator('#graph [data-node="output.summary"]').click()
    assert _selection(page).startswith("  summary:\n    title: Summary")


def test_the_canvas_and_its_nodes_are_reached_with_tab(signed_in):
    page = signed_in
    graph = _open_graph(page)
    page.get_by_role("button", name="Fit").focus()
    page.keyboard.press("Tab")  # Full width
    page.keyboard.press("Tab")
    expect(graph).to_be_focused()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.dataset.node")
    assert focused == "variable.text"
    expect(page.locator('[data-node="variable.text"]')).to_have_accessible_name(re.compile("^variable text"))
    for _ in range(CHUNK_NODES - 1):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.node") == "output.summary"


def test_the_graph_follows_the_draft_as_it_is_validated(signed_in, make_pipeline):
    page = signed_in
    _open_graph(page, make_pipeline("graph-draft", SLOW_RECIPE) + "editor")
    expect(page.locator("#graph [data-node]")).to_have_count(3)
    editor = "document.querySelector('.CodeMirror').CodeMirror"
    page.evaluate(
        f"{editor}.setValue({editor}.getValue().replace('status: ', 'again: {{value: \"${{variable.url}}\"}}\\n  status: '))"
    )
    expect(page.locator('#graph [data-node="output.again"]')).to_be_visible(timeout=5_000)
    expect(page.locator('#graph path[data-from="variable.url"][data-to="output.again"]')).to_have_count(1)
    assert _all_nodes_inside(page)[0]
    page.evaluate(f"{editor}.setValue({editor}.getValue().replace('variable.url}}\"}}', 'variable.nope}}\"}}'))")
    expect(page.locator("#graph-note")).to_contain_text("last valid version", timeout=5_000)
    expect(page.locator('#graph [data-node="output.again"]')).to_be_visible()


@pytest.mark.parametrize("size", SIZES)
def test_nodes_show_their_status_live_and_their_duration_after_a_run(signed_in, make_pipeline, slow_server, size):
    page = signed_in
    _open_graph(page, make_pipeline("graph-run", SLOW_THEN_QUICK) + "editor", size=size)
    page.get_by_role("tab", name="Run").click()
    page.locator("#id_v-url").fill(f"{slow_server}/sleep/1.5")
    page.get_by_role("button", name="Run").click()
    page.get_by_role("tab", name="Graph").click()
    wait = page.locator('#graph [data-node="component.wait"]')
    shape = page.locator('#graph [data-node="component.shape"]')
    expect(wait).to_have_attribute("data-status", "running")
    expect(shape).to_have_attribute("data-status", "pending")
    expect(wait.locator(".node-status")).to_have_text(re.compile(r"^Running( · \d+ ms| · \d+\.\d s)?$"))
    expect(wait).to_have_accessible_name(re.compile("Running"))
    expect(wait).to_have_attribute("data-status", "completed", timeout=15_000)
    expect(shape).to_have_attribute("data-status", "completed")
    expect(wait.locator(".node-status")).to_have_text(re.compile(r"^Completed · \d\.\d s$"))
    assert 1.4 <= float(wait.get_attribute("data-duration")) < 5
    expect(shape.locator(".node-status")).to_have_text(re.compile(r"^Completed · \d+(\.\d)? m?s$"))
    expect(page.locator('#graph [data-node="output.shaped"]')).to_have_attribute("data-status", "completed")
    # The last inputs and outputs of a node, beside the canvas.
    wait.click()
    details = page.locator("#graph-details")
    expect(details).to_contain_text("Completed")
    expect(details.locator("pre").first).to_contain_text(f"{slow_server}/sleep/1.5")
    expect(details.locator("pre").nth(1)).to_contain_text('"status-code": 200')
    page.locator('#graph [data-node="output.shaped"]').click()
    expect(details.locator("pre")).to_contain_text('"code": 200')
    _screenshot(page, "after-a-run")
    # Still there after switching tabs.
    page.get_by_role("tab", name="Run").click()
    page.get_by_role("tab", name="Graph").click()
    expect(wait.locator(".node-status")).to_have_text(re.compile(r"^Completed · \d\.\d s$"))
    assert _all_nodes_inside(page)[0]


def test_a_failed_component_and_the_one_it_skipped_show_so(signed_in, make_pipeline):
    page = signed_in
    _open_graph(page, make_pipeline("graph-fail", SLOW_THEN_QUICK) + "editor")
    page.get_by_role("tab", name="Run").click()
    page.locator("#id_v-url").fill("http://127.0.0.1:9/closed")  # nothing listens: the request fails
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#live-status")).to_have_text(re.compile("Failed"), timeout=20_000)
    page.get_by_role("tab", name="Graph").click()
    wait = page.locator('#graph [data-node="component.wait"]')
    expect(wait).to_have_attribute("data-status", "errored")
    expect(wait.locator(".node-status")).to_have_text(re.compile(r"^Failed · \d+(\.\d)? m?s$"))
    expect(page.locator('#graph [data-node="component.shape"]')).to_have_attribute("data-status", "skipped")
    expect(page.locator('#graph [data-node="component.shape"] .node-status')).to_have_text("Skipped")
    wait.click()
    expect(page.locator("#graph-details .error")).not_to_be_empty()
    expect(page.locator("#graph-details pre").first).to_contain_text("127.0.0.1:9/closed")
