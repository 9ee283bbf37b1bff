// The Overview's Run, live: the form is sent for a queued run (Accept: application/json)
// which is followed over the websocket by the shared run view, as in the Editor. When
// the run ends the run count and Recent runs are refreshed from the page. Without
// scripts the form posts and the page comes back with the finished result.

import { RunView } from "./run_view.js";
import { isBusy, runForm, setBusy, showFieldErrors } from "./run_form.js";

const config = JSON.parse(document.getElementById("run-config").textContent);
const form = runForm(document.getElementById("run-form"));
const button = document.getElementById("run-button");
const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
const result = document.getElementById("run-result"); // what the server rendered (a run without scripts)

// Refresh the parts of the page a run changes: the run count and Recent runs.
async function refreshPage() {
  try {
    const answer = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
    const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
    for (const id of ["run-stats", "recent-runs"]) {
      const replacement = fresh.getElementById(id);
      if (replacement) document.getElementById(id)?.replaceWith(replacement);
    }
  } catch {
    // The run is shown; only the counters stay as they were until the next visit.
  }
}

const view = new RunView(document.querySelector("[data-run-view]"), {
  urls: config.urls,
  csrf,
  onEnd: ({ hadFocus }) => {
    setBusy(button, false);
    if (hadFocus) button.focus();
    refreshPage();
  },
});

function showNotice(message) {
  const notice = Object.assign(document.createElement("div"), { className: "notice notice-error", role: "alert" });
  notice.append(Object.assign(document.createElement("p"), { textContent: message }));
  result.replaceChildren(notice);
  result.hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (isBusy(button) || view.running) return;
  setBusy(button, true);
  let answer;
  let body;
  try {
    answer = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    });
    body = await answer.json().catch(() => ({ error: `The run did not start (HTTP ${answer.status}).` }));
  } catch (error) {
    body = { error: `The run did not start: ${error.message}` };
  }
  const marked = showFieldErrors(form, body.errors);
  if (!answer?.ok || !body.runUid) {
    // A refused run leaves nothing of an earlier result on screen.
    view.clear();
    setBusy(button, false);
    showNotice(body.error || (marked ? `Fix the highlighted field${marked === 1 ? "" : "s"} and run again.` : "The run did not start."));
    return;
  }
  result.replaceChildren();
  result.hidden = true;
  view.start(body);
});
