// Small behaviours shared by every page, by event delegation (so content swapped in by
// htmx works without re-initialising): copy buttons, auto-submitting selects, array
// fields, file previews, JSON checks, and keyboard-accessible tabs.

const copyText = async (text) => {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API refused (http:// origin, permissions): the old way still works.
    const area = Object.assign(document.createElement("textarea"), { value: text });
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
};

document.addEventListener("click", async (event) => {
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const source = document.querySelector(copy.dataset.copy);
    if (!source) return;
    await copyText(source.value ?? source.textContent);
    const label = copy.textContent;
    copy.textContent = "Copied ✓";
    setTimeout(() => { copy.textContent = label; }, 1500);
    return;
  }
  const add = event.target.closest("[data-list-add]");
  if (add) {
    const list = add.closest("[data-list]");
    const item = list.querySelector("template").content.firstElementChild.cloneNode(true);
    list.querySelector(".list-items").append(item);
    item.querySelector("input, textarea, select")?.focus();
    return;
  }
  const remove = event.target.closest("[data-list-remove]");
  if (remove) {
    const list = remove.closest("[data-list]");
    const item = remove.closest(".list-item");
    if (list.querySelectorAll(".list-item").length > 1) item.remove();
    else item.querySelectorAll("input, textarea, select").forEach((el) => { el.value = ""; });
    list.querySelector("[data-list-add]").focus();
  }
});

document.addEventListener("change", (event) => {
  const select = event.target.closest("[data-autosubmit] select");
  if (select) select.form.requestSubmit();
  const picker = event.target.closest("input[type=file][data-preview]");
  if (picker) showPreviews(picker);
});

// 62 → "62 bytes", 1536 → "1.5 KB", 5242880 → "5 MB" (1 KB = 1024 bytes).
function fileSize(bytes) {
  if (bytes < 1024) return `${bytes} byte${bytes === 1 ? "" : "s"}`;
  const [value, unit] = bytes < 1024 * 1024 ? [bytes / 1024, "KB"] : bytes < 1024 ** 3 ? [bytes / 1024 ** 2, "MB"] : [bytes / 1024 ** 3, "GB"];
  return `${value < 10 ? value.toFixed(1).replace(/\.0$/, "") : Math.round(value)} ${unit}`;
}

function showPreviews(picker) {
  const box = document.getElementById(picker.dataset.preview);
  if (!box) return;
  // The players of the files chosen before hold their object URLs until now.
  for (const media of box.querySelectorAll("audio, video")) URL.revokeObjectURL(media.src);
  box.replaceChildren();
  for (const file of picker.files) {
    if (file.type.startsWith("image/")) {
      const img = document.createElement("img");
      img.src = URL.createObjectURL(file);
      img.alt = `Preview of ${file.name}`;
      img.onload = () => URL.revokeObjectURL(img.src);
      box.append(img);
    } else if (file.type.startsWith("audio/") || file.type.startsWith("video/")) {
      const media = document.createElement(file.type.startsWith("audio/") ? "audio" : "video");
      media.controls = true;
      media.preload = "metadata";
      media.src = URL.createObjectURL(file);
      media.setAttribute("aria-label", `Preview of ${file.name}`);
      box.append(media);
    } else {
      const chip = document.createElement("span");
      chip.className = "file-chip";
      chip.textContent = `${file.name} (${fileSize(file.size)})`;
      box.append(chip);
    }
  }
}

// JSON fields say at once whether they parse; the server still has the last word.
document.addEventListener("input", (event) => {
  const area = event.target.closest("textarea[data-json]");
  if (!area) return;
  const state = document.getElementById(`${area.id}_jsonstate`);
  if (!area.value.trim()) {
    area.setCustomValidity("");
    if (state) { state.textContent = ""; state.className = "help json-state"; }
    return;
  }
  try {
    JSON.parse(area.value);
    area.setCustomValidity("");
    if (state) { state.textContent = "Valid JSON"; state.className = "help json-state ok"; }
  } catch (error) {
    area.setCustomValidity("Not valid JSON");
    if (state) { state.textContent = `Not valid JSON: ${error.message}`; state.className = "help json-state bad"; }
  }
});

// Tabs (WAI-ARIA pattern): click or arrow keys move the selection.
function selectTab(tab) {
  const list = tab.closest("[data-tabs]");
  for (const other of list.querySelectorAll("[role=tab]")) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
    document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
  }
  tab.dispatchEvent(new CustomEvent("tab:shown", { bubbles: true }));
}

document.addEventListener("click", (event) => {
  const tab = event.target.closest("[data-tabs] [role=tab]");
  if (tab) selectTab(tab);
});

document.addEventListener("keydown", (event) => {
  const tab = event.target.closest("[data-tabs] [role=tab]");
  if (!tab || !["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) return;
  const tabs = [...tab.closest("[data-tabs]").querySelectorAll("[role=tab]")];
  const index = tabs.indexOf(tab);
  const next = { ArrowLeft: index - 1, ArrowRight: index + 1, Home: 0, End: tabs.length - 1 }[event.key];
  const target = tabs[(next + tabs.length) % tabs.length];
  target.focus();
  selectTab(target);
  event.preventDefault();
});

export { copyText, fileSize, selectTab };
