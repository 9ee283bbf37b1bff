"""The trigger, async, release and cancel behaviours, re-collected against
PostgreSQL + Celery workers + Redis (tests/scale/run.py). The test functions are the
ones from tests/api; only what depends on the in-process executor is adapted here."""

from __future__ import annotations

import pytest

from pipelines.models import PipelineRun
from tests.api.test_async import (  # noqa: F401 - re-collected here
    BASE,
    poll,
    test_a_runaway_jq_run_can_be_cancelled,
    test_a_runaway_jq_run_is_stopped_at_its_time_limit,
    test_async_trigger_then_poll,
    test_async_validates_like_sync,
    test_cancel_running_run,
    test_component_failure_operation_has_response,
    test_idempotency_key,
    test_operation_access,
    test_recovery_fails_runs_of_dead_processes,
    test_release_async_records_version,
    test_run_time_limit,
)
from tests.api.test_releases import (  # noqa: F401
    test_only_owner_creates_or_deletes_releases,
    test_release_freezes_recipe_and_triggers_it,
    test_release_list_get_patch_delete,
)
from tests.api.test_run_events import (  # noqa: F401 - events from a Celery worker, over Redis
    test_async_run_stores_its_events,
    test_websocket_follows_a_running_async_run_live,
)
from tests.api.test_trigger import (  # noqa: F401
    test_component_failure_is_200_with_error_trace_and_failed_run,
    test_every_trigger_is_recorded,
    test_hello_trigger_exact_shape,
    test_secrets_resolve_from_owner_namespace_and_row_override,
)
from tests.conftest import SLOW_RECIPE
from tests.scale.conftest import WORKER_CONCURRENCY

# Workers run in other processes: they only see committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


def test_cancel_queued_run_and_slash_form(api, alice, make_pipeline, slow_server):
    """With every worker slot busy, a queued run is cancelled before it starts.

    Adapted: the Celery executor has no ``concurrency``; the workers' slots are
    WORKER_CONCURRENCY (prefetch 1, late acks, so no extra run is reserved).
    """
    make_pipeline(alice, "slow", raw_recipe=SLOW_RECIPE)
    body = {"data": [{"variable": {"url": f"{slow_server}/sleep/3"}}]}
    names = [
        api.post(f"{BASE}/slow/trigger-async", body).json()["operation"]["name"] for _ in range(WORKER_CONCURRENCY + 1)
    ]
    last = names[-1].split("/")[1]
    assert PipelineRun.objects.get(uid=last).status == PipelineRun.Status.QUEUED
    response = api.post(f"/v1beta/operations/{last}/cancel")
    assert response.status_code == 200 and response.json()["operation"]["error"]["code"] == 1
    for name in names[:-1]:
        api.post(f"/v1beta/{name}:cancel")
        poll(api, name)
    assert PipelineRun.objects.get(uid=last).status == PipelineRun.Status.CANCELLED


def test_many_async_runs_spread_over_worker_processes(api, hello):
    """Runs are executed by the Celery worker processes, not the test process."""
    import os

    names = [
        api.post(f"{BASE}/hello/trigger-async", {"data": [{"variable": {"prompt": str(i)}}]}).json()["operation"][
            "name"
        ]
        for i in range(20)
    ]
    for i, name in enumerate(names):
        assert poll(api, name, timeout=30)["response"]["outputs"] == [{"answer": f"Hello {i}"}]
    workers = set(PipelineRun.objects.values_list("worker", flat=True))
    assert workers and all(not w.endswith(f":{os.getpid()}") for w in workers), workers
