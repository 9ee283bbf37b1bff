// The Editor's graph: the recipe's variables, components (an iterator as a box around
// its inner components) and outputs, laid out left to right by dagre, with data and
// condition edges. Pan (drag, arrow keys), zoom (buttons, + and −, Ctrl + wheel), fit
// (button, 0) and a full-width mode. During and after a run each component shows its
// status and duration, from the run feed live_run.js announces on `document`; clicking
// a node (or Enter on it) selects its block in the YAML ("pipeline:select-block") and
// shows its last inputs and outputs beside the canvas.
//
// The data is the server's (`recipe_graph` in pipelines/views/outline.py): the page's
// json_script "graph-data", then each validation answer the Editor announces as
// "pipeline:checked".

import dagre from "../vendor/dagre-3.1.4/dagre.esm.js";
import { RUN_EVENT, componentState } from "./live_run.js";

const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 172;
const NODE_H = 58;
const MIN_ZOOM = 0.2;
const MAX_ZOOM = 3;
const PAN_STEP = 48;
const PAD = 16;
const LABELS = { pending: "Pending", running: "Running", completed: "Completed", skipped: "Skipped", errored: "Failed", cancelled: "Cancelled" };

const box = document.getElementById("graph");
const note = document.getElementById("graph-note");
const details = document.getElementById("graph-details");
const panel = box.closest(".graph-panel");
const grid = box.closest(".editor-grid");
const wideButton = panel.querySelector("[data-graph-action=wide]");

let data = JSON.parse(document.getElementById("graph-data").textContent || "null");
let layouts = null; // the graph laid out left to right and downwards: {LR, TB}
let layout = null; // the one shown: {rankdir, nodes: Map id → {x, y, width, height}, edges: [{edge, points}], width, height}
let view = { x: 0, y: 0, k: 1 };
let autoFit = true; // until the user pans or zooms, the graph keeps fitting its box
let selected = null;
let viewport = null;
let ticker = null;
// What the last run said about each node: id → {state, startedAt, endedAt, clockStart, seconds, input, output, error}.
let runs = new Map();

const el = (name, attrs = {}, ...children) => {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined && value !== null) node.setAttribute(key, value);
  node.append(...children);
  return node;
};
const html = (name, props = {}, ...children) => {
  const node = Object.assign(document.createElement(name), props);
  node.append(...children);
  return node;
};
const clip = (text, max) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const byId = (id) => data?.nodes.find((n) => n.id === id);
// Top-level components (and iterators) are the ones run events name.
const runKey = (node) => (node.kind === "output" ? node.id : node.kind !== "variable" && !node.parent ? node.label : null);

