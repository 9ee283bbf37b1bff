// The run form's behaviour on the Editor and the Overview: a field the server refused
// is marked (aria-invalid, a red border, the message under it) and the first one
// focused; editing a marked field clears its mark; file inputs accept drag-and-drop;
// the Run button stays focusable while busy (aria-disabled, not disabled, so focus
// does not fall to <body>).

const MARKED = ".run-field.has-error";

// The refused fields of the server's answer ({"v-prompt": ["Prompt is required."]}):
// marked, earlier marks cleared, the first one focused. Returns how many were marked.
export function showFieldErrors(form, errors = {}) {
  form.querySelectorAll(MARKED).forEach(unmark);
  let first = null;
  for (const field of form.querySelectorAll(".run-field[data-field]")) {
    const messages = errors[field.dataset.field];
    if (!messages?.length) continue;
    mark(field, messages);
    first ||= field;
  }
  if (first) focusField(first);
  return Object.keys(errors).length;
}

function controls(field) {
  return field.querySelectorAll("input, textarea, select");
}

function mark(field, messages) {
  field.classList.add("has-error");
  controls(field).forEach((control) => control.setAttribute("aria-invalid", "true"));
  // One message: the server's, where the browser's JSON check would say it again.
  const state = field.querySelector(".json-state");
  if (state) { state.textContent = ""; state.className = "help json-state"; }
  field.querySelector(".field-errors").replaceChildren(...messages.map((message) => Object.assign(document.createElement("p"), { className: "error", textContent: message })));
}

function unmark(field) {
  field.classList.remove("has-error");
  controls(field).forEach((control) => control.removeAttribute("aria-invalid"));
  field.querySelector(".field-errors")?.replaceChildren();
}

function focusField(field) {
  const control = [...controls(field)].find((c) => c.type !== "hidden");
  control?.focus({ preventScroll: true });
  field.scrollIntoView({ block: "center" });
}

// A busy Run button: announced and inert, but it keeps the focus it has.
export function setBusy(button, busy) {
  button.classList.toggle("busy", busy);
  if (busy) button.setAttribute("aria-disabled", "true");
  else button.removeAttribute("aria-disabled");
}

export const isBusy = (button) => button.getAttribute("aria-disabled") === "true";

// Put files dropped on a picker into its input, as if chosen (previews follow "change").
function acceptDrops(root) {
  root.addEventListener("dragover", (event) => {
    const zone = event.target.closest?.("[data-drop]");
    if (!zone || !event.dataTransfer?.types.includes("Files")) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    zone.classList.add("dragging");
  });
  root.addEventListener("dragleave", (event) => {
    const zone = event.target.closest?.("[data-drop]");
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("dragging");
  });
  root.addEventListener("drop", (event) => {
    const zone = event.target.closest?.("[data-drop]");
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("dragging");
    const input = zone.querySelector("input[type=file]");
    const dropped = [...(event.dataTransfer?.files || [])];
    if (!input || !dropped.length) return;
    const files = new DataTransfer();
    for (const file of input.multiple ? dropped : dropped.slice(0, 1)) files.items.add(file);
    input.files = files.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
}

// Wire a run form: marks clear on edit, drops, and a page that came back with errors
// (no scripts were needed to send it) focuses its first bad field.
export function runForm(form) {
  const clear = (event) => {
    const field = event.target.closest?.(MARKED);
    if (field && form.contains(field)) unmark(field);
  };
  form.addEventListener("input", clear);
  form.addEventListener("change", clear);
  acceptDrops(form);
  const marked = form.querySelector(MARKED);
  if (marked) focusField(marked);
  return form;
}
