"""Server-sent events on the sync trigger paths, through a live server."""

from __future__ import annotations

import json
import time

import httpx
import pytest

pytestmark = pytest.mark.e2e

HELLO = "/v1beta/namespaces/admin/pipelines/hello/trigger"


def read_events(response: httpx.Response) -> list[dict]:
    """A small SSE parser: one dict per event with its id, name and JSON data. Comments
    (the heartbeats a run slower than their interval gets) are no events, as in a browser."""
    events, current = [], {}
    for line in response.iter_lines():
        if line == "":
            if current:
                events.append(current)
            current = {}
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(": ")
            current[field] = json.loads(value) if field == "data" else value
    return events


def test_stream_hello_in_instill_order(base_url, api_token):
    headers = {"Authorization": f"Bearer {api_token}", "Accept": "text/event-stream"}
    body = {"data": [{"variable": {"prompt": "stream"}}, {"variable": {"prompt": "two"}}]}
    with httpx.stream("POST", base_url + HELLO, json=body, headers=headers, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache" and response.headers["x-accel-buffering"] == "no"
        events = read_events(response)
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    row0 = [e for e in events if e["data"]["batchIndex"] == 0]
    names = [e["event"] for e in row0]
    assert names[0] == "PIPELINE_STATUS_UPDATED" and row0[0]["data"]["status"]["started"]
    assert names[1:4] == ["COMPONENT_STATUS_UPDATED", "COMPONENT_INPUT_UPDATED", "COMPONENT_OUTPUT_UPDATED"]
    assert row0[1]["data"]["componentID"] == "greet"
    assert row0[3]["data"]["output"] == {"results": ["Hello stream"]}
    assert names[-1] == "PIPELINE_STATUS_UPDATED" and row0[-1]["data"]["status"]["completed"] is True
    final_outputs = [e for e in row0 if e["event"] == "PIPELINE_OUTPUT_UPDATED"]
    assert final_outputs[-1]["data"]["output"] == {"answer": "Hello stream"}
    assert {e["data"]["batchIndex"] for e in events} == {0, 1}


def test_old_sse_header_and_errors_before_the_run(base_url, api_token):
    headers = {"Authorization": f"Bearer {api_token}", "Instill-Use-SSE": "true"}
    with httpx.stream("POST", base_url + HELLO, json={"data": [{"variable": {"prompt": "x"}}]}, headers=headers) as r:
        assert r.headers["content-type"].startswith("text/event-stream") and read_events(r)
    bad = httpx.post(base_url + HELLO, json={"data": [{"variable": {}}]}, headers=headers)
    assert bad.status_code == 400 and bad.json()["code"] == 3
    assert (
        httpx.post(
            base_url + HELLO, json={"data": [{"variable": {"prompt": "x"}}]}, headers={"Accept": "text/event-stream"}
        ).status_code
        == 401
    )


def test_component_error_is_streamed_then_the_stream_ends(base_url, api_token):
    headers = {"Authorization": f"Bearer {api_token}"}
    raw = "variable:\n  text: {type: string}\ncomponent:\n  parse: {type: json, task: TASK_UNMARSHAL, input: {string: '${variable.text}'}}\n"
    created = httpx.post(
        base_url + "/v1beta/namespaces/admin/pipelines", json={"id": "sse-broken", "rawRecipe": raw}, headers=headers
    )
    assert created.status_code in (201, 409)
    url = base_url + "/v1beta/namespaces/admin/pipelines/sse-broken/trigger"
    with httpx.stream(
        "POST",
        url,
        json={"data": [{"variable": {"text": "{nope"}}]},
        headers={**headers, "Accept": "text/event-stream"},
    ) as r:
        events = read_events(r)
    names = [e["event"] for e in events]
    assert "COMPONENT_ERROR_UPDATED" in names and names[-1] == "PIPELINE_STATUS_UPDATED"
    assert events[-1]["data"]["status"]["errored"] is True


def test_disconnect_does_not_stop_the_run(base_url, api_token):
    headers = {"Authorization": f"Bearer {api_token}", "Accept": "text/event-stream"}
    runs_url = base_url + "/v1beta/namespaces/admin/pipelines/hello/runs"
    plain = {"Authorization": headers["Authorization"]}
    before = httpx.get(runs_url, headers=plain).json()["totalSize"]
    with httpx.stream(
        "POST", base_url + HELLO, json={"data": [{"variable": {"prompt": "gone"}}]}, headers=headers
    ) as r:
        next(r.iter_lines())  # read one line, then hang up
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listed = httpx.get(runs_url, headers=plain).json()
        if listed["totalSize"] > before and listed["pipelineRuns"][0]["status"] != "RUN_STATUS_PROCESSING":
            break
        time.sleep(0.1)
    newest = httpx.get(runs_url, headers=plain).json()["pipelineRuns"][0]
    assert newest["inputs"] == [{"prompt": "gone"}] and newest["status"] == "RUN_STATUS_COMPLETED"


def test_multipart_request_streams_too(base_url, api_token):
    """``variables[0].prompt`` as a form field, answered as a stream."""
    headers = {"Authorization": f"Bearer {api_token}", "Accept": "text/event-stream"}
    form = {"variables[0].prompt": (None, "form"), "variables[1].prompt": (None, "again")}  # multipart fields
    with httpx.stream("POST", base_url + HELLO, files=form, headers=headers) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = read_events(r)
    outputs = {e["data"]["batchIndex"]: e["data"]["output"] for e in events if e["event"] == "PIPELINE_OUTPUT_UPDATED"}
    assert outputs == {0: {"answer": "Hello form"}, 1: {"answer": "Hello again"}}


def test_release_trigger_streams(base_url, api_token):
    """``/releases/{v}/trigger`` streams the frozen recipe's run like the latest one."""
    auth = {"Authorization": f"Bearer {api_token}"}
    release = httpx.post(
        base_url + "/v1beta/namespaces/admin/pipelines/hello/releases", json={"id": "v0.9.0"}, headers=auth
    )
    assert release.status_code in (201, 409), release.text
    url = base_url + "/v1beta/namespaces/admin/pipelines/hello/releases/v0.9.0/trigger"
    with httpx.stream(
        "POST",
        url,
        json={"data": [{"variable": {"prompt": "frozen"}}]},
        headers={**auth, "Accept": "text/event-stream"},
    ) as r:
        run_uid = r.headers["Pipeline-Run-Uid"]
        events = read_events(r)
    assert [e for e in events if e["event"] == "PIPELINE_OUTPUT_UPDATED"][-1]["data"]["output"] == {
        "answer": "Hello frozen"
    }
    runs = httpx.get(base_url + "/v1beta/namespaces/admin/pipelines/hello/runs", headers=auth).json()["pipelineRuns"]
    assert next(r for r in runs if r["pipelineRunUid"] == run_uid)["pipelineVersion"] == "v0.9.0"
