"""Files in the run history: small ones inline, large ones on disk with a download URL."""

from __future__ import annotations

import base64
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from pipelines.models import ComponentRun, PipelineRun

RECIPE = """\
variable:
  doc: {type: file}
component:
  size:
    type: json
    task: TASK_JQ
    input: {json-value: "${variable.doc:file-size}", jq-filter: "."}
output:
  doc: {value: "${variable.doc}"}
  size: {value: "${size.output.results[0]}"}
"""
URL = "/v1beta/namespaces/alice/pipelines/files/trigger"


@pytest.fixture
def files(alice, make_pipeline):
    return make_pipeline(alice, "files", raw_recipe=RECIPE)


def data_uri(payload: bytes, mime: str = "application/octet-stream") -> str:
    return f"data:{mime};base64," + base64.b64encode(payload).decode()


def test_small_file_inline_large_file_on_disk(api, files, settings):
    settings.PIPELINE_RUN_FILE_INLINE_BYTES = 1024
    small, large = os.urandom(100), os.urandom(5000)
    body = {"data": [{"variable": {"doc": data_uri(small)}}, {"variable": {"doc": data_uri(large)}}]}
    response = api.post(URL, body).json()
    # the trigger's own answer carries the files themselves
    assert [o["size"] for o in response["outputs"]] == [100, 5000]
    assert response["outputs"][1]["doc"].endswith(base64.b64encode(large).decode())
    run = PipelineRun.objects.get()
    stored = Path(settings.PIPELINE_DATA_DIR) / "run-files" / str(run.uid)
    on_disk = list(stored.iterdir())
    assert len(on_disk) == 1 and on_disk[0].read_bytes() == large  # once, though it is input and output
    assert run.inputs[0]["doc"].startswith("data:") and "@file" in run.inputs[1]["doc"]
    assert len(str(run.outputs)) < 2000  # the large file is not in the row's JSON
    listed = api.get("/v1beta/namespaces/alice/pipelines/files/runs").json()["pipelineRuns"][0]
    url = listed["outputs"][1]["doc"]
    assert url.startswith(f"/v1beta/pipeline-runs/{run.uid}/files/")
    download = api.get(url)
    assert download.status_code == 200 and b"".join(download.streaming_content) == large
    assert listed["inputs"][0]["doc"] == data_uri(small)


def test_download_access_rules(api, bob_api, files, settings):
    settings.PIPELINE_RUN_FILE_INLINE_BYTES = 10
    api.post(URL, {"data": [{"variable": {"doc": data_uri(b"secret bytes here")}}]})
    run = PipelineRun.objects.get()
    url = api.get("/v1beta/namespaces/alice/pipelines/files/runs").json()["pipelineRuns"][0]["outputs"][0]["doc"]
    assert bob_api.get(url).status_code == 404
    assert api.get(f"/v1beta/pipeline-runs/{run.uid}/files/..%2Fsecret_key").status_code == 404
    assert api.get(f"/v1beta/pipeline-runs/{run.uid}/files/nope").status_code == 404


def test_component_runs_reference_stored_files(api, files, settings):
    settings.PIPELINE_RUN_FILE_INLINE_BYTES = 10
    api.post(URL, {"data": [{"variable": {"doc": data_uri(b"0123456789abcdef")}}]})
    assert ComponentRun.objects.get().inputs == [{"json-value": 16, "jq-filter": "."}]


@pytest.mark.django_db(transaction=True)
def test_async_operation_returns_the_file_itself(api, files, settings):
    from tests.api.test_async import poll

    settings.PIPELINE_RUN_FILE_INLINE_BYTES = 10
    payload = os.urandom(3000)
    operation = api.post(URL + "-async", {"data": [{"variable": {"doc": data_uri(payload)}}]}).json()["operation"]
    done = poll(api, operation["name"])
    assert done["response"]["outputs"][0]["doc"].endswith(base64.b64encode(payload).decode())
    assert done["response"]["outputs"][0]["size"] == 3000


def test_cleanup_removes_expired_run_files(api, files, settings):
    settings.PIPELINE_RUN_FILE_INLINE_BYTES = 10
    for _ in range(2):
        api.post(URL, {"data": [{"variable": {"doc": data_uri(os.urandom(50))}}]})
    old, new = PipelineRun.objects.order_by("create_time")
    PipelineRun.objects.filter(pk=old.pk).update(create_time=timezone.now() - timedelta(days=8))
    call_command("cleanup_run_files")
    root = Path(settings.PIPELINE_DATA_DIR) / "run-files"
    assert sorted(p.name for p in root.iterdir()) == [str(new.uid)]
    url = api.get("/v1beta/namespaces/alice/pipelines/files/runs").json()["pipelineRuns"][1]["outputs"][0]["doc"]
    gone = api.get(url)
    assert gone.status_code == 404 and "7 days" in gone.json()["message"]
