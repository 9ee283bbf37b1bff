// The Editor: CodeMirror over the recipe textarea, validation as you type by the
// server's parser (debounced by the lint addon), Save with an unsaved-changes
// warning, Release through htmx, and Run followed live over the websocket.

import { componentState, followRun } from "./live_run.js";

const config = JSON.parse(document.getElementById("editor-config").textContent);
const csrf = document.querySelector("[name=csrfmiddlewaretoken]").value;
const $ = (id) => document.getElementById(id);
const saveState = $("save-state");
const LABELS = { pending: "Pending", running: "Running", completed: "Completed", skipped: "Skipped", errored: "Errored", cancelled: "Cancelled" };

let dirty = false;
let saving = null;

const post = (url, body) =>
  fetch(url, { method: "POST", body, credentials: "same-origin", headers: { "X-CSRFToken": csrf, Accept: "application/json" } });

// --- editor + validation ---------------------------------------------------------

const textarea = $("recipe");
const editor = window.CodeMirror
  ? window.CodeMirror.fromTextArea(textarea, {
      mode: "yaml",
      lineNumbers: true,
      indentUnit: 2,
      tabSize: 2,
      screenReaderLabel: "Recipe (YAML). Press Escape, then Tab, to leave the editor.",
      // The editable text is the focusable element inside the scrolling area, which
      // screen readers read as text and axe-core sees as a keyboard-reachable region.
      inputStyle: "contenteditable",
      gutters: ["CodeMirror-lint-markers", "CodeMirror-linenumbers"],
      lint: { getAnnotations: lint, async: true, delay: 400 },
      // Tab indents, so the keyboard needs a way out: Escape arms it, and the next Tab or
      // Shift-Tab is left to the browser (the keydown handler below), which moves focus on
      // (or back) as anywhere else.
      extraKeys: {
        Tab: (cm) => cm.replaceSelection("  "),
        "Shift-Tab": (cm) => cm.execCommand("indentLess"),
        "Ctrl-S": () => save(),
        "Cmd-S": () => save(),
        Esc: (cm) => armLeave(cm, true),
      },
    })
  : null;
// While armed, the editor shows "Tab leaves the editor" (app.css); any other key or
// leaving the editor disarms it.
function armLeave(cm, armed) {
  cm.state.leaving = armed;
  cm.getWrapperElement().classList.toggle("cm-leaving", armed);
}
if (editor) {
  editor.on("keydown", (cm, event) => {
    if (event.key === "Tab" && cm.state.leaving) event.codemirrorIgnore = true;
    if (!["Escape", "Shift"].includes(event.key)) armLeave(cm, false);
  });
  editor.on("blur", (cm) => armLeave(cm, false));
}
const getText = () => (editor ? editor.getValue() : textarea.value);

function lint(text, update) {
  post(config.urls.validate, new URLSearchParams({ rawRecipe: text }))
    .then((answer) => answer.json())
    .then((state) => {
      showState(state);
      const Pos = window.CodeMirror.Pos;
      update(
        state.problems.map((p) => ({
          from: Pos(p.line - 1, 0),
          to: Pos(p.line - 1, 1000),
          message: `${p.location}: ${p.error}`,
          severity: "error",
        })),
      );
    })
    .catch(() => update([]));
}

function showState(state) {
  const problems = state.problems || [];
  $("validity").innerHTML = problems.length
    ? `<span class="badge badge-errored">${problems.length} problem${problems.length === 1 ? "" : "s"}</span>`
    : '<span class="badge badge-completed">Valid</span>';
  const list = $("problems");
  list.replaceChildren(
    ...problems.map((p) => {
      const item = document.createElement("li");
      const jump = Object.assign(document.createElement("button"), { type: "button", className: "linklike", textContent: `Line ${p.line}` });
      jump.dataset.line = p.line;
      const where = Object.assign(document.createElement("code"), { textContent: p.location });
      item.append(jump, " ", where, `: ${p.error}`);
      return item;
    }),
  );
  if (state.graph) $("graph").innerHTML = state.graph;
}

$("problems").addEventListener("click", (event) => {
  const jump = event.target.closest("[data-line]");
  if (!jump || !editor) return;
  editor.focus();
  editor.setCursor({ line: Number(jump.dataset.line) - 1, ch: 0 });
});

const markDirty = () => {
  dirty = true;
  saveState.textContent = "Unsaved changes";
};
if (editor) editor.on("change", markDirty);
else textarea.addEventListener("input", markDirty);

