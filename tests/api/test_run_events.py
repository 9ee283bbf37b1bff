"""The run event log and the websocket feed (in-process, through Channels' communicator)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from instill_site.asgi import application
from pipelines.models import PipelineRun, RunEvent
from tests.api.test_run_files import RECIPE as FILE_RECIPE
from tests.conftest import SLOW_RECIPE

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "/v1beta/namespaces/alice/pipelines"
INSTILL_ORDER = [
    "PIPELINE_STATUS_UPDATED",
    "COMPONENT_STATUS_UPDATED",
    "COMPONENT_INPUT_UPDATED",
    "COMPONENT_OUTPUT_UPDATED",
    "PIPELINE_OUTPUT_UPDATED",
    "COMPONENT_STATUS_UPDATED",
    "PIPELINE_OUTPUT_UPDATED",
    "PIPELINE_STATUS_UPDATED",
]


def stored(run: PipelineRun) -> list[tuple[int, str, dict]]:
    return [(e.seq, e.name, json.loads(e.payload)) for e in RunEvent.objects.filter(run=run).order_by("seq")]


def test_sync_trigger_stores_every_event_in_order(api, hello):
    """A plain sync trigger's events are in the log with the run: seq 1..N, Instill's order per row."""
    body = {"data": [{"variable": {"prompt": "one"}}, {"variable": {"prompt": "two"}}]}
    assert api.post(f"{BASE}/hello/trigger", body).status_code == 200
    events = stored(PipelineRun.objects.get())
    assert [seq for seq, _, _ in events] == list(range(1, len(events) + 1))
    for row, prompt in ((0, "one"), (1, "two")):
        mine = [(name, data) for _, name, data in events if data["batchIndex"] == row]
        assert [name for name, _ in mine] == INSTILL_ORDER
        assert mine[-2][1]["output"] == {"answer": f"Hello {prompt}"}
        assert mine[-1][1]["status"] == {"started": True, "errored": False, "completed": True}


def test_large_file_is_stored_once_and_referenced_by_events(api, alice, make_pipeline, settings):
    """Events carry a reference to a large File, not a copy of it in every payload."""
    settings.PIPELINE_RUN_FILE_INLINE_BYTES = 1024
    make_pipeline(alice, "files", raw_recipe=FILE_RECIPE)
    large = os.urandom(50_000)
    doc = "data:application/octet-stream;base64," + base64.b64encode(large).decode()
    assert api.post(f"{BASE}/files/trigger", {"data": [{"variable": {"doc": doc}}]}).status_code == 200
    run = PipelineRun.objects.get()
    payloads = [e.payload for e in RunEvent.objects.filter(run=run)]
    assert sum("@file" in p for p in payloads) >= 2  # the pipeline output, rendered twice
    assert sum(len(p) for p in payloads) < 10_000
    on_disk = list((Path(settings.PIPELINE_DATA_DIR) / "run-files" / str(run.uid)).iterdir())
    assert len(on_disk) == 1 and on_disk[0].read_bytes() == large


def test_async_run_stores_its_events(api, hello):
    operation = api.post(f"{BASE}/hello/trigger-async", {"data": [{"variable": {"prompt": "later"}}]}).json()[
        "operation"
    ]
    uid = operation["name"].split("/")[1]
    deadline = time.monotonic() + 15
    while not api.get(f"/v1beta/{operation['name']}").json()["operation"]["done"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    events = stored(PipelineRun.objects.get(uid=uid))
    assert [name for _, name, _ in events] == INSTILL_ORDER


# --- websocket ------------------------------------------------------------------------


def ws(uid: str, token: str | None = None, query: str = "") -> WebsocketCommunicator:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    return WebsocketCommunicator(application, f"/ws/runs/{uid}/{query}", headers=headers)


async def receive_all(communicator: WebsocketCommunicator, timeout: float = 10) -> tuple[list[dict], int]:
    """Messages until the server closes; returns them and the close code."""
    messages = []
    while True:
        message = await communicator.receive_output(timeout)
        if message["type"] == "websocket.close":
            return messages, message.get("code", 1000)
        messages.append(json.loads(message["text"]))


@database_sync_to_async
def last_run_uid() -> str:
    return str(PipelineRun.objects.latest("create_time").uid)


async def test_websocket_replays_a_finished_run_then_closes(api, alice_token, hello):
    await database_sync_to_async(api.post)(f"{BASE}/hello/trigger", {"data": [{"variable": {"prompt": "ws"}}]})
    uid = await last_run_uid()
    communicator = ws(uid, alice_token)
    connected, _ = await communicator.connect()
    assert connected
    messages, code = await receive_all(communicator)
    assert code == 1000
    events = [m for m in messages if m["type"] == "event"]
    assert [m["event"] for m in events] == INSTILL_ORDER
    assert [m["seq"] for m in events] == list(range(1, 9))
    assert events[-2]["data"]["output"] == {"answer": "Hello ws"}
    assert messages[-1] == {"type": "end", "status": "RUN_STATUS_COMPLETED", "error": ""}

    later = ws(uid, alice_token, "?after=6")
    await later.connect()
    messages, _ = await receive_all(later)
    assert [m.get("seq") for m in messages] == [7, 8, None]


async def test_websocket_refuses_strangers_with_clear_codes(api, alice_token, bob_token, hello):
    await database_sync_to_async(api.post)(f"{BASE}/hello/trigger", {"data": [{"variable": {"prompt": "x"}}]})
    uid = await last_run_uid()
    for token, code in ((None, 4401), (bob_token, 4404), ("instill_sk_" + "x" * 32, 4401)):
        communicator = ws(uid, token)
        await communicator.connect()
        assert await receive_all(communicator) == ([], code)
    communicator = ws("00000000-0000-0000-0000-000000000000", alice_token)
    await communicator.connect()
    assert await receive_all(communicator) == ([], 4404)


async def test_websocket_follows_a_running_async_run_live(
    api, alice, alice_token, make_pipeline, slow_server, settings
):
    """Connected while the run waits on a slow server: the events so far, then live ones, then the end."""
    settings.PIPELINE_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    await database_sync_to_async(make_pipeline)(alice, "slow", raw_recipe=SLOW_RECIPE)
    body = {"data": [{"variable": {"url": f"{slow_server}/sleep/1"}}]}
    response = await database_sync_to_async(api.post)(f"{BASE}/slow/trigger-async", body)
    uid = response.json()["operation"]["name"].split("/")[1]
    await asyncio.sleep(0.4)  # started, waiting on the slow server
    communicator = ws(uid, alice_token)
    await communicator.connect()
    messages, code = await receive_all(communicator)
    assert code == 1000
    names = [m["event"] for m in messages if m["type"] == "event"]
    assert names == INSTILL_ORDER
    assert messages[-1]["status"] == "RUN_STATUS_COMPLETED"


# --- review fixes: one run's values, long streams, cancelled-while-queued, leaks ------------

BIG_INT_RECIPE = """\
variable:
  text: {type: string}
