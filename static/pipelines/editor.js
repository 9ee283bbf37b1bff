// The Editor: CodeMirror over the recipe textarea, validation as you type by the
// server's parser (debounced by the lint addon), Save with an unsaved-changes
// warning, Release through htmx, and Run of the draft (unsaved) followed live.

import { isBusy, runForm as wireRunForm, setBusy, showFieldErrors } from "./run_form.js";
import { RunView } from "./run_view.js";

const config = JSON.parse(document.getElementById("editor-config").textContent);
const csrf = document.querySelector("[name=csrfmiddlewaretoken]").value;
const $ = (id) => document.getElementById(id);
const saveState = $("save-state");

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
        "Ctrl-Space": (cm) => complete(cm),
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
// --- completion ---------------------------------------------------------------------
// Component types after `type:`, that component's tasks after `task:` and the task's
// input names inside `input:`, read once from the component catalog the API serves (the
// show-hint addon draws the list; while it is open, its keys win, so Escape closes it only).

let catalog = null;
const loadCatalog = () =>
  (catalog ??= fetch("/v1beta/component-definitions?view=VIEW_FULL&pageSize=100", { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((answer) => (answer.ok ? answer.json() : { componentDefinitions: [] }))
    .then((body) => body.componentDefinitions || [])
    .catch(() => ((catalog = null), [])));

const lineIndent = (text) => text.search(/\S/);
// The value of `key:` among the sibling lines of the block around line `at` (same indent).
function siblingValue(cm, at, indent, key) {
  const pattern = new RegExp(`^\\s*${key}:\\s*["']?([^"'#\\s]+)`);
  for (const step of [-1, 1]) {
    for (let n = at; n >= 0 && n < cm.lineCount(); n += step) {
      const text = cm.getLine(n);
      if (!text.trim() || text.trim().startsWith("#")) continue;
      if (lineIndent(text) < indent) break;
      if (lineIndent(text) === indent && pattern.test(text)) return text.match(pattern)[1];
    }
  }
  return null;
}

// What to offer at the cursor: {kind, word, from, line, indent} (the block's key line and indent) or null.
function completionContext(cm) {
  const cursor = cm.getCursor();
  const before = cm.getLine(cursor.line).slice(0, cursor.ch);
  const keyed = before.match(/^(\s*)(type|task):\s*(\S*)$/);
  if (keyed) {
    return { kind: keyed[2], word: keyed[3], from: cursor.ch - keyed[3].length, line: cursor.line, indent: keyed[1].length };
  }
  const naming = before.match(/^(\s*)([\w-]*)$/);
  if (!naming) return null;
  for (let n = cursor.line - 1; n >= 0; n -= 1) {
    const text = cm.getLine(n);
    if (!text.trim() || text.trim().startsWith("#")) continue;
    if (lineIndent(text) >= naming[1].length) continue;
    if (!/^\s*input:\s*(#.*)?$/.test(text)) return null;
    return { kind: "input", word: naming[2], from: naming[1].length, line: n, indent: lineIndent(text) };
  }
  return null;
}

function completionItems(definitions, cm, context) {
  const byId = (id) => definitions.find((d) => d.id === id);
  if (context.kind === "type") {
    return definitions.map((d) => ({ text: d.id, detail: d.title }));
  }
  const definition = byId(siblingValue(cm, context.line, context.indent, "type"));
  if (!definition) return [];
  if (context.kind === "task") {
    return definition.tasks.map((t) => ({ text: t.name, detail: t.description || t.title }));
  }
  const task = siblingValue(cm, context.line, context.indent, "task");
  const properties = definition.spec?.dataSpecifications?.[task]?.input?.properties || {};
  return Object.entries(properties).map(([name, field]) => ({ text: `${name}: `, label: name, detail: field.title || field.description || "" }));
}

function renderItem(element, _data, item) {
  element.append(item.label || item.text);
  if (item.detail) element.append(Object.assign(document.createElement("span"), { className: "hint-detail", textContent: ` ${item.detail}` }));
}

// Completions are asked for as keys arrive, and the catalog may still be loading: only
// the newest request shows its list, and none that was asked for before an Escape.
let completionSeq = 0;

async function complete(cm, auto = false) {
  if (!cm.showHint) return;
  const seq = ++completionSeq;
  if (!completionContext(cm)) return;
  const catalog = await loadCatalog();
  if (seq !== completionSeq || cm.state.completionActive) return;
  const context = completionContext(cm);
  if (!context) return;
  const items = completionItems(catalog, cm, context);
  cm.showHint({
    completeSingle: false,
    closeCharacters: /[()[\]{},;]/, // not the space and colon of `task: `: the list follows the context
    hint: (editorNow) => {
      const now = completionContext(editorNow);
      if (!now || now.kind !== context.kind) return null;
      const word = now.word.toLowerCase();
      const list = items
        .filter((item) => (item.label || item.text).toLowerCase().startsWith(word))
        .map((item) => ({ ...item, displayText: item.label || item.text, render: renderItem }));
      if (!list.length || (auto && list.length === 1 && list[0].displayText === now.word)) return null;
      const line = editorNow.getCursor().line;
      return { list, from: window.CodeMirror.Pos(line, now.from), to: editorNow.getCursor() };
    },
  });
}

if (editor) {
  editor.on("keydown", (cm, event) => {
    if (event.key === "Escape") completionSeq += 1;
  });
  editor.on("inputRead", (cm) => {
    if (cm.state.completionActive) return;
    const context = completionContext(cm);
    if (context && (context.kind !== "input" || context.word)) complete(cm, true);
  });
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
          severity: p.severity === "warning" ? "warning" : "error",
        })),
      );
    })
    .catch(() => update([]));
}