export function formatDuration(seconds) {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 1) return `${Math.max(1, Math.round(seconds * 1000))} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

// --- layout ------------------------------------------------------------------------

function computeLayout(graph, rankdir) {
  const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
  g.setGraph({ rankdir, nodesep: 18, ranksep: rankdir === "LR" ? 48 : 44, edgesep: 12, marginx: PAD, marginy: PAD });
  g.setDefaultEdgeLabel(() => ({}));
  const children = new Map();
  for (const node of graph.nodes) if (node.parent) children.set(node.parent, [...(children.get(node.parent) || []), node.id]);
  for (const node of graph.nodes) g.setNode(node.id, children.has(node.id) ? {} : { width: NODE_W, height: NODE_H });
  for (const node of graph.nodes) if (node.parent) g.setParent(node.id, node.parent);
  // dagre lays out edges between leaves only: an edge into (out of) an iterator's box
  // is laid out to its first (from its last) inner components and drawn to the box.
  const inside = (id, ancestor) => {
    for (let at = byIdIn(graph, id)?.parent; at; at = byIdIn(graph, at)?.parent) if (at === ancestor) return true;
    return false;
  };
  const ends = (id, entry) => {
    const kids = children.get(id);
    if (!kids) return [id];
    const internal = graph.edges.filter((e) => inside(e.source, id) && inside(e.target, id));
    const open = kids.filter((kid) => !internal.some((e) => (entry ? e.target === kid || inside(e.target, kid) : e.source === kid || inside(e.source, kid))));
    return (open.length ? open : kids).flatMap((kid) => ends(kid, entry));
  };
  const routed = [];
  graph.edges.forEach((edge, index) => {
    let pair = null;
    for (const v of ends(edge.source, false)) {
      for (const w of ends(edge.target, true)) {
        if (v === w) continue;
        g.setEdge(v, w, { weight: edge.kind === "condition" ? 1 : 2 }, `e${index}`);
        pair ||= [v, w];
      }
    }
    routed.push({ edge, name: `e${index}`, pair });
  });
  dagre.layout(g);
  const nodes = new Map();
  for (const node of graph.nodes) {
    const { x, y, width, height } = g.node(node.id);
    nodes.set(node.id, { x: x - width / 2, y: y - height / 2, width, height });
  }
  const edges = routed.map(({ edge, name, pair }) => {
    let points = pair ? g.edge(pair[0], pair[1], name)?.points : null;
    if (points && children.has(edge.source)) points = border(points, nodes.get(edge.source), rankdir, false);
    if (points && children.has(edge.target)) points = border(points, nodes.get(edge.target), rankdir, true);
    return { edge, points: points || connect(nodes.get(edge.source), nodes.get(edge.target), rankdir) };
  });
  const { width, height } = g.graph();
  return { rankdir, nodes, edges, width: width || NODE_W + 2 * PAD, height: height || NODE_H + 2 * PAD };
}

const byIdIn = (graph, id) => graph.nodes.find((n) => n.id === id);

// An edge laid out to (from) an inner component, cut where it enters (leaves) the iterator's box.
function border(points, box, rankdir, entering) {
  const within = (p) => p.x > box.x && p.x < box.x + box.width && p.y > box.y && p.y < box.y + box.height;
  const outside = points.filter((p) => !within(p));
  if (!outside.length) return null;
  const near = entering ? outside[outside.length - 1] : outside[0];
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const edge = rankdir === "TB"
    ? { x: clamp(near.x, box.x + 12, box.x + box.width - 12), y: entering ? box.y : box.y + box.height }
    : { x: entering ? box.x : box.x + box.width, y: clamp(near.y, box.y + 12, box.y + box.height - 12) };
  return entering ? [...outside, edge] : [edge, ...outside];
}

// From the right of one box to the left of the other (from the bottom to the top when
// the layout runs downwards): edges to and from iterator boxes.
function connect(a, b, rankdir) {
  if (rankdir === "TB") {
    const from = { x: a.x + a.width / 2, y: a.y + a.height };
    const to = { x: b.x + b.width / 2, y: b.y };
    const bend = Math.max(18, (to.y - from.y) / 2);
    return [from, { x: from.x, y: from.y + bend }, { x: to.x, y: to.y - bend }, to];
  }
  const from = { x: a.x + a.width, y: a.y + a.height / 2 };
  const to = { x: b.x, y: b.y + b.height / 2 };
  const bend = Math.max(24, (to.x - from.x) / 2);
  return [from, { x: from.x + bend, y: from.y }, { x: to.x - bend, y: to.y }, to];
}

// A smooth curve through dagre's points (Catmull-Rom as cubic Béziers).
function curve(points) {
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 0; i < points.length - 1; i += 1) {
    const [p0, p1, p2, p3] = [points[i - 1] || points[i], points[i], points[i + 1], points[i + 2] || points[i + 1]];
    const c1 = { x: p1.x + (p2.x - p0.x) / 6, y: p1.y + (p2.y - p0.y) / 6 };
    const c2 = { x: p2.x - (p3.x - p1.x) / 6, y: p2.y - (p3.y - p1.y) / 6 };
    d += ` C${c1.x.toFixed(1)},${c1.y.toFixed(1)} ${c2.x.toFixed(1)},${c2.y.toFixed(1)} ${p2.x.toFixed(1)},${p2.y.toFixed(1)}`;
  }
  return d;
}

// --- drawing -----------------------------------------------------------------------

function describe(node) {
  const kind = node.kind === "iterator" ? "iterator" : node.kind;
  const run = runs.get(node.id);
  const status = run ? `, ${LABELS[run.state]}${run.seconds != null ? ` in ${formatDuration(run.seconds)}` : ""}` : "";
  const inside = node.parent ? `, inside iterator ${byId(node.parent)?.label}` : "";
  return `${kind} ${node.label}${node.detail && node.kind !== "iterator" ? ` (${node.detail})` : ""}${inside}${status}${node.title ? `. ${node.title}` : ""}`;
}

function drawNode(node, place) {
  const cluster = node.kind === "iterator" && data.nodes.some((n) => n.parent === node.id);
  const group = el("g", {
    class: `node node-${node.kind}${cluster ? " node-cluster" : ""}`,
    transform: `translate(${place.x},${place.y})`,
    tabindex: "0",
    role: "button",
    "data-node": node.id,
    "data-component": node.kind !== "variable" && node.kind !== "output" && !node.parent ? node.label : null,
    "data-inner": node.parent ? node.label : null,
  });
  const chars = Math.floor((place.width - 20) / 7.2);
  group.append(
    el("rect", { width: place.width, height: place.height, rx: cluster ? 12 : 8 }),
    el("text", { x: 10, y: 18, class: "node-label" }, clip(node.label, chars)),
    el("text", { x: 10, y: 34, class: "node-detail" }, clip(node.kind === "variable" || node.kind === "output" ? [node.kind, node.detail].filter(Boolean).join(" · ") : node.detail, chars + 4)),
    el("text", { x: 10, y: 50, class: "node-status" }),
    el("title", {}), // the node's accessible name and tooltip (paintStatus)
  );
  return group;
}

// Left to right, or downwards when that fits the box at a larger scale (a narrow panel).
function bestDirection() {
  const [width, height] = [box.clientWidth, box.clientHeight];
  if (!width || !height) return layout?.rankdir || "LR";
  const scale = (l) => Math.min(width / l.width, height / l.height);
  return scale(layouts.LR) >= 0.9 * scale(layouts.TB) ? "LR" : "TB";
}

function render() {
  layouts = data ? { LR: computeLayout(data, "LR"), TB: computeLayout(data, "TB") } : null;
  draw(layouts ? bestDirection() : null);
}

function draw(rankdir) {
  const focused = document.activeElement?.closest?.("#graph [data-node]")?.dataset.node;
  box.replaceChildren();
  viewport = null;
  layout = null;
  if (!data) return;
  if (!data.nodes.length) note.textContent = "The recipe has no variables, components or outputs yet.";
  else if (note.textContent.startsWith("The recipe has no")) note.textContent = "";
  layout = layouts[rankdir];
  box.dataset.direction = rankdir;
  const marker = (id, cls) =>
    el("marker", { id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, el("path", { d: "M0,0 L10,5 L0,10 z", class: cls }));
  const edges = el("g", { class: "edges", "aria-hidden": "true" });
  for (const { edge, points } of layout.edges) {
    edges.append(
      el("path", { class: `edge edge-${edge.kind}`, d: curve(points), "marker-end": `url(#graph-arrow-${edge.kind})`, "data-from": edge.source, "data-to": edge.target, "data-kind": edge.kind }),
    );
  }
  const nodes = el("g", { class: "nodes" });
  for (const node of data.nodes) nodes.append(drawNode(node, layout.nodes.get(node.id)));
  viewport = el("g", { class: "viewport" }, edges, nodes);
  const svg = el("svg", { class: "graph-svg", width: "100%", height: "100%" }, el("defs", {}, marker("graph-arrow-data", "arrow"), marker("graph-arrow-condition", "arrow arrow-condition")), viewport);
  box.append(svg);
  const count = (kind) => data.nodes.filter((n) => (kind === "component" ? n.kind !== "variable" && n.kind !== "output" : n.kind === kind)).length;
  box.setAttribute("aria-label", `Recipe graph: ${count("variable")} variables, ${count("component")} components, ${count("output")} outputs`);
  for (const node of data.nodes) paintStatus(node.id);
  if (selected && !byId(selected)) selected = null;
  if (selected) markSelected(selected);
  if (autoFit) fitView();
  else apply();
  if (focused) box.querySelector(`[data-node="${CSS.escape(focused)}"]`)?.focus();
}

