"""The trigger lane (pipelines/asgi.py): API triggers without the browser middleware.

Each request here goes through the ASGI handler itself, as the ASGI server calls it, once with
the lane and once without (``PIPELINE_TRIGGER_LANE``): whatever the lane serves must be
answered exactly as the full request cycle answers it — status, headers, body — and
what it must not serve (sessions, uploads, streams, other paths) must pass through.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging

import pytest
from asgiref.sync import async_to_sync
from django.core.signals import request_finished, request_started

from pipelines.aio import db
from pipelines.asgi import PipelineASGIHandler, lane_counters
from pipelines.selectors import run_state
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "/v1beta/namespaces/alice/pipelines/hello"
BODY = json.dumps({"data": [{"variable": {"prompt": "lane"}}]}).encode()


def call(handler, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None, *, chunked=False):
    """One request through ``handler``: ``(status, headers, body)``. ``chunked``: the
    body in two messages and no Content-Length, as daphne passes a chunked upload."""
    headers = {"host": "testserver", **(headers or {})}
    if body and not chunked and "content-length" not in headers:
        headers["content-length"] = str(len(body))
    parts = [body[:10], body[10:]] if chunked else [body]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    out: dict = {"body": b""}

    async def receive():
        if parts:
            part = parts.pop(0)
            return {"type": "http.request", "body": part, "more_body": bool(parts)}
        await asyncio.Future()  # the client stays connected

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"], out["headers"] = message["status"], sorted(message["headers"])
        else:
            out["body"] += message.get("body", b"")

    async_to_sync(handler)(scope, receive, send)
    return out["status"], out["headers"], out["body"]


@pytest.fixture
def handlers(settings):
    settings.PIPELINE_TRIGGER_LANE = False
    full = PipelineASGIHandler()
    settings.PIPELINE_TRIGGER_LANE = True
    lane = PipelineASGIHandler()
    assert full.lane is None and lane.lane is not None
    return lane, full


def served() -> int:
    return lane_counters["served"]


VARYING = {"computeTimeInSeconds", "name", "uid", "createTime", "updateTime", "startTime", "completeTime"}


def normal(answer):
    """An answer without what differs between two runs (timings, ids) and the
    Content-Length that follows from them."""
    status, headers, body = answer

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in VARYING}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    try:
        content = strip(json.loads(body))
    except ValueError:
        content = body
    return status, [(k, v) for k, v in headers if k.lower() != b"content-length"], content


def both(handlers, *args, **kwargs):
    """The lane's answer and the full cycle's (both :func:`normal`), and whether the
    lane served it."""
    lane, full = handlers
    before = served()
    by_lane = call(lane, *args, **kwargs)
    took_lane = served() > before
    return normal(by_lane), normal(call(full, *args, **kwargs)), took_lane


def test_a_token_trigger_takes_the_lane_and_is_answered_and_recorded_as_by_the_full_cycle(
    handlers, alice_token, hello, api
):
    bearer = {"authorization": f"Bearer {alice_token}", "content-type": "application/json"}
    by_lane, by_full, took_lane = both(handlers, "POST", f"{BASE}/trigger", BODY, bearer)
    assert took_lane
    assert by_lane == by_full
    status, headers, body = by_lane
    assert status == 200 and body["outputs"] == [{"answer": "Hello lane"}]
    names = {name.lower() for name, _ in headers}
    # What the security middleware adds to every response, the lane's included.
    assert {b"x-frame-options", b"x-content-type-options", b"referrer-policy", b"cross-origin-opener-policy"} <= names
    runs = api.get(f"{BASE}/runs").json()["pipelineRuns"]
    assert [run["status"] for run in runs] == ["RUN_STATUS_COMPLETED"] * 2


@pytest.mark.parametrize(
    "case",
    [
        "raw token",
        "basic",
        "traces",
        "release",
        "bad token",
        "not a token",
        "malformed json",
        "wrong type",
        "empty body",
        "unknown pipeline",
        "private pipeline of another",
        "unknown release",
        "too big",
        "bad host",
        "async",
        "not a trigger view",
    ],
)
def test_every_answer_of_the_lane_is_the_full_cycles(
    case, handlers, alice_token, bob, make_pipeline, hello, settings, api
):
    make_pipeline(bob, pipeline_id="secret")
    token = {"authorization": f"Bearer {alice_token}", "content-type": "application/json"}
    path, body, headers = f"{BASE}/trigger", BODY, dict(token)
    if case == "raw token":
        headers["authorization"] = alice_token
    elif case == "basic":
        headers["authorization"] = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    elif case == "traces":
        headers["instill-return-traces"] = "true"
    elif case == "release":
        assert api.post(f"{BASE}/releases", {"id": "v1.0.0"}).status_code == 201
        path = f"{BASE}/releases/v1.0.0/trigger"
    elif case == "bad token":
        headers["authorization"] = "Bearer instill_sk_" + "x" * 32
    elif case == "not a token":
        headers["authorization"] = "Bearer not-a-token"
    elif case == "malformed json":
        body = b'{"data": ['
    elif case == "wrong type":
        body = json.dumps({"data": [{"variable": {"prompt": 42}}]}).encode()
    elif case == "empty body":
        body, headers["content-length"] = b"", "0"
    elif case == "unknown pipeline":
        path = "/v1beta/namespaces/alice/pipelines/nope/trigger"
    elif case == "private pipeline of another":
        path = "/v1beta/namespaces/bob/pipelines/secret/trigger"
    elif case == "unknown release":
        path = f"{BASE}/releases/v9.9.9/trigger"
    elif case == "too big":
        settings.PIPELINE_MAX_REQUEST_BYTES = 10
    elif case == "bad host":
        headers["host"] = "evil.example"
    elif case == "async":
        path = f"{BASE}/trigger-async"
    elif case == "not a trigger view":
        path = "/v1beta/no/such/trigger"
    by_lane, by_full, took_lane = both(handlers, "POST", path, body, headers)
    status, _, content = by_lane
    assert by_lane == by_full, case
    expected = {
        "raw token": 200,
        "basic": 200,
        "traces": 200,
        "release": 200,
        "bad token": 401,
        "not a token": 401,
        "malformed json": 400,
        "wrong type": 400,
        "empty body": 400,
        "unknown pipeline": 404,
        "private pipeline of another": 404,
        "unknown release": 404,
        "too big": 413,
        "bad host": 400,
        "async": 200,
        "not a trigger view": 404,
    }[case]
    assert status == expected, (case, content)
    # A path that only looks like a trigger's takes the full cycle, its body replayed.
    assert took_lane == (case != "not a trigger view"), case


@pytest.mark.parametrize("case", ["session", "multipart", "chunked", "get"])
def test_requests_the_lane_does_not_serve_pass_through_unchanged(case, handlers, alice_token, hello, client, alice):
    headers = {"authorization": f"Bearer {alice_token}", "content-type": "application/json"}
    method, body = "POST", BODY
    if case == "session":
        client.force_login(alice)
        del headers["authorization"]
        headers["cookie"] = f"sessionid={client.cookies['sessionid'].value}"
    elif case == "multipart":
        body = b'--b\r\nContent-Disposition: form-data; name="variables[0].prompt"\r\n\r\nlane\r\n--b--\r\n'
        headers["content-type"] = "multipart/form-data; boundary=b"
    elif case == "get":
        method, body = "GET", b""
    lane, _ = handlers
    before = served()
    path = f"{BASE}/trigger"
    status, _, content = call(lane, method, path, body, headers, chunked=case == "chunked")
    assert served() == before, case  # answered by the full cycle
    expected = {"session": 403, "multipart": 200, "chunked": 200, "get": 405}[case]
    assert status == expected, (case, content[:300])


def sse_events(body: bytes) -> list[tuple[str, dict]]:
    """The (name, data without times) of each event of an SSE body."""
    events = []
    for block in body.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if fields:
            data = json.loads(fields["data"])
            data.pop("updateTime", None)
            events.append((fields["event"], data))
    return events


@pytest.mark.parametrize("header", [("accept", "text/event-stream"), ("instill-use-sse", "true")])
def test_a_streamed_token_trigger_takes_the_lane_and_streams_as_the_full_cycle(
    header, handlers, alice_token, hello, api
):
    """Streams skip the browser middleware too: same status, headers and events, and
    the run is stored as it streams (its uid in a header)."""
    headers = {"authorization": f"Bearer {alice_token}", "content-type": "application/json", header[0]: header[1]}
    lane, full = handlers
    before = served()
    by_lane = call(lane, "POST", f"{BASE}/trigger", BODY, headers)
    assert served() == before + 1
    by_full = call(full, "POST", f"{BASE}/trigger", BODY, headers)

    def shown(answer):
        status, answer_headers, body = answer
        return status, [(k, v) for k, v in answer_headers if k.lower() != b"pipeline-run-uid"], sse_events(body)

    assert shown(by_lane) == shown(by_full)
    status, answer_headers, _ = by_lane
    assert status == 200 and (b"Content-Type", b"text/event-stream") in answer_headers
    names = [name for name, _ in sse_events(by_lane[2])]
    assert names[0] == "PIPELINE_STATUS_UPDATED" and names[-1] == "PIPELINE_STATUS_UPDATED"
    assert sse_events(by_lane[2])[-1][1]["status"]["completed"] is True
    uids = {dict(answer[1])[b"Pipeline-Run-Uid"].decode() for answer in (by_lane, by_full)}
    runs = {run["pipelineRunUid"]: run for run in api.get(f"{BASE}/runs").json()["pipelineRuns"]}
    assert {runs[uid]["status"] for uid in uids} == {"RUN_STATUS_COMPLETED"}


def test_a_stream_whose_client_goes_away_ends_and_its_run_is_recorded(handlers, alice_token, hello, api):
    """The lane listens for the disconnect while it streams: the stream stops, the run
    finishes and is recorded, and the request is finished (Django's signal)."""
    finished = []

    def on_finished(**kwargs):
        finished.append(True)

    headers = {"authorization": f"Bearer {alice_token}", "content-type": "application/json"}
    headers["accept"] = "text/event-stream"
    lane, _ = handlers
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"{BASE}/trigger",
        "raw_path": f"{BASE}/trigger".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-length", str(len(BODY)).encode())]
        + [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    messages = [{"type": "http.request", "body": BODY, "more_body": False}]
    sent: list[dict] = []
    gone = asyncio.Event()

    async def receive():
        if messages:
            return messages.pop(0)
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)
        if message["type"] == "http.response.body":
            gone.set()  # the client hangs up after the first event
            await asyncio.sleep(0.05)  # the network is slow: the next send is still pending

    async def serve():
        before = served()
        await lane(scope, receive, send)
        uid = dict(sent[0]["headers"])[b"Pipeline-Run-Uid"].decode()
        for _ in range(200):  # the run goes on, on this loop, after the stream has ended
            state = await db(run_state)(uid)
            if state is not None and state[0]:
                break
            await asyncio.sleep(0.025)
        return served() - before

    request_finished.connect(on_finished)
    try:
        assert async_to_sync(serve)() == 1
    finally:
        request_finished.disconnect(on_finished)
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert bodies and bodies[0]["body"].startswith(b"id: 1\nevent: PIPELINE_STATUS_UPDATED")
    assert not any(m["type"] == "http.response.body" and not m.get("more_body") for m in sent)  # cut short
    assert finished == [True]
    uid = dict(sent[0]["headers"])[b"Pipeline-Run-Uid"].decode()
    operation = api.get(f"/v1beta/operations/{uid}").json()["operation"]
    assert operation["done"] and operation["response"]["outputs"] == [{"answer": "Hello lane"}]


def test_the_lane_keeps_djangos_request_signals_and_error_log(handlers, alice_token, hello, caplog):
    seen = []

    def started(**kwargs):
        seen.append("started")

    def finished(**kwargs):
        seen.append("finished")

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        lane, _ = handlers
        headers = {"authorization": f"Bearer {alice_token}", "content-type": "application/json"}
        with caplog.at_level(logging.WARNING, logger="django.request"):
            status, _, _ = call(lane, "POST", "/v1beta/namespaces/alice/pipelines/nope/trigger", BODY, headers)
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    assert status == 404
    assert seen == ["started", "finished"]
    assert any("/v1beta/namespaces/alice/pipelines/nope/trigger" in r.getMessage() for r in caplog.records)


class SyncOnlyMiddleware:
    """A deployer's middleware that can only run synchronously."""

    sync_capable, async_capable = True, False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response["X-Sync-Only"] = "yes"
        return response


def test_a_middleware_the_lane_cannot_run_turns_it_off_with_a_warning(settings, alice_token, hello, caplog):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.SyncOnlyMiddleware"]
    with caplog.at_level(logging.WARNING, logger="pipelines.asgi"):
        handler = PipelineASGIHandler()
    assert handler.lane is None
    assert "must be async-capable" in caplog.text
    headers = {"authorization": f"Bearer {alice_token}", "content-type": "application/json"}
    status, answer_headers, _ = call(handler, "POST", f"{BASE}/trigger", BODY, headers)
    assert status == 200 and (b"X-Sync-Only", b"yes") in answer_headers  # the deployer's middleware ran
