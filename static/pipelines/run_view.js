// A followed run, rendered live: one module for the Editor's and the Overview's run
// panels (templates/pipelines/partials/live_run.html). It follows the run with
// live_run.js's followRun (so "pipeline:run" events are announced on document for the
// graph and others), shows each component's status as it changes, the outputs as they
// grow (a streamed LLM answer token by token), errors, and the end state.

import { componentState, followRun } from "./live_run.js";

// One name per state, everywhere (the server's status_badge uses the same words).
export const LABELS = { pending: "Pending", running: "Running", completed: "Completed", skipped: "Skipped", errored: "Failed", cancelled: "Cancelled" };

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};

// The same rule as the server's pipeline_ui.is_short: a value shown on its key's line.
export function isShort(value) {
  if (value === null || value === undefined || typeof value === "number" || typeof value === "boolean") return true;
  return typeof value === "string" && !value.startsWith("data:") && !value.includes("\n") && value.length <= 80;
}

// The name a data URI carries (";filename=report.pdf"), else one from its type: the same
// rule as the server's pages (templatetags/pipeline_ui.py).
function dataUriName(uri, mime) {
  for (const part of uri.slice(5).split(",", 1)[0].split(";").slice(1)) {
    const [key, ...rest] = part.split("=");
    const name = rest.join("=");
    if (["filename", "name"].includes(key.trim().toLowerCase()) && name) {
      try { return decodeURIComponent(name).replace(/[/\\]/g, "_"); } catch { return name.replace(/[/\\]/g, "_"); }
    }
  }
  const extension = { "text/plain": "txt", "application/octet-stream": "bin" }[mime] || mime.split("/").pop() || "bin";
  return `file.${extension}`;
}

// Extensions of kept run files a browser plays (the server's pipeline_ui.MEDIA_EXTENSIONS).
const MEDIA_EXTENSIONS = Object.fromEntries([
  ...["wav", "mp3", "ogg", "oga", "opus", "flac", "m4a", "aac", "weba"].map((e) => [e, "audio"]),
  ...["mp4", "m4v", "webm", "ogv", "mov"].map((e) => [e, "video"]),
]);
const RUN_FILE = /^\/v1beta\/pipeline-runs\/[0-9a-f-]{36}\/files\/[A-Za-z0-9._-]+$/;

// An <audio>/<video> element with the browser's controls, as the server renders one.
function player(kind, src, mime) {
  const node = el(kind, { className: `output-${kind}`, controls: true, preload: "metadata", src });
  node.setAttribute("aria-label", `${kind} output (${mime})`);
  return node;
}