// --- view: pan, zoom, fit, full width ----------------------------------------------

function apply() {
  viewport?.setAttribute("transform", `translate(${view.x.toFixed(1)},${view.y.toFixed(1)}) scale(${view.k.toFixed(4)})`);
  box.dataset.zoom = String(Math.round(view.k * 100));
}

function fit() {
  autoFit = true;
  if (!layouts) return;
  const best = bestDirection();
  if (best !== layout.rankdir) draw(best);
  else fitView();
}

function fitView() {
  const width = box.clientWidth;
  const height = box.clientHeight;
  if (!width || !height) return; // hidden: fitted when shown
  const k = Math.min(1.25, Math.max(MIN_ZOOM / 2, Math.min(width / layout.width, height / layout.height)));
  view = { k, x: (width - layout.width * k) / 2, y: (height - layout.height * k) / 2 };
  apply();
}

function zoom(factor, cx = box.clientWidth / 2, cy = box.clientHeight / 2) {
  const k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, view.k * factor));
  view = { k, x: cx - ((cx - view.x) * k) / view.k, y: cy - ((cy - view.y) * k) / view.k };
  autoFit = false;
  apply();
}

function pan(dx, dy) {
  view = { ...view, x: view.x + dx, y: view.y + dy };
  autoFit = false;
  apply();
}