window.addEventListener("beforeunload", (event) => {
  if (!dirty) return;
  event.preventDefault();
  event.returnValue = "";
});

// --- save ------------------------------------------------------------------------

async function save() {
  if (saving) return saving;
  saving = (async () => {
    const text = getText();
    saveState.textContent = "Saving…";
    try {
      const answer = await post(config.urls.save, new URLSearchParams({ rawRecipe: text }));
      const state = await answer.json();
      showState(state);
      if (!state.saved) {
        saveState.textContent = state.message || "Not saved.";
        return false;
      }
      if (getText() === text) dirty = false;
      saveState.textContent = dirty ? "Unsaved changes" : "Saved";
      if (state.form !== undefined) $("run-fields").innerHTML = state.form;
      return true;
    } catch (error) {
      saveState.textContent = `Not saved: ${error.message}`;
      return false;
    } finally {
      saving = null;
    }
  })();
  return saving;
}

$("save-button").addEventListener("click", () => save());

// A release freezes the saved recipe: save a draft first.
document.addEventListener("htmx:confirm", (event) => {
  if (!event.target.matches("[data-release-form]") || !dirty) return;
  event.preventDefault();
  save().then((saved) => saved && event.detail.issueRequest(true));
});

// --- run -------------------------------------------------------------------------

const runForm = $("run-form");
const runButton = $("run-button");
const cancelButton = $("cancel-button");
let following = null;
let runUid = null;
let cancelling = false;

function setComponent(id, state) {
  let item = document.querySelector(`#live-components [data-component="${CSS.escape(id)}"]`);
  if (!item) {
    item = document.createElement("li");
    item.dataset.component = id;
    item.append(Object.assign(document.createElement("code"), { textContent: id }), " ", document.createElement("span"));
    $("live-components").append(item);
  }
  const badge = item.querySelector("span");
  badge.className = `badge badge-${state}`;
  badge.textContent = LABELS[state];
  item.dataset.status = state;
  document.querySelectorAll(`#graph [data-component="${CSS.escape(id)}"]`).forEach((node) => { node.dataset.status = state; });
  return item;
}

function renderValue(value) {
  if (typeof value === "string") {
    if (value.startsWith("data:image/")) return Object.assign(document.createElement("img"), { src: value, className: "output-image", alt: "image output" });
    if (value.startsWith("data:")) return Object.assign(document.createElement("a"), { href: value, download: "file", className: "file-link", textContent: "⭳ Download file" });
    return Object.assign(document.createElement("pre"), { className: "text-output", textContent: value });
  }
  if (value === null || value === undefined) return Object.assign(document.createElement("span"), { className: "muted", textContent: "null" });
  return Object.assign(document.createElement("pre"), { className: "code", textContent: JSON.stringify(value, null, 2) });
}

function showOutputs(outputs) {
  const box = $("live-outputs");
  box.replaceChildren(
    ...Object.entries(outputs || {}).map(([key, value]) => {
      const row = Object.assign(document.createElement("div"), { className: "output" });
      row.dataset.output = key;
      row.append(Object.assign(document.createElement("dt"), { textContent: key }), Object.assign(document.createElement("dd"), {}));
      row.querySelector("dd").append(renderValue(value));
      return row;
    }),
  );
}

function showRunStatus(state, text) {
  const badge = $("live-status");
  badge.className = `badge badge-${state}`;
  badge.textContent = text;
}

function showError(message) {
  const box = $("live-error");
  box.hidden = !message;
  box.textContent = message || "";
}

function showCancel(visible) {
  cancelling = false;
  cancelButton.hidden = !visible;
  cancelButton.disabled = false;
  cancelButton.textContent = "Cancel run";
}

// The run's end comes over the websocket (or the polled operation) as for any run.
cancelButton.addEventListener("click", async () => {
  if (!runUid || cancelling) return;
  cancelling = true;
  cancelButton.disabled = true;
  cancelButton.textContent = "Cancelling…";
  showRunStatus("pending", "Cancelling…");
  try {
    const answer = await post(`${config.urls.operations}${runUid}:cancel`);
    if (!answer.ok) {
      const body = await answer.json().catch(() => ({}));
      throw new Error(body.message || `HTTP ${answer.status}`);
    }
  } catch (error) {
    showError(`Not cancelled: ${error.message}`);
    showCancel(true);
  }
});