component:
  parse: {type: json, task: TASK_UNMARSHAL, input: {string: "${variable.text}"}}
output:
  value: {value: "${parse.output.json}"}
"""


async def test_a_huge_integer_fails_nobody(api, alice, alice_token, hello, make_pipeline):
    """A run whose output holds an integer beyond 64 bits answers 200 with the exact
    number and is recorded with its events — and the triggers written in the same
    group commit are not hurt."""
    from django.test import AsyncClient

    await database_sync_to_async(make_pipeline)(alice, "big", raw_recipe=BIG_INT_RECIPE)
    client = AsyncClient()
    auth = {"Authorization": f"Bearer {alice_token}"}
    big = '{"id": 123456789012345678901234567890}'

    async def trigger(pipeline: str, variable: dict):
        return await client.post(
            f"{BASE}/{pipeline}/trigger",
            {"data": [{"variable": variable}]},
            content_type="application/json",
            headers=auth,
        )

    answers = await asyncio.gather(
        trigger("big", {"text": big}), *(trigger("hello", {"prompt": str(i)}) for i in range(20))
    )
    assert [a.status_code for a in answers] == [200] * 21
    assert json.loads(answers[0].content)["outputs"] == [{"value": {"id": 123456789012345678901234567890}}]
    runs = await database_sync_to_async(lambda: list(PipelineRun.objects.all()))()
    assert len(runs) == 21
    big_run = next(r for r in runs if r.outputs == [{"value": {"id": 123456789012345678901234567890}}])
    payloads = await database_sync_to_async(lambda: [e.payload for e in RunEvent.objects.filter(run=big_run)])()
    assert any("123456789012345678901234567890" in p for p in payloads)


def test_superseded_streamed_outputs_are_coalesced():
    """Cumulative output events that a later one in the same batch supersedes are not
    stored; statuses, inputs and each burst's last output are."""
    from datetime import UTC, datetime

    from pipelines.engine import ComponentOutputUpdated, ComponentStatusUpdated, PipelineOutputUpdated
    from pipelines.services.run_events import coalesce

    now = datetime.now(UTC)
    events, seq = [], 0

    def add(cls, **data):
        nonlocal seq
        seq += 1
        events.append(cls(batch_index=0, seq=seq, update_time=now, **data))

    add(ComponentStatusUpdated, component_id="llm", started=True)
    for text in ("The", "The sky", "The sky is blue"):
        add(ComponentOutputUpdated, component_id="llm", output={"texts": [text]})
        add(PipelineOutputUpdated, output={"answer": text})
    add(ComponentStatusUpdated, component_id="llm", started=True, completed=True)
    add(PipelineOutputUpdated, output={"answer": "The sky is blue"})
    kept = coalesce(events)
    assert [(e.seq, e.name) for e in kept] == [
        (1, "COMPONENT_STATUS_UPDATED"),
        (6, "COMPONENT_OUTPUT_UPDATED"),
        (7, "PIPELINE_OUTPUT_UPDATED"),
        (8, "COMPONENT_STATUS_UPDATED"),
        (9, "PIPELINE_OUTPUT_UPDATED"),
    ]
    assert kept[1].output == {"texts": ["The sky is blue"]}