function setWide(on) {
  grid?.classList.toggle("graph-wide", on);
  wideButton.setAttribute("aria-pressed", String(on));
  wideButton.textContent = on ? "Exit full width" : "Full width";
  if (autoFit) requestAnimationFrame(fit);
}

// A node reached with Tab is brought into view.
function reveal(id) {
  const place = layout?.nodes.get(id);
  if (!place) return;
  const left = view.x + place.x * view.k;
  const top = view.y + place.y * view.k;
  const right = left + place.width * view.k;
  const bottom = top + place.height * view.k;
  if (left >= 0 && top >= 0 && right <= box.clientWidth && bottom <= box.clientHeight) return;
  view = { ...view, x: box.clientWidth / 2 - (place.x + place.width / 2) * view.k, y: box.clientHeight / 2 - (place.y + place.height / 2) * view.k };
  autoFit = false;
  apply();
}

panel.querySelector(".graph-toolbar").addEventListener("click", (event) => {
  const action = event.target.closest("[data-graph-action]")?.dataset.graphAction;
  if (action === "zoom-in") zoom(1.25);
  else if (action === "zoom-out") zoom(0.8);
  else if (action === "fit") fit();
  else if (action === "wide") setWide(!grid?.classList.contains("graph-wide"));
});

box.addEventListener("keydown", (event) => {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const node = event.target.closest?.("[data-node]");
  const moves = { ArrowLeft: [PAN_STEP, 0], ArrowRight: [-PAN_STEP, 0], ArrowUp: [0, PAN_STEP], ArrowDown: [0, -PAN_STEP] };
  if (moves[event.key]) pan(...moves[event.key]);
  else if (event.key === "+" || event.key === "=") zoom(1.25);
  else if (event.key === "-" || event.key === "_") zoom(0.8);
  else if (event.key === "0") fit();
  else if (event.key === "Escape" && grid?.classList.contains("graph-wide")) setWide(false);
  else if (node && (event.key === "Enter" || event.key === " ")) select(node.dataset.node);
  else return;
  event.preventDefault();
});

box.addEventListener("wheel", (event) => {
  if (!event.ctrlKey && !event.metaKey) return; // a plain wheel scrolls the page
  event.preventDefault();
  const rect = box.getBoundingClientRect();
  zoom(event.deltaY < 0 ? 1.1 : 1 / 1.1, event.clientX - rect.left, event.clientY - rect.top);
}, { passive: false });

// Pointers on the canvas: one drags (pans; a tap selects a node), two pinch (zoom
// around their middle).
const pointers = new Map();
let drag = null;
let pinch = null;
const spread = () => {
  const [a, b] = [...pointers.values()];
  return Math.hypot(a.x - b.x, a.y - b.y);
};
box.addEventListener("pointerdown", (event) => {
  if (event.pointerType === "mouse" && event.button !== 0) return;
  pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
  if (pointers.size === 1) drag = { moved: false };
  else if (pointers.size === 2) {
    pinch = { distance: spread() };
    drag = { moved: true };
  }
});
box.addEventListener("pointermove", (event) => {
  const last = pointers.get(event.pointerId);
  if (!last || !drag) return;
  const now = { x: event.clientX, y: event.clientY };
  if (pinch) {
    pointers.set(event.pointerId, now);
    const [a, b] = [...pointers.values()];
    const rect = box.getBoundingClientRect();
    const distance = spread();
    if (pinch.distance > 0 && distance > 0) zoom(distance / pinch.distance, (a.x + b.x) / 2 - rect.left, (a.y + b.y) / 2 - rect.top);
    pinch.distance = distance;
    return;
  }
  const [dx, dy] = [now.x - last.x, now.y - last.y];
  if (!drag.moved && Math.hypot(dx, dy) < 4) return; // not a drag yet: a tap
  if (!drag.moved) box.setPointerCapture(event.pointerId);
  drag.moved = true;
  pointers.set(event.pointerId, now);
  box.classList.add("dragging");
  pan(dx, dy);
});
const release = (event) => {
  if (!pointers.delete(event.pointerId)) return;
  if (pointers.size < 2) pinch = null;
  if (pointers.size) return;
  const tap = drag && !drag.moved && event.type === "pointerup";
  drag = null;
  box.classList.remove("dragging");
  const node = tap && event.target.closest?.("[data-node]");
  if (node) select(node.dataset.node);
};
box.addEventListener("pointerup", release);
box.addEventListener("pointercancel", release);
box.addEventListener("focusin", (event) => {
  const node = event.target.closest?.("[data-node]");
  if (node) reveal(node.dataset.node);
});