// A value as the server's pipeline_ui.render_value shows it: text in one style, images
// inline, audio and video as players, files as download links, objects and arrays as a
// JSON tree.
export function renderValue(value, depth = 0) {
  if (value === null || value === undefined) return el("span", { className: "muted", textContent: "null" });
  if (typeof value === "boolean") return el("code", { className: "json-bool", textContent: String(value) });
  if (typeof value === "number") return el("code", { className: "json-number", textContent: String(value) });
  if (typeof value === "string") {
    if (value.startsWith("data:image/")) return el("img", { src: value, className: "output-image", alt: `image output (${value.slice(5).split(/[;,]/)[0]})` });
    if (value.startsWith("data:")) {
      const mime = value.slice(5).split(/[;,]/)[0];
      if (mime.startsWith("audio/") || mime.startsWith("video/")) return player(mime.split("/")[0], value, mime);
      const name = dataUriName(value, mime);
      return el("a", { href: value, download: name, className: "file-link", textContent: `⭳ ${name}` });
    }
    if (RUN_FILE.test(value)) {
      const name = value.split("/").pop().replace(/^[^-]*-/, "");
      const link = el("a", { href: value, download: name, className: "file-link", textContent: `⭳ ${name}` });
      const kind = name.includes(".") ? MEDIA_EXTENSIONS[name.split(".").pop().toLowerCase()] : undefined;
      return kind ? el("div", { className: "output-file" }, player(kind, value, name), link) : link;
    }
    if (depth > 0 && isShort(value)) return el("span", { className: "json-string", textContent: `"${value}"` });
    return el("div", { className: "text-output", textContent: value });
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  if (!entries.length) return el("code", { className: "muted", textContent: Array.isArray(value) ? "[]" : "{}" });
  const tree = el("details", { className: "json-tree", open: depth < 2 },
    el("summary", {}, Array.isArray(value) ? "Array " : "Object ", el("span", { className: "muted", textContent: `(${entries.length} ${Array.isArray(value) ? "items" : "keys"})` })));
  if (Array.isArray(value)) tree.append(el("ol", { start: 0 }, ...entries.map(([, v]) => el("li", {}, renderValue(v, depth + 1)))));
  else tree.append(...entries.map(([k, v]) => el("div", { className: "json-row" }, el("span", { className: "json-key", textContent: k }), renderValue(v, depth + 1))));
  return tree;
}

const RUN_STATES = { RUN_STATUS_COMPLETED: ["completed", "Completed"], RUN_STATUS_FAILED: ["errored", "Failed"], RUN_STATUS_CANCELLED: ["cancelled", "Cancelled"] };

export class RunView {
  // root: a [data-run-view] element; urls: {operations, websocket}; csrf: the token for Cancel;
  // onComponent(id, state): told each component's state (the Editor's graph); onEnd({hadFocus})
  // when a run is over; onLine(line): a problem's line was chosen (the Editor's cursor goes there).
  constructor(root, { urls, csrf, onComponent = () => {}, onEnd = () => {}, onLine = null }) {
    this.root = root;
    this.urls = urls;
    this.csrf = csrf;
    this.onComponent = onComponent;
    this.onEndHook = onEnd;
    this.onLine = onLine;
    const part = (name) => root.querySelector(`[data-run-${name}]`);
    this.status = part("status");
    this.draft = part("draft");
    this.cancel = part("cancel");
    this.link = part("link");
    this.error = part("error");
    this.problems = part("problems");
    this.body = part("body");
    this.outputs = part("outputs");
    this.components = part("components");
    this.following = null;
    this.runUid = null;
    this.cancelling = false;
    this.titles = {};
    this.cancel.addEventListener("click", () => this.requestCancel());
  }

  get running() {
    return Boolean(this.runUid);
  }

  // Nothing shown (a new run was refused: no result of an earlier run stays on screen).
  clear() {
    this.following?.close();
    this.following = null;
    this.runUid = null;
    this.root.hidden = true;
    this.outputs.replaceChildren();
    this.components.replaceChildren();
    this.problems.replaceChildren();
    this.showError("");
  }

  // A run that did not start: the reason, and the recipe's problems when it has some.
  notStarted(message, problems = []) {
    this.clear();
    this.root.hidden = false;
    this.status.hidden = true; // no run, so no run status
    this.draft.hidden = true;
    this.link.hidden = true;
    this.showCancel(false);
    this.body.hidden = true;
    this.showError(message);
    this.problems.hidden = !problems.length;
    this.problems.replaceChildren(...problems.map((p) => {
      const line = this.onLine
        ? el("button", { type: "button", className: "linklike", textContent: `Line ${p.line}`, onclick: () => this.onLine(p.line) })
        : `Line ${p.line}`;
      return el("li", {}, line, " ", el("code", { textContent: p.location }), `: ${p.error}`);
    }));
    this.reveal();
  }

  // Follow a queued run: `started` is the server's answer ({runUid, runUrl, draft, outputs, components}).
  start(started) {
    this.following?.close();
    this.root.hidden = false;
    this.body.hidden = false;
    this.problems.hidden = true;
    this.problems.replaceChildren();
    this.showError("");
    this.status.hidden = false;
    this.setStatus("pending", "Queued");
    this.draft.hidden = !started.draft;
    this.link.href = started.runUrl;
    this.link.hidden = false;
    this.titles = Object.fromEntries((started.outputs || []).map((o) => [o.id, o.title]));
    this.outputs.replaceChildren(...(started.outputs || []).map((o) => this.outputRow(o.id, undefined)));
    if (!started.outputs?.length) this.outputs.append(el("p", { className: "muted", textContent: "The recipe declares no outputs." }));
    this.components.replaceChildren();
    for (const id of started.components || []) this.setComponent(id, "pending");
    this.runUid = started.runUid;
    this.showCancel(true);
    this.reveal();
    this.following = followRun(started.runUid, {
      websocket: this.urls.websocket,
      operations: this.urls.operations,
      onEvent: (name, data) => this.onEvent(name, data),
      onEnd: (status, error, response) => this.onEnd(status, error, response),
      onError: (message) => { this.showError(message); this.finish(); },
    });
  }

  // Results start below the fold on a phone: bring the run's heading into view.
  reveal() {
    const box = this.root.getBoundingClientRect();
    if (box.top < 0 || box.top > window.innerHeight - 120) this.root.scrollIntoView({ block: "start" });
  }

  setStatus(state, text) {
    this.status.className = `badge badge-${state}`;
    this.status.textContent = text;
  }

  showError(message) {
    this.error.hidden = !message;
    this.error.textContent = message || "";
  }

  showCancel(visible) {
    this.cancelling = false;
    this.cancel.hidden = !visible;
    this.cancel.disabled = false;
    this.cancel.textContent = "Cancel run";
  }

  outputRow(key, value) {
    const row = el("div", { className: `output${isShort(value) ? " output-inline" : ""}` }, el("dt", { textContent: this.titles[key] || key }), el("dd"));
    row.dataset.output = key;
    if (value === undefined) row.querySelector("dd").append(el("span", { className: "muted output-pending", title: "Not there yet" }));
    else row.querySelector("dd").append(renderValue(value));
    return row;
  }

  showOutputs(outputs) {
    for (const [key, value] of Object.entries(outputs || {})) {
      const fresh = this.outputRow(key, value);
      const row = this.outputs.querySelector(`[data-output="${CSS.escape(key)}"]`);
      if (row) row.replaceWith(fresh);
      else this.outputs.append(fresh);
    }
  }

  setComponent(id, state) {
    let item = this.components.querySelector(`[data-component="${CSS.escape(id)}"]`);
    if (!item) {
      item = el("li", {}, el("code", { textContent: id }), " ", el("span"));
      item.dataset.component = id;
      this.components.append(item);
    }
    const badge = item.querySelector("span");
    badge.className = `badge badge-${state}`;
    badge.textContent = LABELS[state];
    item.dataset.status = state;
    this.onComponent(id, state);
    return item;
  }

  async requestCancel() {
    if (!this.runUid || this.cancelling) return;
    this.cancelling = true;
    this.cancel.disabled = true;
    this.cancel.textContent = "Cancelling…";
    this.setStatus("pending", "Cancelling…");
    try {
      const answer = await fetch(`${this.urls.operations}${this.runUid}:cancel`, {
        method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": this.csrf, Accept: "application/json" },
      });
      if (!answer.ok) {
        const body = await answer.json().catch(() => ({}));
        throw new Error(body.message || `HTTP ${answer.status}`);
      }
    } catch (error) {
      this.showError(`Not cancelled: ${error.message}`);
      this.showCancel(true);
    }
  }

  onEvent(name, data) {
    if (this.cancelling && name === "PIPELINE_STATUS_UPDATED") return; // keep showing "Cancelling…"
    if (name === "PIPELINE_STATUS_UPDATED" && data.status?.started && !data.status.completed) this.setStatus("running", "Running");
    else if (name === "COMPONENT_STATUS_UPDATED") this.setComponent(data.componentID, componentState(data.status));
    else if (name === "COMPONENT_OUTPUT_UPDATED") {
      const item = this.setComponent(data.componentID, "running");
      let preview = item.querySelector(".component-output");
      if (!preview) item.append((preview = el("details", { className: "component-output" })));
      preview.replaceChildren(el("summary", { textContent: "Output" }), renderValue(data.output));
    } else if (name === "COMPONENT_ERROR_UPDATED") {
      const item = this.setComponent(data.componentID, "errored");
      item.append(el("p", { className: "error", textContent: data.error?.message || "" }));
    } else if (name === "PIPELINE_OUTPUT_UPDATED") this.showOutputs(data.output);
    else if (name === "PIPELINE_ERROR_UPDATED") this.showError(data.error?.message);
  }

  onEnd(status, error, response) {
    if (response) {
      // Polled instead of streamed: the final state at once.
      this.showOutputs(response.outputs?.[0]);
      const traces = response.metadata?.traces || {};
      for (const [id, trace] of Object.entries(traces)) {
        const s = trace.statuses?.[0];
        this.setComponent(id, s === "STATUS_COMPLETED" ? "completed" : s === "STATUS_SKIPPED" ? "skipped" : "errored");
      }
      status = Object.values(traces).some((t) => t.statuses?.includes("STATUS_ERROR")) ? "RUN_STATUS_FAILED" : "RUN_STATUS_COMPLETED";
    }
    const [state, text] = RUN_STATES[status] || ["errored", status || "Ended"];
    this.setStatus(state, text);
    // The run is over: a component that had not finished never will.
    const unfinished = status === "RUN_STATUS_CANCELLED" ? "cancelled" : "skipped";
    this.components.querySelectorAll("[data-status=pending], [data-status=running]").forEach((item) => this.setComponent(item.dataset.component, unfinished));
    this.outputs.querySelectorAll(".output-pending").forEach((dots) => { dots.className = "muted output-missing"; dots.title = "No value"; });
    if (error) this.showError(error);
    this.finish();
  }

  finish() {
    const hadFocus = this.cancel.contains(document.activeElement);
    this.showCancel(false);
    this.runUid = null;
    this.onEndHook({ hadFocus });
  }
}