async def test_cancelled_while_queued_tells_its_followers(
    api, alice, alice_token, make_pipeline, slow_server, settings
):
    """A follower of a queued run that is cancelled hears the end at once, after the
    failure events (no wait for a periodic check)."""
    settings.PIPELINE_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.PIPELINE_SSE_HEARTBEAT_SECONDS = 30  # the periodic re-check must not be what ends it
    from pipelines.services.operations import executor

    await database_sync_to_async(make_pipeline)(alice, "slow", raw_recipe=SLOW_RECIPE)
    body = {"data": [{"variable": {"url": f"{slow_server}/sleep/3"}}]}
    post = database_sync_to_async(api.post)
    names = [
        (await post(f"{BASE}/slow/trigger-async", body)).json()["operation"]["name"]
        for _ in range(executor().concurrency + 1)
    ]
    queued = names[-1].split("/")[1]
    communicator = ws(queued, alice_token)
    await communicator.connect()
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await post(f"/v1beta/operations/{queued}:cancel")
    messages, code = await receive_all(communicator, timeout=5)
    assert time.monotonic() - started < 3 and code == 1000
    assert [m.get("event") for m in messages[:-1]] == ["PIPELINE_ERROR_UPDATED", "PIPELINE_STATUS_UPDATED"]
    assert messages[-1] == {"type": "end", "status": "RUN_STATUS_CANCELLED", "error": "the run was cancelled"}
    for name in names[:-1]:
        await post(f"/v1beta/{name}:cancel")
    # The executor records the cancelled runs' ends after their cancels are answered:
    # the test's database goes only once it has.
    uids = [name.split("/")[1] for name in names]
    ended = database_sync_to_async(
        lambda: PipelineRun.objects.filter(uid__in=uids, status__in=PipelineRun.TERMINAL).count()
    )
    for _ in range(200):
        if await ended() == len(uids):
            break
        await asyncio.sleep(0.025)
    assert await ended() == len(uids)


async def test_websocket_connections_leave_nothing_behind(api, alice_token, hello):
    """The in-memory layer forgets a follower's channel when it disconnects."""
    from channels.layers import get_channel_layer

    await database_sync_to_async(api.post)(f"{BASE}/hello/trigger", {"data": [{"variable": {"prompt": "x"}}]})
    uid = await last_run_uid()
    layer = get_channel_layer()
    before = (len(layer._loops), len(layer.groups))
    for _ in range(5):
        communicator = ws(uid, alice_token)
        await communicator.connect()
        await receive_all(communicator)
        await communicator.disconnect()
    assert (len(layer._loops), len(layer.groups)) == before