new ResizeObserver(() => { if (autoFit) fit(); }).observe(box);
document.addEventListener("tab:shown", (event) => { if (event.target.id === "tab-graph" && autoFit) fit(); });

// --- selection and details ---------------------------------------------------------

function markSelected(id) {
  box.querySelectorAll("[data-node]").forEach((g) => {
    const on = g.dataset.node === id;
    g.classList.toggle("selected", on);
    g.setAttribute("aria-pressed", String(on));
  });
}

function select(id) {
  const node = byId(id);
  if (!node) return;
  selected = id;
  markSelected(id);
  showDetails();
  const [section, ...rest] = node.path;
  document.dispatchEvent(new CustomEvent("pipeline:select-block", { detail: { section, id: node.label, path: [section, ...rest] } }));
}

// A value as JSON (long strings such as data URIs cut), in a box that scrolls: focusable.
function shown(value, name) {
  const text = JSON.stringify(value, (key, v) => (typeof v === "string" && v.length > 400 ? `${v.slice(0, 400)}… (${v.length.toLocaleString()} characters)` : v), 2);
  const box = html("pre", { className: "code graph-value", textContent: text ?? "null", tabIndex: 0 });
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", name);
  return box;
}

function showDetails() {
  const node = selected && byId(selected);
  if (!node) {
    details.replaceChildren(html("p", { className: "muted", textContent: "Select a node to see its last inputs and outputs." }));
    return;
  }
  const run = runs.get(node.id);
  const facts = html("dl", { className: "graph-facts" });
  const fact = (term, value) => value && facts.append(html("dt", { textContent: term }), html("dd", { textContent: value }));
  fact("Kind", node.kind);
  if (node.type) fact("Type", node.type === "iterator" ? "iterator" : `${node.type} · ${node.task}`);
  else if (node.detail) fact(node.kind === "variable" ? "Type" : "Title", node.detail);
  if (node.parent) fact("Inside", byId(node.parent)?.label);
  if (node.title) fact("Description", node.title);
  if (run) {
    fact("Status", LABELS[run.state]);
    if (node.kind !== "output") {
      fact("Duration", formatDuration(run.seconds ?? liveSeconds(run)) || "—");
      facts.lastElementChild.dataset.duration = "";
    }
  }
  const parts = [html("h2", { className: "h-small", textContent: `${node.kind} ${node.label}` }), facts];
  if (run?.error) parts.push(html("p", { className: "error", textContent: run.error }));
  if (node.kind !== "output" && node.kind !== "variable") {
    parts.push(html("h3", { className: "h-small", textContent: "Last input" }), run?.input !== undefined ? shown(run.input, `Last input of ${node.label}`) : html("p", { className: "muted", textContent: node.parent ? "Inner components run per element; the iterator's box shows the run." : "Not run yet." }));
  }
  if (node.kind !== "variable") {
    parts.push(html("h3", { className: "h-small", textContent: node.kind === "output" ? "Last value" : "Last output" }), run?.output !== undefined ? shown(run.output, `Last ${node.kind === "output" ? "value" : "output"} of ${node.label}`) : html("p", { className: "muted", textContent: "None yet." }));
  }
  details.replaceChildren(...parts);
}

// --- live status -------------------------------------------------------------------

function liveSeconds(run) {
  return run.state === "running" && run.clockStart != null ? (performance.now() - run.clockStart) / 1000 : null;
}

function paintStatus(id) {
  const g = box.querySelector(`[data-node="${CSS.escape(id)}"]`);
  const node = byId(id);
  if (!g || !node) return;
  const run = runs.get(id);
  if (run) g.dataset.status = run.state;
  else delete g.dataset.status;
  const seconds = run ? run.seconds ?? liveSeconds(run) : null;
  const line = g.querySelector(".node-status");
  line.textContent = run && node.kind !== "output" ? `${LABELS[run.state]}${seconds != null ? ` · ${formatDuration(seconds)}` : ""}` : run?.output !== undefined ? "Ready" : "";
  g.dataset.duration = run?.seconds != null ? String(run.seconds) : "";
  g.querySelector("title").textContent = describe(node);
}