function onEvent(name, data) {
  if (cancelling && name === "PIPELINE_STATUS_UPDATED") return; // keep showing "Cancelling…"
  if (name === "PIPELINE_STATUS_UPDATED" && data.status?.started && !data.status.completed) showRunStatus("running", "Running");
  else if (name === "COMPONENT_STATUS_UPDATED") setComponent(data.componentID, componentState(data.status));
  else if (name === "COMPONENT_OUTPUT_UPDATED") {
    const item = setComponent(data.componentID, "running");
    let preview = item.querySelector(".component-output");
    if (!preview) item.append((preview = Object.assign(document.createElement("details"), { className: "component-output" })));
    preview.replaceChildren(Object.assign(document.createElement("summary"), { textContent: "output" }), renderValue(data.output));
  } else if (name === "COMPONENT_ERROR_UPDATED") {
    const item = setComponent(data.componentID, "errored");
    item.append(Object.assign(document.createElement("p"), { className: "error", textContent: data.error?.message || "" }));
  } else if (name === "PIPELINE_OUTPUT_UPDATED") showOutputs(data.output);
  else if (name === "PIPELINE_ERROR_UPDATED") showError(data.error?.message);
}

function onEnd(status, error, response) {
  if (response) {
    // Polled instead of streamed: the final state at once.
    showOutputs(response.outputs?.[0]);
    for (const [id, trace] of Object.entries(response.metadata?.traces || {})) {
      const s = trace.statuses?.[0];
      setComponent(id, s === "STATUS_COMPLETED" ? "completed" : s === "STATUS_SKIPPED" ? "skipped" : "errored");
    }
    const failed = Object.values(response.metadata?.traces || {}).some((t) => t.statuses?.includes("STATUS_ERROR"));
    status = failed ? "RUN_STATUS_FAILED" : "RUN_STATUS_COMPLETED";
  }
  const states = { RUN_STATUS_COMPLETED: ["completed", "Completed"], RUN_STATUS_FAILED: ["errored", "Failed"], RUN_STATUS_CANCELLED: ["cancelled", "Cancelled"] };
  const [state, text] = states[status] || ["errored", status || "Ended"];
  showCancel(false);
  showRunStatus(state, text);
  // The run is over: a component that had not finished never will.
  const unfinished = status === "RUN_STATUS_CANCELLED" ? "cancelled" : "skipped";
  document.querySelectorAll("#live-components [data-status=pending], #live-components [data-status=running]").forEach((item) => setComponent(item.dataset.component, unfinished));
  if (error) showError(error);
  runButton.disabled = false;
  runButton.classList.remove("busy");
}

function showFieldErrors(errors) {
  runForm.querySelectorAll(".field-errors").forEach((box) => box.replaceChildren());
  runForm.querySelectorAll(".run-field.has-error").forEach((field) => field.classList.remove("has-error"));
  for (const [name, messages] of Object.entries(errors || {})) {
    const box = document.getElementById(`errors-${name}`);
    if (!box) continue;
    box.closest(".run-field")?.classList.add("has-error");
    box.replaceChildren(...messages.map((m) => Object.assign(document.createElement("p"), { className: "error", role: "alert", textContent: m })));
  }
}

runForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  runButton.disabled = true;
  runButton.classList.add("busy");
  const done = (message) => {
    showCancel(false);
    runButton.disabled = false;
    runButton.classList.remove("busy");
    if (message) { $("live-run").hidden = false; showRunStatus("errored", "Not started"); showError(message); }
  };
  if (dirty && !(await save())) return done("Save failed: fix the recipe's problems first.");
  following?.close();
  const answer = await post(config.urls.run, new FormData(runForm));
  const body = await answer.json().catch(() => ({ error: `HTTP ${answer.status}` }));
  showFieldErrors(body.errors);
  if (!answer.ok) return done(body.error || (Object.keys(body.errors || {}).length ? "" : "The run did not start."));
  $("live-run").hidden = false;
  showError("");
  showRunStatus("pending", "Queued");
  $("live-outputs").replaceChildren();
  $("live-components").replaceChildren();
  document.querySelectorAll("#graph [data-component]").forEach((node) => setComponent(node.dataset.component, "pending"));
  $("live-run-link").href = `${config.urls.runs}${body.runUid}/`;
  runUid = body.runUid;
  showCancel(true);
  following = followRun(body.runUid, { websocket: config.urls.websocket, operations: config.urls.operations, onEvent, onEnd, onError: (m) => { showError(m); done(); } });
});