const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;

// The badge counts errors (which block Save) and warnings (which do not):
// "2 problems · 1 warning", "Valid · 1 warning", "Valid".
function showState(state) {
  const problems = state.problems || [];
  const errors = problems.filter((p) => p.severity !== "warning").length;
  const warnings = problems.length - errors;
  const badge = document.createElement("span");
  if (errors) {
    badge.className = "badge badge-errored";
    badge.textContent = plural(errors, "problem") + (warnings ? ` · ${plural(warnings, "warning")}` : "");
  } else {
    badge.className = warnings ? "badge badge-warning" : "badge badge-completed";
    badge.textContent = warnings ? `Valid · ${plural(warnings, "warning")}` : "Valid";
  }
  $("validity").replaceChildren(badge);
  const list = $("problems");
  list.replaceChildren(
    ...problems.map((p) => {
      const item = document.createElement("li");
      const jump = Object.assign(document.createElement("button"), { type: "button", className: "linklike", textContent: `Line ${p.line}` });
      jump.dataset.line = p.line;
      const where = Object.assign(document.createElement("code"), { textContent: p.location });
      if (p.severity === "warning") {
        item.className = "problem-warning";
        item.append(Object.assign(document.createElement("span"), { className: "badge badge-warning", textContent: "Warning" }), " ");
      }
      item.append(jump, " ", where, `: ${p.error}`);
      return item;
    }),
  );
  document.dispatchEvent(new CustomEvent("pipeline:checked", { detail: state })); // graph.js follows the draft
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
// Run executes the draft as shown, WITHOUT saving it (the run records the draft and is
// marked "draft" when it differs from the saved recipe); the run form follows the
// draft's variables. The run is followed by the shared run view (run_view.js).

const runForm = wireRunForm($("run-form"));
const runButton = $("run-button");
const runView = new RunView(document.querySelector("#panel-run [data-run-view]"), {
  urls: config.urls,
  csrf,
  onEnd: ({ hadFocus }) => {
    setBusy(runButton, false);
    if (hadFocus) runButton.focus();
  },
  onLine: (line) => {
    if (!editor) return textarea.focus();
    editor.focus();
    editor.setCursor({ line: line - 1, ch: 0 });
  },
});

// The form of the draft's variables, fetched when they change (values given are kept).
let formText = getText();
const formShape = (root) => [...root.querySelectorAll(".run-field[data-field]")]
  .map((field) => `${field.dataset.field}:${field.dataset.ui}:${field.querySelector("label")?.textContent.replace(/\s+/g, " ").trim()}`)
  .join("|");
async function followDraftForm() {
  const text = getText();
  if (text === formText) return;
  const answer = await post(config.urls.runForm, new URLSearchParams({ rawRecipe: text }));
  if (!answer.ok) return; // an invalid draft: Run shows its problems
  const { form } = await answer.json();
  formText = text;
  const fields = $("run-fields");
  const incoming = document.createElement("template");
  incoming.innerHTML = form;
  if (formShape(fields) === formShape(incoming.content)) return;
  const kept = {};
  const files = {};
  for (const control of fields.querySelectorAll("input, textarea, select")) {
    if (!control.name || control.name in kept || control.name in files) continue;
    if (control.type === "file") files[control.name] = control.files;
    else kept[control.name] = control.type === "checkbox" ? control.checked : control.value;
  }
  fields.replaceChildren(incoming.content);
  for (const control of fields.querySelectorAll("input, textarea, select")) {
    if (control.type === "file" && files[control.name]?.length) {
      control.files = files[control.name];
      control.dispatchEvent(new Event("change", { bubbles: true })); // its previews again
    } else if (control.name in kept) {
      if (control.type === "checkbox") control.checked = kept[control.name];
      else control.value = kept[control.name];
    }
  }
}
let formTimer = null;
const scheduleDraftForm = () => {
  clearTimeout(formTimer);
  formTimer = setTimeout(() => followDraftForm().catch(() => {}), 700);
};
if (editor) editor.on("change", scheduleDraftForm);
else textarea.addEventListener("input", scheduleDraftForm);

runForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (isBusy(runButton) || runView.running) return;
  setBusy(runButton, true);
  clearTimeout(formTimer);
  await followDraftForm().catch(() => {});
  const data = new FormData(runForm);
  data.set("rawRecipe", getText());
  let answer;
  let body;
  try {
    answer = await post(config.urls.run, data);
    body = await answer.json().catch(() => ({ error: `The run did not start (HTTP ${answer.status}).` }));
  } catch (error) {
    body = { error: `The run did not start: ${error.message}` };
  }
  const marked = showFieldErrors(runForm, body.errors);
  if (!answer?.ok || !body.runUid) {
    setBusy(runButton, false);
    if (body.error || body.problems?.length || !marked) runView.notStarted(body.error || "The run did not start.", body.problems || []);
    else runView.clear();
    return;
  }
  runView.start(body);
});

