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

from pipelines.asgi import PipelineASGIHandler, lane_counters
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


@pytest.mark.parametrize("case", ["session", "multipart", "stream", "sse header", "chunked", "get"])
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
    elif case == "stream":
        headers["accept"] = "text/event-stream"
    elif case == "sse header":
        headers["instill-use-sse"] = "true"
    elif case == "get":
        method, body = "GET", b""
    lane, _ = handlers
    before = served()
    path = f"{BASE}/trigger"
    status, answer_headers, content = call(lane, method, path, body, headers, chunked=case == "chunked")
    assert served() == before, case  # answered by the full cycle
    expected = {"session": 403, "multipart": 200, "stream": 200, "sse header": 200, "chunked": 200, "get": 405}[case]
    assert status == expected, (case, content[:300])
    streamed = (b"Content-Type", b"text/event-stream") in answer_headers
    assert streamed == (case in {"stream", "sse header"}), case


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
