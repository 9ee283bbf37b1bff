"""Run workers: sync triggers executed by processes beside ``serve`` (pipelines/run_worker.py).

A lone trigger runs in serve; concurrent ones go to a worker, which serve starts the
first time it is busy. Either way the answer and the run history are the same; a
worker that dies fails only its own triggers (503, in the error shape) and is replaced.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from benchmarks._server import Server
from tests.conftest import SLOW_RECIPE
from tests.e2e.conftest import start_server

pytestmark = pytest.mark.e2e


def _start(tmp_path, name: str, **env) -> Server:
    return start_server(tmp_path / "data", name, **env)


def _workers(server: Server) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(server.process.pid), "-f", "run_worker"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def _run_workers_by_prompt(server: Server) -> dict[str, str]:
    """prompt → the ``host:pid`` that ran it, from the run history itself."""
    with sqlite3.connect(server.data_dir / "pipeline.sqlite3") as db:
        rows = db.execute("SELECT inputs, worker FROM pipelines_pipelinerun").fetchall()
    return {json.loads(inputs)[0].get("prompt", ""): worker for inputs, worker in rows}


def _wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


async def _hellos(client: httpx.AsyncClient, base: str, prompts: list[str]) -> list[httpx.Response]:
    return await asyncio.gather(
        *[client.post(f"{base}/hello/trigger", json={"data": [{"variable": {"prompt": p}}]}) for p in prompts]
    )


def _start_worker(server: Server, headers: dict[str, str]) -> int:
    """Make serve busy once (a burst of triggers), which starts its worker; its pid once ready."""
    base = f"{server.base_url}/v1beta/namespaces/admin/pipelines"

    async def burst():
        async with httpx.AsyncClient(headers=headers, timeout=30) as client:
            return await _hellos(client, base, [f"warm{i}" for i in range(16)])

    assert all(r.status_code == 200 for r in asyncio.run(burst()))
    [worker] = _wait_for(lambda: _workers(server))
    # The worker says it is ready once Django is set up; until then serve runs everything.
    _wait_for(lambda: "run worker 0 ready" in server.output())
    return worker


def test_concurrent_triggers_run_in_a_worker_and_are_recorded(tmp_path):
    server = _start(tmp_path, "e2e-run-workers")
    try:
        token = server.create_token("w")
        base = f"{server.base_url}/v1beta/namespaces/admin/pipelines"
        headers = {"Authorization": f"Bearer {token}"}
        # One trigger at a time never starts a worker: serve runs them itself.
        for prompt in ("one", "two"):
            answer = httpx.post(
                f"{base}/hello/trigger", json={"data": [{"variable": {"prompt": prompt}}]}, headers=headers
            )
            assert answer.json()["outputs"] == [{"answer": f"Hello {prompt}"}]
        time.sleep(0.5)
        assert _workers(server) == []
        worker = _start_worker(server, headers)

        async def scenario():
            async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
                lone = await client.post(f"{base}/hello/trigger", json={"data": [{"variable": {"prompt": "lone"}}]})
                many = await _hellos(client, base, [f"p{i}" for i in range(40)])
                # Bad input found in the worker comes back as serve would have answered it.
                bad = await asyncio.gather(
                    *[client.post(f"{base}/hello/trigger", json={"data": [{"variable": {}}]}) for _ in range(8)]
                )
                return lone, many, bad

        lone, many, bad = asyncio.run(scenario())
        assert lone.json()["outputs"] == [{"answer": "Hello lone"}]
        assert [r.json()["outputs"][0]["answer"] for r in many] == [f"Hello p{i}" for i in range(40)]
        for response in bad:
            assert (
                response.status_code == 400 and response.json()["code"] == 3 and "prompt" in response.json()["message"]
            )

        ran_by = _run_workers_by_prompt(server)
        assert all(f"p{i}" in ran_by for i in range(40)), "every trigger is recorded"
        pids = {int(where.rsplit(":", 1)[1]) for where in ran_by.values()}
        assert worker in pids, "concurrent triggers were executed by the worker"
        assert pids <= {worker, server.process.pid}
    finally:
        server.stop()
    _wait_for(lambda: not _alive(worker), timeout=15)  # the worker exits with serve


def _connected_to(pid: int, port: int) -> bool:
    """Whether process ``pid`` has a TCP connection open to ``port`` on this machine."""
    try:
        inodes = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    except (FileNotFoundError, ProcessLookupError):
        return False
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[2].split(":")[1], 16) == port and f"socket:[{fields[9]}]" in inodes:
            return True
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_dead_worker_fails_its_own_triggers_and_is_replaced(tmp_path, slow_server):
    server = _start(tmp_path, "e2e-run-worker-crash")
    try:
        token = server.create_token("w")
        headers = {"Authorization": f"Bearer {token}"}
        worker = _start_worker(server, headers)
        base = f"{server.base_url}/v1beta/namespaces/admin/pipelines"
        assert (
            httpx.post(base, json={"id": "slow", "rawRecipe": SLOW_RECIPE}, headers=headers, timeout=10).status_code
            == 201
        )

        async def scenario():
            async with httpx.AsyncClient(headers=headers, timeout=30) as client:
                slow = {"data": [{"variable": {"url": f"{slow_server}/sleep/3"}}]}
                # The first runs in serve; the second, concurrent, in the worker.
                in_serve = asyncio.create_task(client.post(f"{base}/slow/trigger", json=slow))
                await asyncio.sleep(0.3)
                in_worker = asyncio.create_task(client.post(f"{base}/slow/trigger", json=slow))
                # Killed while it runs that trigger: once it has called the slow server.
                slow_port = int(slow_server.rsplit(":", 1)[1])
                await asyncio.to_thread(_wait_for, lambda: _connected_to(worker, slow_port))
                os.kill(worker, signal.SIGKILL)
                return await in_serve, await in_worker

        in_serve, in_worker = asyncio.run(scenario())
        assert in_serve.status_code == 200 and in_serve.json()["outputs"] == [{"status": 200}]
        assert in_worker.status_code == 503, in_worker.text
        body = in_worker.json()
        assert body["code"] == 14 and "try again" in body["message"].lower()

        # Meanwhile serve answers everything itself; then a new worker takes over.
        assert (
            httpx.post(
                f"{base}/hello/trigger", json={"data": [{"variable": {"prompt": "x"}}]}, headers=headers
            ).status_code
            == 200
        )
        [replacement] = _wait_for(lambda: [pid for pid in _workers(server) if pid != worker])
        _wait_for(lambda: server.output().count("ready (pid") >= 2)

        async def burst():
            async with httpx.AsyncClient(headers=headers, timeout=30) as client:
                return await _hellos(client, base, [f"after{i}" for i in range(30)])

        assert all(r.status_code == 200 for r in asyncio.run(burst()))
        pids = {int(w.rsplit(":", 1)[1]) for p, w in _run_workers_by_prompt(server).items() if p.startswith("after")}
        assert replacement in pids
    finally:
        server.stop()


def _start_on_one_cpu(tmp_path, name: str) -> Server:
    """serve inherits this process's CPU affinity: one CPU, as under ``taskset -c 0``."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        return _start(tmp_path, name)
    finally:
        os.sched_setaffinity(0, before)


@pytest.mark.parametrize("how", ["PIPELINE_RUN_WORKERS=0", "one usable CPU"])
def test_without_workers_serve_runs_every_trigger(tmp_path, how):
    """With PIPELINE_RUN_WORKERS=0, or by default on one usable CPU (where a worker would
    only add process hops), serve runs every trigger itself and starts no worker."""
    if how == "one usable CPU":
        server = _start_on_one_cpu(tmp_path, "e2e-one-cpu")
    else:
        server = _start(tmp_path, "e2e-no-run-workers", PIPELINE_RUN_WORKERS="0")
    try:
        token = server.create_token("w")
        base = f"{server.base_url}/v1beta/namespaces/admin/pipelines"

        async def scenario():
            async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
                return await _hellos(client, base, [f"q{i}" for i in range(20)])

        assert all(r.status_code == 200 for r in asyncio.run(scenario()))
        assert _workers(server) == []
        assert {int(w.rsplit(":", 1)[1]) for w in _run_workers_by_prompt(server).values()} == {server.process.pid}
    finally:
        server.stop()
