"""``manage.py scrub_run_secrets``: runs recorded before masking lose their plaintext secrets."""

from __future__ import annotations

import json
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from pipelines.models import ComponentRun, PipelineRun, RunEvent
from pipelines.services.secrets import secret_create

KEY = "sk-old-run-0123456789"


def _old_run(pipeline) -> PipelineRun:
    """A run as the code before masking stored it: the key in plain text everywhere."""
    run = PipelineRun.objects.create(
        pipeline=pipeline,
        status=PipelineRun.Status.FAILED,
        outputs=[{"echoed": {"auth": f"Bearer {KEY}"}}],
        traces={"call": {"inputs": [{"header": {"Authorization": [f"Bearer {KEY}"]}}], "error": {"message": ""}}},
        error=f"component(ID: call) run failed: request to 'ftp://h/?k={KEY}' refused",
        complete_time=timezone.now(),
    )
    ComponentRun.objects.create(
        run=run,
        component_id="call",
        status=ComponentRun.Status.FAILED,
        inputs=[{"endpoint-url": f"ftp://h/?k={KEY}"}],
        outputs=[],
        error=f"request to 'ftp://h/?k={KEY}' refused",
    )
    RunEvent.objects.create(
        run=run,
        seq=1,
        name="COMPONENT_INPUT_UPDATED",
        time=timezone.now(),
        payload=json.dumps({"componentID": "call", "input": {"body": json.dumps({"token": KEY})}}),
    )
    return run


def test_scrub_masks_current_secret_values_in_stored_runs(api, alice, make_pipeline):
    """After the command, the run's outputs, traces, error, component runs and events show
    ``***`` where the key was, through the API too; a dry run only counts."""
    secret_create(namespace=alice.namespace, secret_id="api-key", value=KEY)
    run = _old_run(make_pipeline(alice))
    out = StringIO()
    call_command("scrub_run_secrets", "--dry-run", stdout=out)
    assert "Would mask secret values in 1 run(s), 1 component run(s) and 1 event(s)." in out.getvalue()
    assert KEY in str(PipelineRun.objects.get(pk=run.pk).outputs)

    call_command("scrub_run_secrets", stdout=StringIO())
    stored = PipelineRun.objects.get(pk=run.pk)
    assert stored.outputs == [{"echoed": {"auth": "Bearer ***"}}]
    assert stored.traces["call"]["inputs"] == [{"header": {"Authorization": ["Bearer ***"]}}]
    assert stored.error == "component(ID: call) run failed: request to 'ftp://h/?k=***' refused"
    component = ComponentRun.objects.get(run=run)
    assert component.inputs == [{"endpoint-url": "ftp://h/?k=***"}] and KEY not in component.error
    event = RunEvent.objects.get(run=run)
    assert json.loads(json.loads(event.payload)["input"]["body"]) == {"token": "***"}
    for path in (f"/v1beta/pipeline-runs/{run.uid}/component-runs", "/v1beta/namespaces/alice/pipelines/hello/runs"):
        assert KEY not in api.get(path).content.decode()
    again = StringIO()
    call_command("scrub_run_secrets", stdout=again)
    assert "in 0 run(s), 0 component run(s) and 0 event(s)" in again.getvalue()
