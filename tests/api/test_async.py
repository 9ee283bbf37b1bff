"""Async triggers, operations, cancel, idempotency and run time limits (in-process executor)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest

from pipelines.models import PipelineRun
from tests.conftest import RUNAWAY_RECIPE, SLOW_RECIPE

BASE = "/v1beta/namespaces/alice/pipelines"


pytestmark = pytest.mark.django_db(transaction=True)


def poll(client, name: str, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        operation = client.get(f"/v1beta/{name}").json()["operation"]
        if operation["done"]:
            return operation
        time.sleep(0.05)
    raise AssertionError(f"{name} not done after {timeout} s")


def test_async_trigger_then_poll(api, hello):
    response = api.post(f"{BASE}/hello/trigger-async", {"data": [{"variable": {"prompt": "later"}}]})
    assert response.status_code == 200
    operation = response.json()["operation"]
    assert operation["name"].startswith("operations/") and operation["done"] is False
    done = poll(api, operation["name"])
    assert done["response"]["@type"].endswith("pipeline.pipeline.v1beta.TriggerNamespacePipelineResponse")
    assert done["response"]["outputs"] == [{"answer": "Hello later"}]
    trace = done["response"]["metadata"]["traces"]["greet"]
    assert trace["statuses"] == ["STATUS_COMPLETED"] and trace["outputs"] == [{"results": ["Hello later"]}]
    run = PipelineRun.objects.get()
    assert str(run.uid) == operation["name"].split("/")[1] and run.status == PipelineRun.Status.COMPLETED


def test_async_validates_like_sync(api, hello):
    """Bad input is a 400 now, not a failed operation later."""
    response = api.post(f"{BASE}/hello/trigger-async", {"data": [{"variable": {}}]})
    assert response.status_code == 400 and "prompt" in response.json()["message"]
    assert api.post(f"{BASE}/nope/trigger-async", {"data": [{"variable": {}}]}).status_code == 404
    assert PipelineRun.objects.count() == 0


def test_release_async_records_version(api, hello):
    api.post(f"{BASE}/hello/releases", {"id": "v1.0.0"})
    operation = api.post(
        f"{BASE}/hello/releases/v1.0.0/trigger-async", {"data": [{"variable": {"prompt": "r"}}]}
    ).json()["operation"]
    assert poll(api, operation["name"])["response"]["outputs"] == [{"answer": "Hello r"}]
    assert PipelineRun.objects.get().pipeline_version == "v1.0.0"


def test_operation_access(api, bob_api, hello):
    operation = api.post(f"{BASE}/hello/trigger-async", {"data": [{"variable": {"prompt": "x"}}]}).json()["operation"]
    poll(api, operation["name"])
    assert bob_api.get(f"/v1beta/{operation['name']}").status_code == 404
    assert api.get("/v1beta/operations/not-a-uuid").status_code == 404


def test_component_failure_operation_has_response(api, alice, make_pipeline):
    raw = "component:\n  bad: {type: json, task: TASK_UNMARSHAL, input: {string: '{x'}}\n"
    make_pipeline(alice, "bad", raw_recipe=raw)
    operation = api.post(f"{BASE}/bad/trigger-async", {"data": [{"variable": {}}]}).json()["operation"]
    done = poll(api, operation["name"])
    assert "error" not in done and done["response"]["metadata"]["traces"]["bad"]["statuses"] == ["STATUS_ERROR"]


def test_cancel_running_run(api, alice, make_pipeline, slow_server, settings):
    settings.PIPELINE_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    make_pipeline(alice, "slow", raw_recipe=SLOW_RECIPE)
    body = {"data": [{"variable": {"url": f"{slow_server}/sleep/10"}}]}
    operation = api.post(f"{BASE}/slow/trigger-async", body).json()["operation"]
    uid = operation["name"].split("/")[1]
    deadline = time.monotonic() + 5
    while PipelineRun.objects.get(uid=uid).status != PipelineRun.Status.PROCESSING and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    assert api.post(f"/v1beta/operations/{uid}:cancel").status_code == 200
    done = poll(api, operation["name"])
    assert time.monotonic() - started < 3
    assert done["error"]["code"] == 1 and "cancel" in done["error"]["message"]
    assert PipelineRun.objects.get(uid=uid).status == PipelineRun.Status.CANCELLED


def test_cancel_queued_run_and_slash_form(api, alice, make_pipeline, slow_server, settings):
    """With the pool busy, a queued run is cancelled before it starts."""
    settings.PIPELINE_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    make_pipeline(alice, "slow", raw_recipe=SLOW_RECIPE)
    body = {"data": [{"variable": {"url": f"{slow_server}/sleep/3"}}]}
    from pipelines.services.operations import executor

    names = [
        api.post(f"{BASE}/slow/trigger-async", body).json()["operation"]["name"]
        for _ in range(executor().concurrency + 1)
    ]
    last = names[-1].split("/")[1]
    assert PipelineRun.objects.get(uid=last).status == PipelineRun.Status.QUEUED
    response = api.post(f"/v1beta/operations/{last}/cancel")
    assert response.status_code == 200 and response.json()["operation"]["error"]["code"] == 1
    for name in names[:-1]:
        api.post(f"/v1beta/{name}:cancel")
        poll(api, name)


def test_run_time_limit(api, alice, make_pipeline, slow_server, settings):
    settings.PIPELINE_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    make_pipeline(alice, "slow", raw_recipe=SLOW_RECIPE)
    assert api.patch(f"{BASE}/slow", {"maxRunSeconds": 0}).status_code == 400
    assert api.patch(f"{BASE}/slow", {"maxRunSeconds": 1}).json()["pipeline"]["maxRunSeconds"] == 1
    body = {"data": [{"variable": {"url": f"{slow_server}/sleep/5"}}]}
    operation = api.post(f"{BASE}/slow/trigger-async", body).json()["operation"]
    done = poll(api, operation["name"])
    assert done["error"]["code"] == 4 and "maximum run time" in done["error"]["message"]
    sync = api.post(f"{BASE}/slow/trigger", body)
    assert sync.status_code == 504 and sync.json()["code"] == 4
    assert PipelineRun.objects.filter(status=PipelineRun.Status.FAILED).count() == 2


def test_a_runaway_jq_run_is_stopped_at_its_time_limit(api, alice, make_pipeline):
    """An async run stuck in a jq filter that never ends fails at maxRunSeconds with a
    message naming the limit (the task's process is killed), wherever it executes."""
    make_pipeline(alice, "runaway", raw_recipe=RUNAWAY_RECIPE)
    assert api.patch(f"{BASE}/runaway", {"maxRunSeconds": 1}).status_code == 200
    operation = api.post(f"{BASE}/runaway/trigger-async", {"data": [{"variable": {}}]}).json()["operation"]
    done = poll(api, operation["name"])
    assert done["error"]["code"] == 4
    assert "maximum run time of 1 s (maxRunSeconds)" in done["error"]["message"]
    assert PipelineRun.objects.get().status == PipelineRun.Status.FAILED


def test_a_runaway_jq_run_can_be_cancelled(api, alice, make_pipeline):
    """Cancelling a run stuck in a jq filter stops it at once (its task process is killed)."""
    make_pipeline(alice, "runaway", raw_recipe=RUNAWAY_RECIPE)
    operation = api.post(f"{BASE}/runaway/trigger-async", {"data": [{"variable": {}}]}).json()["operation"]
    uid = operation["name"].split("/")[1]
    deadline = time.monotonic() + 10
    while PipelineRun.objects.get(uid=uid).status != PipelineRun.Status.PROCESSING and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api.post(f"/v1beta/operations/{uid}:cancel").status_code == 200
    done = poll(api, operation["name"])
    assert done["error"]["code"] == 1 and "cancel" in done["error"]["message"]
    assert PipelineRun.objects.get(uid=uid).status == PipelineRun.Status.CANCELLED


def test_idempotency_key(api, hello):
    body = {"data": [{"variable": {"prompt": "once"}}]}
    first = api.post(f"{BASE}/hello/trigger-async", body, HTTP_IDEMPOTENCY_KEY="k1").json()["operation"]
    again = api.post(f"{BASE}/hello/trigger-async", body, HTTP_IDEMPOTENCY_KEY="k1").json()["operation"]
    assert first["name"] == again["name"]
    conflict = api.post(
        f"{BASE}/hello/trigger-async", {"data": [{"variable": {"prompt": "other"}}]}, HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert conflict.status_code == 409 and "Idempotency-Key" in conflict.json()["message"]
    poll(api, first["name"])
    sync1 = api.post(f"{BASE}/hello/trigger", body, HTTP_IDEMPOTENCY_KEY="k2").json()
    sync2 = api.post(f"{BASE}/hello/trigger", body, HTTP_IDEMPOTENCY_KEY="k2").json()
    assert sync1["outputs"] == sync2["outputs"] == [{"answer": "Hello once"}]
    assert PipelineRun.objects.count() == 2


def test_recovery_fails_runs_of_dead_processes(hello, alice):
    from pipelines.api.serializers import operation_json
    from pipelines.services.operations import runs_recover

    run = PipelineRun.objects.create(
        pipeline=hello, status=PipelineRun.Status.PROCESSING, worker="ghost-host-not-here:1"
    )
    from datetime import timedelta

    from django.utils import timezone

    PipelineRun.objects.filter(pk=run.pk).update(heartbeat_time=timezone.now() - timedelta(hours=1))
    import socket

    local = PipelineRun.objects.create(
        pipeline=hello,
        status=PipelineRun.Status.PROCESSING,
        worker=f"{socket.gethostname()}:999999",
        heartbeat_time=timezone.now(),
    )
    assert runs_recover() == 2
    for r in (run, local):
        r.refresh_from_db()
        assert r.status == PipelineRun.Status.FAILED and "interrupted by a restart" in r.error
        assert operation_json(r)["error"]["code"] == 10


def test_idempotency_fingerprint_cannot_confirm_a_secret_override(api, hello):
    """A row's secret override is part of what an Idempotency-Key compares, but the stored
    fingerprint is keyed by the server: someone holding the database cannot confirm a
    guessed override by hashing the request themselves."""
    import hashlib
    import json

    from pipelines.models import IdempotencyKey

    guess = "short-pin-1234"
    row = {"variable": {"prompt": "once"}, "secret": {"pin": guess}}
    first = api.post(f"{BASE}/hello/trigger-async", {"data": [row]}, HTTP_IDEMPOTENCY_KEY="s1").json()["operation"]
    again = api.post(f"{BASE}/hello/trigger-async", {"data": [row]}, HTTP_IDEMPOTENCY_KEY="s1").json()["operation"]
    assert first["name"] == again["name"]
    other = {"variable": {"prompt": "once"}, "secret": {"pin": "another-pin"}}
    assert api.post(f"{BASE}/hello/trigger-async", {"data": [other]}, HTTP_IDEMPOTENCY_KEY="s1").status_code == 409
    poll(api, first["name"])
    stored = IdempotencyKey.objects.get(key="s1").request_hash
    run = PipelineRun.objects.get()
    body = json.dumps(
        {"p": str(hello.uid), "v": run.pipeline_version, "m": "async", "rows": [[row["variable"], row["secret"]]]},
        sort_keys=True,
        default=str,
    )
    assert stored != hashlib.sha256(body.encode()).hexdigest()
    assert guess not in stored and guess not in str(run.pending_secrets)


def test_the_in_process_executor_takes_runs_submitted_at_once_from_many_threads(monkeypatch):
    """Async triggers enqueued at the same moment by several threads all run: the
    executor's lazy start lets no caller through before its loop exists (it answered
    500 to the second caller), and one wake-up of its loop takes every uid that came."""
    from pipelines import executors

    new_loop = asyncio.new_event_loop

    def slow_new_loop() -> asyncio.AbstractEventLoop:
        time.sleep(0.05)  # the pool's thread is slow to make its loop: others must wait
        return new_loop()

    monkeypatch.setattr(executors.asyncio, "new_event_loop", slow_new_loop)
    done: list[uuid.UUID] = []
    finished = threading.Event()
    uids = [uuid.uuid4() for _ in range(64)]

    async def execute(run_uid: uuid.UUID) -> None:
        done.append(run_uid)
        if len(done) == len(uids):
            finished.set()

    pool = executors.InProcessExecutor(2, execute=execute, recover=lambda: 0, queued=list)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def submit_some(part: list[uuid.UUID]) -> None:
        barrier.wait()
        try:
            for uid in part:
                pool.submit(uid)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit_some, args=(uids[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert finished.wait(5)
    assert sorted(done) == sorted(uids)  # each once
