"""Following runs over a live server: SSE resume with a real SSE client, heartbeats,
many concurrent streams, and the websocket feed through serve's ASGI server."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from httpx_sse import aconnect_sse, connect_sse

from tests.conftest import SLOW_RECIPE

pytestmark = pytest.mark.e2e

PIPELINES = "/v1beta/namespaces/admin/pipelines"
HELLO = f"{PIPELINES}/hello/trigger"


def has_data(event) -> bool:
    """httpx-sse reports the blank line after a heartbeat comment as an empty event."""
    return bool(event.data)


@pytest.fixture(scope="module")
def slow(api_token, base_url) -> str:
    """A pipeline that waits on the slow_server fixture for as long as its URL says."""
    headers = {"Authorization": f"Bearer {api_token}"}
    created = httpx.post(base_url + PIPELINES, json={"id": "events-slow", "rawRecipe": SLOW_RECIPE}, headers=headers)
    assert created.status_code in (201, 409), created.text
    return f"{PIPELINES}/events-slow"


def test_resume_a_broken_stream_with_last_event_id(base_url, api_token, slow, slow_server):
    """A client that drops a streamed trigger half-way gets the rest from /events, from
    where it stopped, and the run finished meanwhile."""
    auth = {"Authorization": f"Bearer {api_token}"}
    body = {"data": [{"variable": {"url": f"{slow_server}/sleep/1"}}]}
    with httpx.Client(base_url=base_url, headers=auth, timeout=30) as client:
        with connect_sse(client, "POST", f"{slow}/trigger", json=body) as source:
            run_uid = source.response.headers["Pipeline-Run-Uid"]
            first = []
            for event in filter(has_data, source.iter_sse()):
                first.append(event)
                if event.event == "COMPONENT_INPUT_UPDATED":
                    break  # hang up while the component waits
        last_id = first[-1].id
        with connect_sse(
            client, "GET", f"/v1beta/pipeline-runs/{run_uid}/events", headers={"Last-Event-ID": last_id}
        ) as source:
            rest = list(filter(has_data, source.iter_sse()))
        with connect_sse(client, "GET", f"/v1beta/pipeline-runs/{run_uid}/events") as source:
            everything = list(filter(has_data, source.iter_sse()))
    ids = [int(e.id) for e in first + rest]
    assert ids == list(range(1, len(ids) + 1)), "no gap and no duplicate across the resume"
    assert [e.event for e in first + rest] == [e.event for e in everything]
    assert rest[-1].event == "PIPELINE_STATUS_UPDATED" and rest[-1].json()["status"]["completed"] is True
    outputs = [e.json()["output"] for e in rest if e.event == "PIPELINE_OUTPUT_UPDATED"]
    assert outputs[-1] == {"status": 200}


def test_follow_an_async_run_with_heartbeats(base_url, api_token, slow, slow_server):
    """/events on a queued async run: heartbeat comments while it waits, then its events live."""
    auth = {"Authorization": f"Bearer {api_token}"}
    body = {"data": [{"variable": {"url": f"{slow_server}/sleep/1.5"}}]}
    operation = httpx.post(base_url + f"{slow}/trigger-async", json=body, headers=auth).json()["operation"]
    run_uid = operation["name"].split("/")[1]
    with httpx.stream(
        "GET", f"{base_url}/v1beta/pipeline-runs/{run_uid}/events?after=0", headers=auth, timeout=30
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache" and r.headers["x-accel-buffering"] == "no"
        lines = list(r.iter_lines())
    assert lines.count(": heartbeat") >= 1  # 0.5 s interval on the e2e server, 1.5 s wait
    names = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    assert names[0] == "PIPELINE_STATUS_UPDATED" and names[-1] == "PIPELINE_STATUS_UPDATED"
    assert httpx.get(f"{base_url}/v1beta/{operation['name']}", headers=auth).json()["operation"]["done"] is True


def test_events_endpoint_errors(base_url, api_token):
    auth = {"Authorization": f"Bearer {api_token}"}
    unknown = "/v1beta/pipeline-runs/00000000-0000-0000-0000-000000000000/events"
    assert httpx.get(base_url + unknown).status_code == 401
    missing = httpx.get(base_url + unknown, headers=auth)
    assert missing.status_code == 404 and missing.json()["code"] == 5
    bad = httpx.get(base_url + unknown, headers={**auth, "Last-Event-ID": "soon"})
    assert bad.status_code == 400 and "Last-Event-ID" in bad.json()["message"]


def test_fifty_concurrent_streaming_clients(base_url, api_token, slow, slow_server):
    """50 streamed triggers at once, each waiting 1 s on a slow server: every client gets
    its whole, ordered stream; the server does not hold a thread per client."""
    auth = {"Authorization": f"Bearer {api_token}"}

    async def one(client: httpx.AsyncClient, index: int) -> list:
        body = {"data": [{"variable": {"url": f"{slow_server}/sleep/1?client={index}"}}]}
        async with aconnect_sse(client, "POST", f"{slow}/trigger", json=body) as source:
            return [event async for event in source.aiter_sse() if has_data(event)]

    async def scenario() -> list[list]:
        limits = httpx.Limits(max_connections=60)
        async with httpx.AsyncClient(base_url=base_url, headers=auth, timeout=60, limits=limits) as client:
            return await asyncio.gather(*(one(client, i) for i in range(50)))

    streams = asyncio.run(scenario())
    assert len(streams) == 50
    for events in streams:
        assert [int(e.id) for e in events] == list(range(1, len(events) + 1))
        assert events[-1].event == "PIPELINE_STATUS_UPDATED" and events[-1].json()["status"]["completed"] is True
        assert [e.json()["output"] for e in events if e.event == "PIPELINE_OUTPUT_UPDATED"][-1] == {"status": 200}


def test_websocket_through_the_live_server(base_url, api_token, slow, slow_server):
    """A websocket client (token in the handshake) follows an async run to its end."""
    auth = {"Authorization": f"Bearer {api_token}"}
    body = {"data": [{"variable": {"url": f"{slow_server}/sleep/0.5"}}]}
    run_uid = (
        httpx.post(base_url + f"{slow}/trigger-async", json=body, headers=auth)
        .json()["operation"]["name"]
        .split("/")[1]
    )
    ws_url = base_url.replace("http://", "ws://") + f"/ws/runs/{run_uid}/"

    async def follow() -> tuple[list[dict], int]:
        messages = []
        async with websockets.connect(ws_url, additional_headers=auth) as socket:
            async for text in socket:
                messages.append(json.loads(text))
        return messages, socket.close_code

    messages, code = asyncio.run(follow())
    assert code == 1000
    events = [m for m in messages if m["type"] == "event"]
    assert [m["seq"] for m in events] == list(range(1, len(events) + 1))
    assert messages[-1] == {"type": "end", "status": "RUN_STATUS_COMPLETED", "error": ""}

    async def refused(headers: dict) -> int:
        async with websockets.connect(ws_url, additional_headers=headers) as socket:
            await socket.wait_closed()
        return socket.close_code

    assert asyncio.run(refused({})) == 4401
    # A browser page of another site is refused at the handshake.
    with pytest.raises(websockets.InvalidStatus):
        asyncio.run(refused({**auth, "Origin": "http://evil.example"}))
