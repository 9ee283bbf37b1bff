"""Deleting a pipeline while its runs are queued or running (in-process executor)."""

from __future__ import annotations

import time

import pytest

from pipelines.models import PipelineRun, RunEvent
from pipelines.services import pipelines as pipeline_services
from tests.conftest import SLOW_RECIPE

BASE = "/v1beta/namespaces/alice/pipelines"

pytestmark = pytest.mark.django_db(transaction=True)


def _started(uid: str) -> None:
    deadline = time.monotonic() + 5
    while not PipelineRun.objects.filter(uid=uid, status=PipelineRun.Status.PROCESSING).exists():
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.02)


def test_delete_cancels_a_running_run_and_waits_for_its_record(
    api, alice, make_pipeline, slow_server, settings, caplog, monkeypatch
):
    """DELETE right after trigger-async: the running run is cancelled, recorded as
    cancelled with its events, and only then goes with the pipeline; nothing is
    logged as an error (events were lost to a FOREIGN KEY error before)."""
    settings.PIPELINE_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    make_pipeline(alice, "slow", raw_recipe=SLOW_RECIPE)
    body = {"data": [{"variable": {"url": f"{slow_server}/sleep/10"}}]}
    uid = api.post(f"{BASE}/slow/trigger-async", body).json()["operation"]["name"].split("/")[1]
    _started(uid)

    seen: dict = {}
    delete = pipeline_services.Pipeline.delete

    def delete_seeing_the_run(self, *args, **kwargs):
        run = PipelineRun.objects.get(uid=uid)
        seen.update(status=run.status, events=list(RunEvent.objects.filter(run=run).values_list("name", flat=True)))
        return delete(self, *args, **kwargs)

    monkeypatch.setattr(pipeline_services.Pipeline, "delete", delete_seeing_the_run)
    started = time.monotonic()
    assert api.delete(f"{BASE}/slow").status_code == 204
    assert time.monotonic() - started < 5  # cancelled, not waited out

    assert seen["status"] == PipelineRun.Status.CANCELLED
    assert seen["events"][0] == "PIPELINE_STATUS_UPDATED" and len(seen["events"]) >= 2
    time.sleep(0.3)
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")], caplog.text
    assert not PipelineRun.objects.exists() and not RunEvent.objects.exists()
    assert api.get(f"/v1beta/operations/{uid}").status_code == 404


def test_delete_cancels_a_queued_run(api, alice, make_pipeline, slow_server, settings, caplog):
    """A run still queued behind a busy pool is cancelled at once by the delete."""
    settings.PIPELINE_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    make_pipeline(alice, "slow", raw_recipe=SLOW_RECIPE)
    make_pipeline(alice, "other", raw_recipe=SLOW_RECIPE)
    from pipelines.services.operations import executor

    body = {"data": [{"variable": {"url": f"{slow_server}/sleep/2"}}]}
    busy = [
        api.post(f"{BASE}/other/trigger-async", body).json()["operation"]["name"] for _ in range(executor().concurrency)
    ]
    queued = api.post(f"{BASE}/slow/trigger-async", body).json()["operation"]["name"].split("/")[1]
    assert PipelineRun.objects.get(uid=queued).status == PipelineRun.Status.QUEUED
    assert api.delete(f"{BASE}/slow").status_code == 204
    assert not PipelineRun.objects.filter(uid=queued).exists()
    for name in busy:
        api.post(f"/v1beta/{name}:cancel")
    time.sleep(0.3)
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")], caplog.text


def test_a_run_triggered_while_the_delete_waits_is_cancelled_too(
    api, alice, make_pipeline, slow_server, settings, caplog, monkeypatch
):
    """A trigger that lands after the delete cancelled the runs it found (while it waits
    for their records) is cancelled as well: the delete neither waits out its limit for
    it nor deletes it while it runs."""
    settings.PIPELINE_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.PIPELINE_DELETE_WAIT_SECONDS = 8
    make_pipeline(alice, "slow", raw_recipe=SLOW_RECIPE)
    body = {"data": [{"variable": {"url": f"{slow_server}/sleep/20"}}]}
    first = api.post(f"{BASE}/slow/trigger-async", body).json()["operation"]["name"].split("/")[1]
    _started(first)

    from pipelines.services import pipeline_removal

    late: list[str] = []
    cancel = pipeline_removal.run_cancel

    def cancel_then_a_trigger_lands(*, run):
        cancelled = cancel(run=run)
        if not late:
            name = api.post(f"{BASE}/slow/trigger-async", body).json()["operation"]["name"]
            late.append(name.split("/")[1])
            _started(late[0])
        return cancelled

    monkeypatch.setattr(pipeline_removal, "run_cancel", cancel_then_a_trigger_lands)
    seen: dict = {}
    delete = pipeline_services.Pipeline.delete

    def delete_seeing_the_late_run(self, *args, **kwargs):
        seen["status"] = PipelineRun.objects.get(uid=late[0]).status
        return delete(self, *args, **kwargs)

    monkeypatch.setattr(pipeline_services.Pipeline, "delete", delete_seeing_the_late_run)
    started = time.monotonic()
    assert api.delete(f"{BASE}/slow").status_code == 204
    assert time.monotonic() - started < 6, "the delete waited out its limit for the late run"
    assert seen["status"] == PipelineRun.Status.CANCELLED
    time.sleep(0.3)
    # Only this test's runs: the runs an earlier test left cancelled may still log.
    errors = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert not [r for r in errors if first in r.getMessage() or late[0] in r.getMessage()], caplog.text
    assert not PipelineRun.objects.exists()
