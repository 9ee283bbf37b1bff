"""Run lists stay small: large inputs and outputs are cut with a marker naming the URL
of the whole value; one run's own answer stays complete."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

PIPE = "/v1beta/namespaces/alice/pipelines/hello"
BIG = "x" * 300_000
DATA_URI = "data:text/plain;base64," + "QUJD" * 100_000
MARKER = re.compile(r"…\[truncated: (\d+) characters; full value: (\S+)\]$")


def _trigger(api, prompt: str) -> None:
    assert api.post(f"{PIPE}/trigger", {"data": [{"variable": {"prompt": prompt}}]}).status_code == 200


def test_runs_list_cuts_large_values_and_points_at_the_run(api, hello):
    for _ in range(3):
        _trigger(api, BIG)
    _trigger(api, "small")
    listed = api.get(f"{PIPE}/runs")
    assert listed.status_code == 200
    assert len(listed.content) < 20_000  # was 4 x 600 KB (input and output)
    runs = listed.json()["pipelineRuns"]
    assert runs[0]["inputs"] == [{"prompt": "small"}] and runs[0]["outputs"] == [{"answer": "Hello small"}]
    big = runs[1]
    cut = big["inputs"][0]["prompt"]
    assert cut.startswith("xxxx")
    length, url = MARKER.search(cut).groups()
    assert int(length) == len(BIG)
    assert url == f"{PIPE}/runs/{big['pipelineRunUid']}"
    whole = api.get(url)
    assert whole.status_code == 200
    assert whole.json()["pipelineRun"]["inputs"] == [{"prompt": BIG}]
    assert whole.json()["pipelineRun"]["outputs"] == [{"answer": "Hello " + BIG}]
    full = api.get(f"{PIPE}/runs", {"view": "VIEW_FULL"}).json()["pipelineRuns"]
    assert full[1]["inputs"] == [{"prompt": BIG}]


def test_a_data_uri_keeps_only_its_header(api, hello):
    _trigger(api, DATA_URI)
    cut = api.get(f"{PIPE}/runs").json()["pipelineRuns"][0]["inputs"][0]["prompt"]
    assert cut.startswith("data:text/plain;base64,…[truncated: ")


def test_component_runs_list_cuts_large_values(api, hello):
    _trigger(api, BIG)
    run_uid = api.get(f"{PIPE}/runs").json()["pipelineRuns"][0]["pipelineRunUid"]
    listed = api.get(f"/v1beta/pipeline-runs/{run_uid}/component-runs")
    assert len(listed.content) < 10_000
    component = listed.json()["componentRuns"][0]
    length, url = MARKER.search(component["inputs"][0]["json-value"]).groups()
    assert int(length) == len(BIG)
    whole = api.get(url).json()["componentRuns"][0]
    assert whole["inputs"][0]["json-value"] == BIG


def test_one_run_is_another_users_not_found(api, bob_api, hello):
    _trigger(api, "mine")
    run_uid = api.get(f"{PIPE}/runs").json()["pipelineRuns"][0]["pipelineRunUid"]
    assert bob_api.get(f"{PIPE}/runs/{run_uid}").status_code == 404
    assert api.get(f"/v1beta/namespaces/alice/pipelines/other/runs/{run_uid}").status_code == 404
