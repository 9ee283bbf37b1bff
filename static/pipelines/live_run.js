// Follow a run live over the websocket /ws/runs/<uid>/ (session cookie auth).
//
// Server → client: {"type": "event", "seq", "event": "<INSTILL EVENT NAME>", "data"}
// (a late joiner gets the earlier events first: duplicates are dropped by seq), then
// {"type": "end", "status", "error"} and a close with code 1000. 4401: not signed in;
// 4404: no such run of yours. If the socket cannot be used at all, the operation is
// polled instead and only the end is reported.

const POLL_MS = 700;

// Every view that follows a run (the Editor's and the Overview's run panels, the graph)
// can listen without knowing who started it: followRun announces the run on `document`
// as CustomEvent "pipeline:run" with detail {type: "start", runUid},
// {type: "event", runUid, name, data, seq} and {type: "end", runUid, status, error, response}.
export const RUN_EVENT = "pipeline:run";
const announce = (detail) => document.dispatchEvent(new CustomEvent(RUN_EVENT, { detail }));

export function followRun(runUid, { websocket = "/ws/runs/", operations = "/v1beta/operations/", onEvent: handleEvent, onEnd: handleEnd, onError }) {
  const onEvent = (name, data, seq) => {
    handleEvent(name, data, seq);
    announce({ type: "event", runUid, name, data, seq });
  };
  const onEnd = (status, error, response) => {
    handleEnd(status, error, response);
    announce({ type: "end", runUid, status, error, response });
  };
  announce({ type: "start", runUid });
  let lastSeq = 0;
  let finished = false;
  let polling = false;

  const end = (status, error, response) => {
    if (finished) return;
    finished = true;
    onEnd(status, error || "", response);
  };

  const poll = async () => {
    if (polling || finished) return;
    polling = true;
    while (!finished) {
      try {
        const answer = await fetch(`${operations}${runUid}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
        const { operation } = await answer.json();
        if (operation?.done) {
          if (operation.error) end(operation.error.code === 1 ? "RUN_STATUS_CANCELLED" : "RUN_STATUS_FAILED", operation.error.message, null);
          else end(undefined, "", operation.response);
          return;
        }
      } catch (error) {
        onError?.(`Lost track of the run: ${error.message}`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };

  let socket;
  try {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}${websocket}${runUid}/`);
  } catch {
    poll();
    return { close() { finished = true; } };
  }
  socket.addEventListener("message", (message) => {
    let frame;
    try { frame = JSON.parse(message.data); } catch { return; }
    if (frame.type === "event") {
      if (frame.seq <= lastSeq) return;
      lastSeq = frame.seq;
      onEvent(frame.event, frame.data || {}, frame.seq);
    } else if (frame.type === "end") {
      end(frame.status, frame.error, null);
    }
  });
  socket.addEventListener("close", (event) => {
    if (finished) return;
    if (event.code === 4401) onError?.("Your session ended: sign in again to follow this run.");
    else if (event.code === 4404) onError?.("This run was not found.");
    else poll(); // no websocket here (or it dropped): the operation still tells the end
  });
  return { close() { finished = true; socket.close(1000); } };
}

export function componentState(status = {}) {
  if (status.errored) return "errored";
  if (status.skipped) return "skipped";
  if (status.completed) return "completed";
  if (status.started) return "running";
  return "pending";
}
