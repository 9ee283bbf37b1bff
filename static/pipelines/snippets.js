// The Trigger Snippet (templates/pipelines/partials/trigger_snippet.html): language
// tabs, version and mode choices, and Copy buttons. Every snippet is in the page already;
// this only shows the one chosen. No dependencies; initialises itself on every
// element with data-snippet, including ones htmx swaps in later.

const COPIED_FOR_MS = 2000;

function copyBySelection(element) {
  const selection = window.getSelection();
  const range = document.createRange();
  range.selectNodeContents(element);
  selection.removeAllRanges();
  selection.addRange(range);
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  // On failure the text stays selected, so Ctrl+C (or Cmd+C) still works.
  if (copied) selection.removeAllRanges();
  return copied;
}

async function copyText(element) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(element.textContent);
      return true;
    } catch {
      // Permission refused or no focus: fall back to the selection.
    }
  }
  return copyBySelection(element);
}

function showCopied(button, status, copied) {
  const label = button.dataset.snippetLabel || button.textContent;
  button.dataset.snippetLabel = label;
  button.textContent = copied ? "Copied" : "Press Ctrl+C";
  button.dataset.state = copied ? "copied" : "failed";
  const announce = (text) => {
    if (status) status.textContent = text;
  };
  announce(copied ? "Copied to the clipboard." : "Could not copy: the snippet is selected, press Ctrl+C to copy it.");
  clearTimeout(Number(button.dataset.snippetTimer));
  button.dataset.snippetTimer = String(
    setTimeout(() => {
      button.textContent = label;
      delete button.dataset.state;
      announce("");
    }, COPIED_FOR_MS),
  );
}

export function initSnippet(root) {
  if (root.dataset.snippetReady) return;
  root.dataset.snippetReady = "true";
  const tabs = Array.from(root.querySelectorAll('[role="tab"]'));
  const version = root.querySelector("[data-snippet-version]");
  const modes = Array.from(root.querySelectorAll("[data-snippet-mode]"));
  const status = root.querySelector("[data-snippet-status]");
  const byId = (id) => root.querySelector(`#${CSS.escape(id)}`);

  function showChosen() {
    const chosenVersion = version ? version.value : "latest";
    const chosenMode = (modes.find((mode) => mode.checked) || modes[0] || { value: "sync" }).value;
    for (const item of root.querySelectorAll("[data-snippet-item]")) {
      item.hidden = item.dataset.version !== chosenVersion || item.dataset.mode !== chosenMode;
    }
  }

  function selectTab(tab, focus) {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      const panel = byId(other.getAttribute("aria-controls"));
      if (panel) panel.hidden = !selected;
    }
    if (focus) tab.focus();
  }

  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => selectTab(tab, false));
    tab.addEventListener("keydown", (event) => {
      const last = tabs.length - 1;
      const next = { ArrowRight: index === last ? 0 : index + 1, ArrowLeft: index === 0 ? last : index - 1, Home: 0, End: last }[
        event.key
      ];
      if (next === undefined) return;
      event.preventDefault();
      selectTab(tabs[next], true);
    });
  });
  if (version) version.addEventListener("change", showChosen);
  for (const mode of modes) mode.addEventListener("change", showChosen);
  root.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-snippet-copy]");
    if (!button || !root.contains(button)) return;
    const code = byId(button.dataset.snippetCopy);
    if (code) showCopied(button, status, await copyText(code));
  });
  // The browser may restore form choices on back/forward: follow them.
  showChosen();
}

export function initSnippets(scope = document) {
  if (scope instanceof Element && scope.matches("[data-snippet]")) initSnippet(scope);
  for (const root of scope.querySelectorAll("[data-snippet]")) initSnippet(root);
}

initSnippets();
document.addEventListener("htmx:load", (event) => initSnippets(event.target));