function update(id, changes) {
  const run = { ...(runs.get(id) || { state: "pending" }), ...changes };
  runs.set(id, run);
  paintStatus(id);
  if (selected === id) showDetails();
  return run;
}

const nodeOf = (componentId) => data?.nodes.find((n) => runKey(n) === componentId)?.id;
const stamp = (data) => {
  const t = Date.parse(data?.updateTime || "");
  return Number.isNaN(t) ? Date.now() : t;
};

function tick() {
  const running = [...runs.entries()].filter(([, run]) => run.state === "running");
  for (const [id] of running) paintStatus(id);
  const clock = selected && runs.get(selected)?.state === "running" && details.querySelector("[data-duration]");
  if (clock) clock.textContent = formatDuration(liveSeconds(runs.get(selected)));
  if (!running.length && ticker) { clearInterval(ticker); ticker = null; }
}

function onRunEvent(name, payload) {
  const id = payload.componentID !== undefined ? nodeOf(payload.componentID) : null;
  if (name === "COMPONENT_STATUS_UPDATED" && id) {
    const state = componentState(payload.status);
    const at = stamp(payload);
    const run = runs.get(id) || {};
    if (state === "running") {
      update(id, { state, startedAt: at, clockStart: performance.now(), seconds: null });
      ticker ||= setInterval(tick, 200);
    } else if (state === "skipped") update(id, { state, seconds: null });
    else {
      const started = run.startedAt ?? at;
      update(id, { state, endedAt: at, seconds: Math.max(0, (at - started) / 1000) });
    }
  } else if (name === "COMPONENT_INPUT_UPDATED" && id) update(id, { input: payload.input });
  else if (name === "COMPONENT_OUTPUT_UPDATED" && id) update(id, { output: payload.output });
  else if (name === "COMPONENT_ERROR_UPDATED" && id) update(id, { error: payload.error?.message || "" });
  else if (name === "PIPELINE_OUTPUT_UPDATED") {
    for (const [key, value] of Object.entries(payload.output || {})) {
      if (value !== null && byId(`output.${key}`)) update(`output.${key}`, { state: "completed", output: value });
    }
  }
}

function onRunEnd(status, response) {
  // Polled instead of streamed: the traces say it all at once.
  for (const [componentId, trace] of Object.entries(response?.metadata?.traces || {})) {
    const id = nodeOf(componentId);
    if (!id) continue;
    const s = trace.statuses?.[0];
    const state = s === "STATUS_COMPLETED" ? "completed" : s === "STATUS_SKIPPED" ? "skipped" : "errored";
    update(id, {
      state,
      seconds: state === "skipped" ? null : trace.computeTimeInSeconds ?? null,
      ...(trace.inputs?.length ? { input: trace.inputs[0] } : {}),
      ...(trace.outputs?.length ? { output: trace.outputs[0] } : {}),
      ...(trace.error?.message ? { error: trace.error.message } : {}),
    });
  }
  for (const [key, value] of Object.entries(response?.outputs?.[0] || {})) if (byId(`output.${key}`)) update(`output.${key}`, { state: "completed", output: value });
  // The run is over: a component that had not finished never will.
  const unfinished = status === "RUN_STATUS_CANCELLED" ? "cancelled" : "skipped";
  for (const [id, run] of runs) {
    if (run.state === "pending" || run.state === "running") {
      const seconds = run.state === "running" ? liveSeconds(run) : null;
      update(id, { state: unfinished, seconds });
    }
  }
  tick();
}

document.addEventListener(RUN_EVENT, (event) => {
  const { type, name, data: payload, status, response } = event.detail;
  if (type === "start") {
    runs = new Map();
    for (const node of data?.nodes || []) {
      if (node.kind !== "variable" && node.kind !== "output" && !node.parent) runs.set(node.id, { state: "pending" });
    }
    for (const node of data?.nodes || []) paintStatus(node.id);
    showDetails();
  } else if (type === "event") onRunEvent(name, payload || {});
  else if (type === "end") onRunEnd(status, response);
});

// --- following the draft -----------------------------------------------------------

document.addEventListener("pipeline:checked", (event) => {
  const state = event.detail || {};
  if (state.graph) {
    note.textContent = "";
    box.classList.remove("stale");
    if (JSON.stringify(state.graph) !== JSON.stringify(data)) {
      data = state.graph;
      render();
    }
  } else if (data) {
    note.textContent = "The recipe has problems: the graph shows its last valid version.";
    box.classList.add("stale");
  } else note.textContent = "The graph appears when the recipe is valid.";
});

render();
