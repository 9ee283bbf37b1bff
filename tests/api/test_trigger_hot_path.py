"""What the trigger's hot path keeps in memory or does its own way must not change
what a user sees: a changed server setting takes effect on the next trigger, and the
run history the fast path writes reads back as the ORM's own writes would."""

from __future__ import annotations

import sqlite3

import pytest
from django.conf import settings as django_settings
from django.db import connection

from pipelines.models import PipelineRun, RunEvent
from tests.components.test_platform_keys import INSTILL_RECIPE

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