// --- a graph node selects its block ------------------------------------------------
// graph.js asks with {section, id, path}: path is the YAML keys down to the block
// (["component", "<iterator>", "component", "<inner>"] for an iterator's component).

document.addEventListener("pipeline:select-block", ({ detail }) => {
  if (!editor) return;
  const lines = editor.getValue().split("\n");
  const indent = (line) => (/^\s*(#|$)/.test(line) ? Infinity : line.search(/\S/));
  const keyOf = (line) => line.trim().match(/^(["']?)(.+?)\1\s*:(\s|$)/)?.[2];
  let [start, end] = [-1, lines.length];
  for (const key of detail.path || [detail.section, detail.id]) {
    const child = lines.slice(start + 1, end).map(indent).find((n) => n !== Infinity); // the keys' indent one level down
    const at = lines.findIndex((line, i) => i > start && i < end && indent(line) === child && keyOf(line) === key);
    if (at < 0) return;
    start = at;
    end = lines.findIndex((line, i) => i > at && indent(line) <= child);
    if (end < 0) end = lines.length;
  }
  let last = end - 1;
  while (last > start && indent(lines[last]) === Infinity) last -= 1;
  editor.setSelection({ line: last, ch: lines[last].length }, { line: start, ch: 0 });
  editor.scrollIntoView({ from: { line: start, ch: 0 }, to: { line: last, ch: 0 } }, 40);
});
