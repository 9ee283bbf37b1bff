"""What the trigger's hot path keeps in memory or does its own way must not change
what a user sees: a changed server setting takes effect on the next trigger, each
trigger path runs its own pipeline however often it was resolved before, and the run
history the fast path writes reads back as the ORM's own writes would."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid

import pytest
from django.conf import settings as django_settings
from django.db import connection

from pipelines.asgi import PipelineASGIHandler
from pipelines.models import PipelineRun, RunEvent
from tests.api.test_trigger_lane import call, served
from tests.components.test_platform_keys import INSTILL_RECIPE
from tests.conftest import HELLO_RECIPE

pytestmark = pytest.mark.django_db(transaction=True)

NS = "/v1beta/namespaces/alice/pipelines"
KEY = "sk-server-key-0123456789"


def test_a_platform_key_set_between_triggers_serves_the_next_one(api, alice, fake_openai, settings):
    settings.PIPELINE_OPENAI_API_KEY = ""
    settings.PIPELINE_OPENAI_BASE_URL = fake_openai.base_url
    fake_openai.require_key(KEY)
    assert api.post(NS, {"id": "instill", "rawRecipe": INSTILL_RECIPE}).status_code == 201
    row = {"data": [{"variable": {"prompt": "hello there"}}]}
    failed = api.post(f"{NS}/instill/trigger", row)
    assert "PIPELINE_OPENAI_API_KEY" in failed.content.decode()
    settings.PIPELINE_OPENAI_API_KEY = KEY  # the server's settings change (override_settings)
    answered = api.post(f"{NS}/instill/trigger", row)
    assert answered.status_code == 200, answered.content
    assert answered.json()["outputs"] == [{"answer": "You said: hello there"}]


def test_event_times_written_on_the_loop_are_the_orms(api, hello):
    url = "/v1beta/namespaces/alice/pipelines/hello/trigger"
    for prompt in ("warm", "loop"):  # the second from the caches, written on the loop
        assert api.post(url, {"data": [{"variable": {"prompt": prompt}}]}).status_code == 200
    run = PipelineRun.objects.filter(pipeline=hello).order_by("-create_time").first()
    assert run.inputs == [{"prompt": "loop"}]
    events = list(RunEvent.objects.filter(run=run).order_by("seq"))
    assert len(events) == 8
    raw = sqlite3.connect(django_settings.DATABASES["default"]["NAME"])
    try:
        stored = [
            row[0]
            for row in raw.execute("SELECT time FROM pipelines_runevent WHERE run_id = ? ORDER BY seq", (run.pk,))
        ]
    finally:
        raw.close()
    assert stored == [connection.ops.adapt_datetimefield_value(event.time) for event in events]


def test_the_lane_runs_each_path_s_own_pipeline_every_time(settings, alice, alice_token, make_pipeline):
    settings.PIPELINE_TRIGGER_LANE = True
    make_pipeline(alice, "hello")
    make_pipeline(alice, "hi", raw_recipe=HELLO_RECIPE.replace('"Hello \\(', '"Hi \\('))
    handler = PipelineASGIHandler()
    headers = {"authorization": f"Bearer {alice_token}", "content-type": "application/json"}
    body = b'{"data": [{"variable": {"prompt": "you"}}]}'
    before = served()
    answers = [
        json.loads(call(handler, "POST", f"/v1beta/namespaces/alice/pipelines/{pipeline}/trigger", body, headers)[2])
        for pipeline in ("hello", "hi", "hello", "hi", "nope")
    ]
    assert served() == before + 5  # all through the lane, its resolved paths remembered
    assert [a.get("outputs") for a in answers[:4]] == [[{"answer": "Hello you"}], [{"answer": "Hi you"}]] * 2
    assert answers[4]["code"] == 5  # NOT_FOUND, as before it


def test_run_uids_follow_the_order_runs_start_in(api, hello):
    url = "/v1beta/namespaces/alice/pipelines/hello"
    for prompt in ("one", "two"):
        assert api.post(f"{url}/trigger", {"data": [{"variable": {"prompt": prompt}}]}).status_code == 200
        time.sleep(0.002)  # uids order by the millisecond a run starts
    queued = api.post(f"{url}/trigger-async", {"data": [{"variable": {"prompt": "three"}}]})
    assert queued.status_code == 200, queued.content
    runs = api.get(f"{url}/runs").json()["pipelineRuns"]  # newest first
    uids = [uuid.UUID(run["pipelineRunUid"]) for run in reversed(runs)]
    assert len(uids) == 3 and uids == sorted(uids)
    assert {uid.version for uid in uids} == {7}  # RFC 9562: time-ordered, 74 random bits
