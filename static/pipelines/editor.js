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
// --- the component catalog: completion and help ---------------------------------------
// Component types after `type:`, that component's tasks after `task:` and the task's
// input names inside `input:`, and the help under the editor for the component and task
// at the cursor, read from the component catalog the API serves (GET
// /v1beta/component-definitions), loaded once, page by page, when the editor is first
// focused. The editor's wrapper says where the load is: data-catalog="loading",
// "loaded" or "failed" (a failed load is tried again on the next request).
// The show-hint addon draws the list; while it is open its keys win, so Escape closes it only.

let definitions = null;
let catalogLoad = null;
const CATALOG_URL = "/v1beta/component-definitions?view=VIEW_FULL&pageSize=100";

async function fetchCatalog() {
  const found = [];
  let token = "";
  do {
    const answer = await fetch(CATALOG_URL + (token ? `&pageToken=${encodeURIComponent(token)}` : ""), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    const body = await answer.json();
    found.push(...(body.componentDefinitions || []));
    token = body.nextPageToken || "";
  } while (token);
  return found;
}

function loadCatalog(cm) {
  if (definitions || catalogLoad) return;
  cm.getWrapperElement().dataset.catalog = "loading";
  catalogLoad = fetchCatalog().then(
    (found) => {
      definitions = found;
      catalogLoad = null;
      const request = pendingCompletion;
      pendingCompletion = null;
      try {
        if (request && isCurrent(cm, request)) showCompletion(cm, request);
        showHelp(cm);
      } finally {
        cm.getWrapperElement().dataset.catalog = "loaded"; // after the list it may open
      }
    },
    () => {
      catalogLoad = null;
      pendingCompletion = null;
      cm.getWrapperElement().dataset.catalog = "failed";
      helpBody?.replaceChildren(element("p", { className: "muted", textContent: "The component catalog could not be loaded; focus the editor again to retry." }));
    },
  );
}

const byId = (id) => definitions?.find((d) => d.id === id) || null;
const lineIndent = (text) => text.search(/\S/);
const keyOf = (text) => text.trim().match(/^(?:-\s+)?(["']?)([^"':]+)\1\s*:/)?.[2] || "";
const isBlank = (text) => !text.trim() || text.trim().startsWith("#");
// The value of `key:` among the sibling lines of the block around line `at` (same indent).
function siblingValue(cm, at, indent, key) {
  const pattern = new RegExp(`^\\s*${key}:\\s*["']?([^"'#\\s]+)`);
  for (const step of [-1, 1]) {
    for (let n = at; n >= 0 && n < cm.lineCount(); n += step) {
      const text = cm.getLine(n);
      if (isBlank(text)) continue;
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
    if (isBlank(text) || lineIndent(text) >= naming[1].length) continue;
    if (!/^\s*input:\s*(#.*)?$/.test(text)) return null;
    return { kind: "input", word: naming[2], from: naming[1].length, line: n, indent: lineIndent(text) };
  }
  return null;
}

function completionItems(cm, context) {
  if (context.kind === "type") return definitions.map((d) => ({ text: d.id, detail: d.title }));
  const definition = byId(siblingValue(cm, context.line, context.indent, "type"));
  if (!definition) return [];
  if (context.kind === "task") return definition.tasks.map((t) => ({ text: t.name, detail: t.description || t.title }));
  const task = siblingValue(cm, context.line, context.indent, "task");
  const properties = definition.spec?.dataSpecifications?.[task]?.input?.properties || {};
  return Object.entries(properties).map(([name, field]) => ({ text: `${name}: `, label: name, detail: field.title || field.description || "" }));
}

function renderItem(element, _data, item) {
  element.append(item.label || item.text);
  if (item.detail) element.append(Object.assign(document.createElement("span"), { className: "hint-detail", textContent: ` ${item.detail}` }));
}

// A request is the editor's state when the list was asked for; it opens only if nothing
// moved since: not the text, the cursor or the focus, and no key was pressed (every
// keydown and mousedown drops the request waiting for the catalog, so only the newest
// one can open, and never one asked for before an Escape).
let pendingCompletion = null;
const LIST_KEYS = new Set(["ArrowUp", "ArrowDown", "PageUp", "PageDown", "Home", "End", "Enter", "Tab", "Escape"]);
const snapshot = (cm, auto) => ({ auto, generation: cm.changeGeneration(), cursor: cm.getCursor() });
const isCurrent = (cm, request) =>
  cm.hasFocus() &&
  !cm.state.completionActive &&
  cm.changeGeneration() === request.generation &&
  window.CodeMirror.cmpPos(cm.getCursor(), request.cursor) === 0 &&
  !cm.somethingSelected();

function complete(cm, auto = false) {
  pendingCompletion = null;
  if (!cm.showHint || !completionContext(cm)) return;
  const request = snapshot(cm, auto);
  if (definitions) return showCompletion(cm, request);
  pendingCompletion = request;
  loadCatalog(cm);
}

function showCompletion(cm, request) {
  const context = completionContext(cm);
  if (!context) return;
  const items = completionItems(cm, context);
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
      if (!list.length || (request.auto && list.length === 1 && list[0].displayText === now.word)) return null;
      const line = editorNow.getCursor().line;
      return { list, from: window.CodeMirror.Pos(line, now.from), to: editorNow.getCursor() };
    },
  });
}

// --- help: the component and task at the cursor ---

// The component block around the cursor: the nearest enclosing block (the cursor's own
// lines first, then each parent's) whose `type:` is a component of the catalog; with its
// task and the input key the cursor is on (or in).
function componentAt(cm) {
  const cursor = cm.getCursor();
  let line = cursor.line;
  while (line > 0 && isBlank(cm.getLine(line))) line -= 1;
  let indent = lineIndent(cm.getLine(line));
  if (indent < 0) return null;
  const keys = []; // the keys of the lines left on the way up, innermost first
  for (;;) {
    const definition = byId(siblingValue(cm, line, indent, "type"));
    if (definition) {
      const task = siblingValue(cm, line, indent, "task");
      // The input under the cursor: the key one level inside `input:`.
      const input = keyOf(cm.getLine(line)) === "input" && keys.length ? keys.at(-1) : null;
      return { definition, task, input };
    }
    // On to the parent: the nearest line above with less indent.
    let parent = line - 1;
    while (parent >= 0 && (isBlank(cm.getLine(parent)) || lineIndent(cm.getLine(parent)) >= indent)) parent -= 1;
    if (parent < 0) return null;
    keys.push(keyOf(cm.getLine(line)));
    line = parent;
    indent = lineIndent(cm.getLine(parent));
  }
}

const element = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((child) => child !== null && child !== undefined && child !== ""));
  return node;
};

function typeLabel(field) {
  const types = [field.type || []].flat();
  if (types.includes("array") && field.items) {
    const item = typeLabel(field.items);
    return item === "any" ? "array" : `array of ${item}`;
  }
  if (types.length) return types.join(" or ");
  if (field.instillAcceptFormats) return field.instillAcceptFormats.join(" or ");
  if (field.format) return field.format;
  return "any";
}

const helpBody = $("component-help-body");
let helpShown = "";

function showHelp(cm) {
  if (!helpBody || !definitions) return;
  const at = componentAt(cm);
  const key = at ? `${at.definition.id}/${at.task}/${at.input}` : "";
  if (key === helpShown && helpBody.childElementCount) return;
  helpShown = key;
  helpBody.dataset.component = at ? at.definition.id : "";
  helpBody.dataset.task = at?.task || "";
  if (!at) {
    helpBody.replaceChildren(element("p", { className: "muted", textContent: "Put the cursor in a component to see what it takes." }));
    return;
  }
  const { definition } = at;
  const parts = [
    element("h3", { className: "help-title" }, `${definition.title} `, element("code", { textContent: definition.id })),
    element("p", { className: "help-text", textContent: definition.description || "" }),
  ];
  const task = definition.tasks.find((t) => t.name === at.task);
  if (!task) {
    parts.push(
      element("h4", { textContent: "Tasks" }),
      element(
        "ul",
        { className: "help-list" },
        ...definition.tasks.map((t) =>
          element("li", {}, element("code", { textContent: t.name }), ` ${t.title || ""}`, t.description ? element("span", { className: "muted", textContent: ` — ${t.description}` }) : null),
        ),
      ),
    );
  } else {
    const schema = definition.spec?.dataSpecifications?.[task.name]?.input || {};
    const required = new Set(schema.required || []);
    parts.push(
      element("h4", {}, element("code", { textContent: task.name }), ` ${task.title || ""}`),
      element("p", { className: "help-text", textContent: task.description || "" }),
      element("h4", { textContent: "Inputs" }),
      element(
        "ul",
        { className: "help-list help-inputs" },
        ...Object.entries(schema.properties || {}).map(([name, field]) => {
          const item = element(
            "li",
            {},
            element("code", { textContent: name }),
            " ",
            element("span", { className: "type-chip", textContent: typeLabel(field) }),
            required.has(name) ? element("span", { className: "badge", textContent: "required" }) : null,
            field.title && field.title !== name ? ` ${field.title}` : "",
            field.description ? element("span", { className: "muted", textContent: ` — ${field.description}` }) : null,
          );
          item.dataset.input = name;
          if (name === at.input) {
            item.classList.add("help-current");
            item.setAttribute("aria-current", "true");
          }
          return item;
        }),
      ),
    );
  }
  helpBody.replaceChildren(...parts);
}

if (editor) {
  editor.on("keydown", (cm, event) => {
    pendingCompletion = null;
    const completion = cm.state.completionActive;
    if (!completion) return;
    // After each keystroke show-hint sets the list's keys aside until it redraws the
    // list at the next animation frame (late on a busy machine): a list key pressed in
    // that moment would move the cursor, or (Escape) arm "Tab leaves" and leave the list
    // open. Redraw it now, before the key is handled, so the key acts on the list.
    if (LIST_KEYS.has(event.key) && completion.debounce) {
      cancelAnimationFrame(completion.debounce);
      completion.debounce = 0;
      completion.update();
    }
    if (event.key === "Escape" && cm.state.completionActive) {
      cm.closeHint(); // the list only; the next Escape arms "Tab leaves"
      event.preventDefault();
    }
  });
  editor.on("mousedown", () => (pendingCompletion = null));
  editor.on("focus", (cm) => loadCatalog(cm));
  editor.on("inputRead", (cm) => {
    if (cm.state.completionActive) return;
    const context = completionContext(cm);
    if (context && (context.kind !== "input" || context.word)) complete(cm, true);
  });
  // The help follows the cursor and the text (a task typed or removed), a moment later.
  let helpTimer = null;
  const followHelp = (cm) => {
    clearTimeout(helpTimer);
    helpTimer = setTimeout(() => showHelp(cm), 120);
  };
  editor.on("cursorActivity", followHelp);
  editor.on("changes", followHelp);
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
