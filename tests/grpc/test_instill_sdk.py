"""The official Instill Python SDK (instill-sdk 0.18, from PyPI, unchanged) against a
real ``manage.py serve``: init, trigger, trigger_release, trigger_async + get_operation,
trigger_with_stream, and a NOT_FOUND — the form our Trigger Snippet shows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from benchmarks._server import Server

pytestmark = pytest.mark.e2e

CLIENT = Path(__file__).with_name("sdk_client.py")
SDK_TIMEOUT = 180  # the SDK sets no deadlines: a hang must fail the test, not the suite


def run_sdk(sdk: Path, server: Server, token: str, tmp_path: Path) -> dict:
    """Run tests/grpc/sdk_client.py in the SDK's venv, away from our repository (the SDK
    imports top-level packages named ``pipeline``, ``core``, ``common``) and our HOME."""
    work = tmp_path / "sdk-work"
    home = tmp_path / "sdk-home"
    work.mkdir()
    home.mkdir()
    script = shutil.copy(CLIENT, work / "sdk_client.py")
    result = work / "result.json"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "LANG": "C.UTF-8"}
    try:
        done = subprocess.run(
            [str(sdk), "-I", script, token, server.grpc_target, "admin", str(result)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=SDK_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the SDK client did not finish within {SDK_TIMEOUT} s:\n{exc.stdout}\n{exc.stderr}")
    assert done.returncode == 0 and result.exists(), (
        f"the SDK client exited with {done.returncode}:\n{done.stdout[-5000:]}\n{done.stderr[-5000:]}\n"
        f"server log:\n{server.output()[-5000:]}"
    )
    return json.loads(result.read_text())


def test_instill_sdk_against_serve(instill_sdk_python, serve_process, tmp_path):
    server = serve_process
    token = server.create_token("sdk")
    release = httpx.post(
        f"{server.base_url}/v1beta/namespaces/admin/pipelines/hello/releases",
        json={"id": "v1.0.0"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert release.status_code == 201, release.text

    got = run_sdk(instill_sdk_python, server, token, tmp_path)

    assert got["trigger"]["outputs"] == [{"answer": "Hello hello world"}]
    assert got["trigger"]["metadata"]["traces"]["greet"]["statuses"] == ["STATUS_COMPLETED"]
    assert got["trigger_release"]["outputs"] == [{"answer": "Hello release"}]
    assert got["trigger_async"]["operation"]["name"].startswith("operations/")
    operation = got["get_operation"]
    assert operation["done"] is True
    assert (
        operation["response"]["@type"]
        == "type.googleapis.com/pipeline.pipeline.v1beta.TriggerNamespacePipelineResponse"
    )
    assert operation["response"]["outputs"] == [{"answer": "Hello later"}]
    updates = got["trigger_with_stream"]
    assert len(updates) >= 2 and all(update["outputs"] for update in updates)
    assert updates[-1]["outputs"] == [{"answer": "Hello stream"}] and "greet" in updates[-1]["metadata"]["traces"]
    assert got["silent_not_found"] is None
    # list_component_definitions: the REST catalog's answer over gRPC, spec included.
    listed = got["component_definitions"]
    assert listed["totalSize"] == 1 and listed["pageSize"] == 100
    (definition,) = listed["componentDefinitions"]
    assert definition["id"] == "json" and definition["type"] == "COMPONENT_TYPE_OPERATOR"
    assert "TASK_JQ" in definition["spec"]["dataSpecifications"]
    assert got["not_found"] == ["NOT_FOUND", 'pipeline "no-such-pipeline" not found in namespace "admin"']
    # Integrations and connections: the SDK's calls, secrets masked, the mask keeps the key.
    assert [i["id"] for i in got["list_integrations"]["integrations"]] == ["openai"]
    assert got["get_integration"]["integration"]["title"] == "OpenAI"
    created = got["create_connection"]["connection"]
    assert created["id"] == "sdk-ai" and created["setup"]["api-key"] == "*****MASK*****"
    assert got["get_connection"]["connection"]["setup"] == {
        "api-key": "*****MASK*****",
        "base-url": "http://localhost:8/v1",
    }
    assert [c["id"] for c in got["list_connections"]["connections"]] == ["sdk-ai"]
    assert got["after_delete"].get("connections", []) == []
    assert "sk-sdk-key" not in json.dumps(got)
    # The management client: the users GET /v1beta/user and /v1beta/users/{id} answer.
    me = got["get_authenticated_user"]["user"]
    assert (me["name"], me["id"], me["profile"]["displayName"]) == ("users/admin", "admin", "admin")
    assert me["onboardingStatus"] == "ONBOARDING_STATUS_COMPLETED"
    user = got["get_user"]["user"]
    assert (user["name"], user["id"]) == ("users/admin", "admin") and user["uid"] == me["uid"]

    runs = httpx.get(
        f"{server.base_url}/v1beta/namespaces/admin/pipelines/hello/runs",
        params={"pageSize": 100},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()["pipelineRuns"]
    assert len(runs) == 4 and {run["source"] for run in runs} == {"RUN_SOURCE_API"}
    assert sorted(run["pipelineVersion"] for run in runs) == ["latest", "latest", "latest", "v1.0.0"]
