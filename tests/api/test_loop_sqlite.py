"""The trigger hot path on SQLite: its read and its write on the event loop.

These tests commit (``transaction=True``): the loop's own SQLite connection sees only
committed data, as in production. Whatever the loop path does must be what the ORM
path in a thread would have done: same answers, same stored rows, changes and
revocations seen at once, and nothing lost when the database is busy.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from datetime import UTC, datetime

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings as django_settings
from django.db import connection

from pipelines import loop_sqlite
from pipelines.asgi import PipelineASGIHandler
from pipelines.models import ComponentRun, PipelineRun, RunEvent
from pipelines.services import run_handoff
from pipelines.services.bulk import sqlite_adapters
from pipelines.services.operations import run_execute
from pipelines.services.run_handoff import run_enqueue_on_loop
from pipelines.services.run_inputs import TriggerRow
from pipelines.services.run_targets import trigger_target
from tests.api.test_async import poll
from tests.api.test_trigger_lane import call

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/v1beta/namespaces/alice/pipelines/hello/trigger"


def trigger(client, prompt: str = "user"):
    return client.post(URL, {"data": [{"variable": {"prompt": prompt}}]})


def runs(client) -> list[dict]:
    response = client.get("/v1beta/namespaces/alice/pipelines/hello/runs?view=VIEW_FULL")
    assert response.status_code == 200, response.content
    return response.json()["pipelineRuns"]


def test_cached_triggers_read_and_write_on_the_loop(api, hello):
    assert trigger(api, "warm").status_code == 200  # the thread path fills the caches
    before = dict(loop_sqlite.counters)
    for name in ("ann", "bob"):
        response = trigger(api, name)
        assert response.status_code == 200
        assert response.json()["outputs"] == [{"answer": f"Hello {name}"}]
    assert loop_sqlite.counters["reads"] >= before.get("reads", 0) + 2
    assert loop_sqlite.counters["writes"] >= before.get("writes", 0) + 2
    assert [run["inputs"] for run in runs(api)[:3]] == [[{"prompt": "bob"}], [{"prompt": "ann"}], [{"prompt": "warm"}]]


def test_loop_and_orm_paths_store_the_same_run(api, hello, settings):
    trigger(api, "warm")
    assert trigger(api, "loop").status_code == 200
    settings.PIPELINE_LOOP_SQLITE = False
    assert trigger(api, "orm").status_code == 200
    by_prompt = {run["inputs"][0]["prompt"]: run for run in runs(api)}
    varying = {
        "id",
        "pipelineRunUid",
        "createTime",
        "updateTime",
        "startTime",
        "completeTime",
        "totalDuration",
        "inputs",
        "outputs",
    }

    def same(run: dict) -> dict:
        return {key: value for key, value in run.items() if key not in varying}

    loop_run, orm_run = by_prompt["loop"], by_prompt["orm"]
    assert same(loop_run) == same(orm_run)
    assert loop_run["outputs"] == [{"answer": "Hello loop"}] and orm_run["outputs"] == [{"answer": "Hello orm"}]
    # Component runs and events too, as rows.
    stored = {run.inputs[0]["prompt"]: run for run in PipelineRun.objects.filter(pipeline=hello)}
    for prompt in ("loop", "orm"):
        run = stored[prompt]
        assert run.worker and run.complete_time > run.start_time
        assert ComponentRun.objects.get(run=run).outputs == [{"results": [f"Hello {prompt}"]}]
    names = [
        [event.name for event in RunEvent.objects.filter(run=stored[prompt]).order_by("seq")]
        for prompt in ("loop", "orm")
    ]
    assert names[0] == names[1] and names[0][-1] == "PIPELINE_STATUS_UPDATED"


def test_a_recipe_change_is_seen_by_the_next_trigger(api, hello):
    assert trigger(api, "x").json()["outputs"] == [{"answer": "Hello x"}]
    recipe = hello.raw_recipe.replace('"Hello \\(', '"Hi \\(')
    assert recipe != hello.raw_recipe
    patched = api.patch("/v1beta/namespaces/alice/pipelines/hello", {"rawRecipe": recipe})
    assert patched.status_code == 200, patched.content
    assert trigger(api, "x").json()["outputs"] == [{"answer": "Hi x"}]


def test_a_deleted_token_is_refused_at_once(api, hello):
    assert trigger(api).status_code == 200
    assert trigger(api).status_code == 200  # now from the caches
    assert api.delete("/v1beta/tokens/test").status_code == 204
    refused = trigger(api)
    assert refused.status_code == 401 and refused.json()["code"] == 16


def test_a_private_pipeline_stays_hidden_from_others(api, bob_api, hello):
    assert trigger(api).status_code == 200  # cached for alice
    assert trigger(bob_api).status_code == 404


def trigger_while_another_writes(client, prompt: str, *, seconds: float):
    """A trigger sent while another connection holds the write lock for ``seconds``."""
    other = sqlite3.connect(django_settings.DATABASES["default"]["NAME"], isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the database
    releaser = threading.Timer(seconds, lambda: other.execute("COMMIT"))
    releaser.start()
    try:
        return trigger(client, prompt)
    finally:
        releaser.join()
        other.close()


def test_a_busy_database_delays_the_write_and_loses_nothing(api, hello):
    trigger(api, "warm")
    before = loop_sqlite.counters["fallbacks"]
    response = trigger_while_another_writes(api, "busy", seconds=0.5)
    assert response.status_code == 200 and response.json()["outputs"] == [{"answer": "Hello busy"}]
    assert loop_sqlite.counters["fallbacks"] > before  # the loop did not wait: a thread did (after its tries)
    assert runs(api)[0]["inputs"] == [{"prompt": "busy"}]


def test_a_write_lock_held_by_another_process_is_waited_for_on_the_loop(api, hello, monkeypatch):
    """Another process writing (``serve --workers``) for a moment: the group commit tries
    again on the loop until the lock is free, instead of handing the write to a thread."""
    from pipelines.services import run_records

    monkeypatch.setattr(run_records, "BUSY_RETRIES", 2000)  # ~2 s: longer than the hold below
    trigger(api, "warm")
    busy, writes, fallbacks = (loop_sqlite.counters[name] for name in ("busy", "writes", "fallbacks"))
    response = trigger_while_another_writes(api, "waited", seconds=0.1)
    assert response.status_code == 200 and response.json()["outputs"] == [{"answer": "Hello waited"}]
    assert loop_sqlite.counters["busy"] > busy
    assert loop_sqlite.counters["writes"] > writes, "the loop wrote it once the lock was free"
    assert loop_sqlite.counters["fallbacks"] - fallbacks == loop_sqlite.counters["busy"] - busy, "no other fallback"
    assert runs(api)[0]["inputs"] == [{"prompt": "waited"}]


def test_a_file_too_large_to_inline_is_stored_from_a_thread(api, alice, make_pipeline, settings):
    settings.PIPELINE_RUN_FILE_INLINE_BYTES = 16
    recipe = (
        "variable:\n  doc: {type: file}\n"
        "component:\n  size:\n    type: json\n    task: TASK_JQ\n"
        '    input: {json-value: "${variable.doc:file-size}", jq-filter: "."}\n'
        'output:\n  doc: {value: "${variable.doc}"}\n'
    )
    make_pipeline(alice, "files", raw_recipe=recipe)
    payload = "data:text/plain;base64," + "QUJD" * 64  # 192 bytes: over the inline limit
    url = "/v1beta/namespaces/alice/pipelines/files/trigger"
    for _ in range(2):  # the second one from the caches, on the loop
        assert api.post(url, {"data": [{"variable": {"doc": payload}}]}).status_code == 200
    run = PipelineRun.objects.filter(pipeline__slug="files").order_by("-create_time").first()
    marker = run.outputs[0]["doc"]["@file"]
    assert marker["size"] == 192
    assert (django_settings.PIPELINE_DATA_DIR / "run-files" / str(run.uid) / marker["name"]).read_bytes() == b"ABC" * 64


@pytest.mark.parametrize("model", [PipelineRun, ComponentRun])
def test_fast_adapters_store_what_the_orm_stores(model, hello, alice):
    now = datetime(2026, 11, 27, 7, 9, 27, 123456, tzinfo=UTC)
    run = PipelineRun(
        uid=uuid.uuid4(),
        pipeline=hello,
        requester=alice,
        pipeline_version="latest",
        status=PipelineRun.Status.COMPLETED,
        inputs=[{"prompt": "ü", "n": 1.5, "deep": {"list": [None, True]}}],
        outputs=[{"answer": "x"}],
        traces={"a": {}},
        error="",
        recipe_snapshot={"version": "v1beta"},
        create_time=now,
        start_time=now,
        complete_time=now,
        total_duration_ms=12,
        error_code=None,
        worker="host:1",
        heartbeat_time=None,
    )
    obj = (
        run
        if model is PipelineRun
        else ComponentRun(
            run=run,
            component_id="greet",
            status=ComponentRun.Status.FAILED,
            inputs=[None],
            outputs=[{"x": [1, 2]}],
            error="boom",
            start_time=now,
            complete_time=None,
            total_duration_ms=None,
        )
    )
    if model is ComponentRun:
        run.save()
        obj.run_id = run.pk
    adapters = dict(sqlite_adapters(model, connection))
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        value = getattr(obj, field.attname)
        assert adapters[field.attname](value) == field.get_db_prep_save(value, connection), field.name


# --- stored runs: streamed and async triggers ---------------------------------------------

VARYING_COLUMNS = {"id", "uid", "create_time", "start_time", "complete_time", "total_duration_ms", "heartbeat_time"}


def stored_run(run_uid) -> tuple[dict, list[dict], list[tuple]]:
    """A run as the database holds it, without what differs between two runs: its
    columns, its component runs and its events (payloads without their times)."""
    run = PipelineRun.objects.get(uid=run_uid)
    columns = {f.attname: getattr(run, f.attname) for f in PipelineRun._meta.concrete_fields}
    for trace in columns["traces"].values():
        trace.pop("computeTimeInSeconds")
    components = [
        {k: v for k, v in row.items() if k not in {"id", "run_id", "start_time", "complete_time", "total_duration_ms"}}
        for row in ComponentRun.objects.filter(run=run).values()
    ]
    events = []
    for event in RunEvent.objects.filter(run=run).order_by("seq"):
        payload = json.loads(event.payload)
        payload.pop("updateTime", None)
        events.append((event.seq, event.name, payload))
    return {k: v for k, v in columns.items() if k not in VARYING_COLUMNS}, components, events


def async_run(client) -> str:
    response = client.post(URL + "-async", {"data": [{"variable": {"prompt": "same"}}]})
    assert response.status_code == 200, response.content
    operation = poll(client, response.json()["operation"]["name"])
    assert operation["response"]["outputs"] == [{"answer": "Hello same"}]
    return operation["name"].split("/")[1]


def streamed_run(token: str) -> str:
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json", "accept": "text/event-stream"}
    body = json.dumps({"data": [{"variable": {"prompt": "same"}}]}).encode()
    status, answer_headers, content = call(PipelineASGIHandler(), "POST", URL, body, headers)
    assert status == 200 and b'"completed":true' in content
    return dict(answer_headers)[b"Pipeline-Run-Uid"].decode()


def test_async_runs_are_enqueued_claimed_and_recorded_on_the_loop_as_the_orm_does(api, hello, settings):
    """An async trigger of a pipeline without secrets is stored, claimed and recorded
    without a thread, and the database holds what the ORM path writes."""
    async_run(api)  # warm
    before = dict(loop_sqlite.counters)
    by_loop = stored_run(async_run(api))
    # Stored (enqueue), claimed, events, end: each a loop write.
    assert loop_sqlite.counters["writes"] >= before.get("writes", 0) + 4
    settings.PIPELINE_LOOP_SQLITE = False
    by_orm = stored_run(async_run(api))
    assert by_loop == by_orm
    assert by_loop[0]["status"] == PipelineRun.Status.COMPLETED and by_loop[0]["outputs"] == [{"answer": "Hello same"}]
    assert by_loop[2][-1][1] == "PIPELINE_STATUS_UPDATED"


def test_streamed_runs_are_recorded_on_the_loop_as_the_orm_does(alice_token, hello, settings):
    streamed_run(alice_token)  # warm
    by_loop = stored_run(streamed_run(alice_token))
    settings.PIPELINE_LOOP_SQLITE = False
    by_orm = stored_run(streamed_run(alice_token))
    assert by_loop == by_orm
    assert by_loop[0]["status"] == PipelineRun.Status.COMPLETED and by_loop[2][0][1] == "PIPELINE_STATUS_UPDATED"


def enqueue_kept(alice, hello) -> uuid.UUID:
    """An async trigger enqueued on the loop, not yet given to any executor."""
    target = trigger_target(namespace_id="alice", pipeline_id="hello", user=alice)
    rows = [TriggerRow(variable={"prompt": "kept"}, secret={})]
    submitted: list[uuid.UUID] = []
    run = run_enqueue_on_loop(
        target=target, rows=rows, requester=alice, source=PipelineRun.Source.API, submit=submitted.append
    )
    assert run is not None and submitted == [run.uid]
    assert PipelineRun.objects.get(uid=run.uid).status == PipelineRun.Status.QUEUED
    return run.uid


def test_a_kept_run_executes_exactly_once(alice, hello):
    run_uid = enqueue_kept(alice, hello)
    first = async_to_sync(run_execute)(run_uid=run_uid)
    second = async_to_sync(run_execute)(run_uid=run_uid)  # a second submit of the same uid
    assert first is not None and second is None
    run = PipelineRun.objects.get(uid=run_uid)
    assert run.status == PipelineRun.Status.COMPLETED and run.outputs == [{"answer": "Hello kept"}]
    assert ComponentRun.objects.filter(run=run).count() == 1


def test_a_kept_run_cancelled_while_queued_is_not_executed(api, alice, hello):
    run_uid = enqueue_kept(alice, hello)
    assert api.post(f"/v1beta/operations/{run_uid}:cancel").status_code == 200
    assert async_to_sync(run_execute)(run_uid=run_uid) is None
    run = PipelineRun.objects.get(uid=run_uid)
    assert run.status == PipelineRun.Status.CANCELLED and not ComponentRun.objects.filter(run=run).exists()


def test_past_the_kept_bound_runs_are_read_back_from_the_database(alice, hello, monkeypatch):
    monkeypatch.setattr(run_handoff, "KEPT_MAX", 0)
    run_uid = enqueue_kept(alice, hello)
    assert async_to_sync(run_execute)(run_uid=run_uid) is not None
    assert PipelineRun.objects.get(uid=run_uid).outputs == [{"answer": "Hello kept"}]


def test_a_long_write_ahead_log_is_truncated_by_the_checkpoint(monkeypatch):
    """The safety net under the loop's catch-up: a log past ``TRUNCATE_FRAMES`` is
    truncated by the checkpoint even when a reader kept it from starting over (a passive
    checkpoint left it whole: it once grew ~22 KB per trigger for ever)."""
    monkeypatch.setattr(loop_sqlite, "TRUNCATE_FRAMES", 16)
    name = connection.settings_dict["NAME"]
    wal = f"{name}-wal"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE wal_filler (body BLOB)")
    reader = sqlite3.connect(name)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM wal_filler").fetchone()  # a snapshot the log must keep
        with connection.cursor() as cursor:
            for _ in range(64):
                cursor.execute("INSERT INTO wal_filler VALUES (zeroblob(8192))")
        reader.execute("COMMIT")
        grown = os.path.getsize(wal)
        assert grown > 64 * 8192
        loop_sqlite._checkpoint()
        assert os.path.getsize(wal) == 0, f"the log still holds {grown} bytes"
    finally:
        reader.close()
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE wal_filler")
