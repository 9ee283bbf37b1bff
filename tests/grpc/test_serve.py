"""gRPC inside ``manage.py serve``: on the ASGI server's event loop beside HTTP, sharing its run
recorder and in-process executor."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import grpc
import httpx
import pytest

from benchmarks._server import free_port
from pipelines.grpc.gen.pipeline.pipeline.v1beta import pipeline_pb2 as pb
from pipelines.grpc.gen.pipeline.pipeline.v1beta import pipeline_public_service_pb2_grpc
from tests.conftest import HELLO_RECIPE
from tests.grpc.conftest import ROOT
from tests.grpc.test_grpc_api import rows, wait_done

pytestmark = pytest.mark.e2e


def test_grpc_and_http_triggers_at_once_are_all_answered_and_recorded(serve_process):
    server = serve_process
    token = server.create_token("both-apis")
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{server.base_url}/v1beta/namespaces/admin/pipelines"
    created = httpx.post(base, json={"id": "both-apis", "rawRecipe": HELLO_RECIPE}, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    metadata = [("authorization", f"Bearer {token}")]

    with grpc.insecure_channel(server.grpc_target) as channel, httpx.Client(headers=headers, timeout=30) as http:
        stub = pipeline_public_service_pb2_grpc.PipelinePublicServiceStub(channel)

        def over_grpc(i: int) -> str:
            request = pb.TriggerNamespacePipelineRequest(
                namespace_id="admin", pipeline_id="both-apis", data=rows({"prompt": f"g{i}"})
            )
            return stub.TriggerNamespacePipeline(request, metadata=metadata, timeout=30).outputs[0]["answer"]

        def over_http(i: int) -> str:
            response = http.post(f"{base}/both-apis/trigger", json={"data": [{"variable": {"prompt": f"h{i}"}}]})
            return response.json()["outputs"][0]["answer"]

        with ThreadPoolExecutor(8) as pool:
            grpc_calls = [pool.submit(over_grpc, i) for i in range(20)]
            http_calls = [pool.submit(over_http, i) for i in range(20)]
            grpc_answers = [call.result() for call in grpc_calls]
            http_answers = [call.result() for call in http_calls]
            # And an async trigger, run by serve's in-process executor.
            request = pb.TriggerAsyncNamespacePipelineRequest(
                namespace_id="admin", pipeline_id="both-apis", data=rows({"prompt": "async"})
            )
            operation = stub.TriggerAsyncNamespacePipeline(request, metadata=metadata, timeout=30).operation
        assert grpc_answers == [f"Hello g{i}" for i in range(20)]
        assert http_answers == [f"Hello h{i}" for i in range(20)]
        done = wait_done(stub, metadata, operation.name)
        response = pb.TriggerNamespacePipelineResponse()
        assert done.response.Unpack(response) and response.outputs[0]["answer"] == "Hello async"

    runs = httpx.get(f"{base}/both-apis/runs", params={"pageSize": 100}, headers=headers, timeout=10).json()
    assert runs["totalSize"] == 41
    assert {run["status"] for run in runs["pipelineRuns"]} == {"RUN_STATUS_COMPLETED"}


def test_grpcserver_alone_serves_the_same_database(serve_process, tmp_path):
    """``manage.py grpcserver`` for scale-out: gRPC only, beside a serve on one database."""
    token = serve_process.create_token("grpcserver")
    port = free_port()
    env = {**os.environ, "PIPELINE_DATA_DIR": str(serve_process.data_dir), "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "grpcserver.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "grpcserver", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=60)
            stub = pipeline_public_service_pb2_grpc.PipelinePublicServiceStub(channel)
            request = pb.TriggerNamespacePipelineRequest(
                namespace_id="admin", pipeline_id="hello", data=rows({"prompt": "alone"})
            )
            answer = stub.TriggerNamespacePipeline(request, metadata=[("authorization", f"Bearer {token}")], timeout=30)
            assert answer.outputs[0]["answer"] == "Hello alone"
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
    assert code == 0, log.read_text()
    assert "gRPC API (Instill SDK) on 127.0.0.1:" in log.read_text()
