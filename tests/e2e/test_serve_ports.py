"""``manage.py serve`` never shares a port: a second server on a taken HTTP or gRPC port
fails at start with a message naming the port, and the first keeps answering."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from benchmarks._server import ROOT, Server, free_port
from pipelines.grpc.gen.pipeline.pipeline.v1beta import pipeline_pb2 as pb
from pipelines.grpc.gen.pipeline.pipeline.v1beta import pipeline_public_service_pb2_grpc
from tests.grpc.test_grpc_api import rows

pytestmark = pytest.mark.e2e


def second_serve(data_dir: Path, *, port: int, grpc_port: int) -> tuple[int | None, str]:
    """Run another ``serve`` (its own data dir) on the given ports; returns its exit code
    (None when it was still serving after 60 s, then stopped) and its output."""
    data_dir.mkdir()
    env = {
        **os.environ,
        "PIPELINE_DATA_DIR": str(data_dir),
        "PIPELINE_ADMIN_PASSWORD": "second-serve",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        str(ROOT / "manage.py"),
        "serve",
        "--no-demo",
        "--run-workers",
        "0",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--grpc-port",
        str(grpc_port),
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = process.communicate(timeout=60)
        return process.returncode, output
    except subprocess.TimeoutExpired:
        process.terminate()
        output, _ = process.communicate(timeout=15)
        return None, output


def test_a_second_serve_on_a_taken_grpc_port_fails_at_start(e2e_server: Server, api_token: str, tmp_path: Path) -> None:
    """gRPC's default SO_REUSEPORT would let both servers bind and split the SDK's calls
    between them; instead the second exits with an error naming the port."""
    code, output = second_serve(tmp_path / "data", port=free_port(), grpc_port=e2e_server.grpc_port)

    assert code not in (None, 0), output
    assert f"port {e2e_server.grpc_port}" in output and "--grpc-port" in output, output
    assert "is serving on" not in output and "Traceback" not in output, output
    # Every call still reaches the first server, which knows the token (the kernel split
    # connections, not calls: a new channel each time).
    request = pb.TriggerNamespacePipelineRequest(
        namespace_id="admin", pipeline_id="hello", data=rows({"prompt": "first"})
    )
    for _ in range(6):
        with grpc.insecure_channel(e2e_server.grpc_target) as channel:
            stub = pipeline_public_service_pb2_grpc.PipelinePublicServiceStub(channel)
            answer = stub.TriggerNamespacePipeline(
                request, metadata=[("authorization", f"Bearer {api_token}")], timeout=30
            )
            assert answer.outputs[0]["answer"] == "Hello first"


def test_a_second_serve_on_a_taken_http_port_fails_at_start(e2e_server: Server, tmp_path: Path) -> None:
    """daphne alone logs the failed listen and exits 0 after announcing the server
    (uvicorn exits 3); the second serve exits with an error naming the port before it migrates or announces itself."""
    code, output = second_serve(tmp_path / "data", port=e2e_server.port, grpc_port=free_port())

    assert code not in (None, 0), output
    assert f"port {e2e_server.port}" in output and "--port" in output, output
    assert "is serving on" not in output and "Traceback" not in output, output
