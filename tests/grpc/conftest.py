"""gRPC fixtures: a real ``grpc.aio`` server on a free loopback port, and clients with
stubs generated from our protos."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from pipelines.grpc.gen.core.mgmt.v1beta import mgmt_public_service_pb2_grpc
from pipelines.grpc.gen.pipeline.pipeline.v1beta import pipeline_public_service_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # benchmarks/_server.py is shared with the e2e tests and `make bench`
    sys.path.insert(0, str(ROOT))

from benchmarks._server import Server  # noqa: E402

MB = 1024 * 1024


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: drives a real `manage.py serve` subprocess")


class ServerThread:
    """The gRPC server on its own event loop in a daemon thread, as a standalone
    ``grpcserver`` runs it; the database work goes to the same threads as in a server."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="grpc-test-server", daemon=True)
        self.server: grpc.aio.Server | None = None
        self.port = 0

    def start(self) -> str:
        from pipelines.grpc.server import start_server

        self.thread.start()
        self.server, self.port = asyncio.run_coroutine_threadsafe(
            start_server(host="127.0.0.1", port=0), self.loop
        ).result(10)
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(self.server.stop(1), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="session")
def grpc_target() -> Iterator[str]:
    server = ServerThread()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def channel(grpc_target: str) -> Iterator[grpc.Channel]:
    # Above the server's 64 MB limit, so that the server is the one that refuses.
    options = [("grpc.max_send_message_length", 100 * MB), ("grpc.max_receive_message_length", 100 * MB)]
    with grpc.insecure_channel(grpc_target, options=options) as chan:
        yield chan


@pytest.fixture
def pipeline_stub(channel) -> pipeline_public_service_pb2_grpc.PipelinePublicServiceStub:
    return pipeline_public_service_pb2_grpc.PipelinePublicServiceStub(channel)


@pytest.fixture
def mgmt_stub(channel) -> mgmt_public_service_pb2_grpc.MgmtPublicServiceStub:
    return mgmt_public_service_pb2_grpc.MgmtPublicServiceStub(channel)


@pytest.fixture
def alice_md(alice_token) -> list[tuple[str, str]]:
    """Call metadata with Alice's token, as the Instill SDK sends it."""
    return [("authorization", f"Bearer {alice_token}")]


@pytest.fixture(scope="session")
def serve_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real ``manage.py serve`` (HTTP and gRPC on one event loop) on free ports."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # one per xdist worker: a log each
    log = Path(os.environ.get("PIPELINE_TEST_OUTPUT", ROOT / "test-output")) / (
        f"grpc-serve-{worker}.log" if worker else "grpc-serve.log"
    )
    with Server(
        data_dir=tmp_path_factory.mktemp("grpc-serve-data"), admin_password="grpc-admin", log_path=log
    ) as server:
        yield server
