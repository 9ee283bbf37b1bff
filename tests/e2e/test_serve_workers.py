"""``serve --workers 2``: two HTTP processes on one port under a supervising parent
(pipelines/serve_workers.py), driven over real HTTP.

Each request below opens a connection of its own, so the kernel spreads them over both
processes; which process ran a trigger is in the run history (``worker``, host:pid).
The tests share one server and run in file order; the last one stops it.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from benchmarks._server import Server, free_port
from pipelines.grpc.gen.pipeline.pipeline.v1beta import pipeline_pb2 as pb
from pipelines.grpc.gen.pipeline.pipeline.v1beta import pipeline_public_service_pb2_grpc
from tests.conftest import SLOW_RECIPE
from tests.e2e.conftest import start_server
from tests.e2e.test_serve_ports import second_serve
from tests.grpc.test_grpc_api import rows

pytestmark = pytest.mark.e2e

PIPELINES = "/v1beta/namespaces/admin/pipelines"
HELLO = {"data": [{"variable": {"prompt": "workers"}}]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = start_server(tmp_path_factory.mktemp("serve-workers"), "e2e-serve-workers", PIPELINE_SERVE_WORKERS="2")
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return server.create_token("workers")


def _children(server: Server) -> list[int]:
    assert server.process is not None
    found = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True)
    return sorted(int(pid) for pid in found.stdout.split())


def _runs(server: Server, where: str = "1=1") -> list[tuple[str, str, str]]:
    """(uid, status, worker pid) of the recorded runs."""
    with sqlite3.connect(server.data_dir / "pipeline.sqlite3") as db:
        rows = db.execute(f"SELECT uid, status, worker FROM pipelines_pipelinerun WHERE {where}").fetchall()
    return [(uid, status, worker.rpartition(":")[2]) for uid, status, worker in rows]


def _each_on_a_new_connection(count: int, call) -> list[httpx.Response]:
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda _: call(), range(count)))


# No keep-alive: every request opens a connection of its own (one client, so the cost of
# building a client is not paid per request).
_CLIENT = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))


def _trigger(server: Server, token: str, path: str = "hello/trigger", body: dict = HELLO) -> httpx.Response:
    return _CLIENT.post(
        f"{server.base_url}{PIPELINES}/{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def test_both_processes_answer_on_the_one_port(server: Server, token: str) -> None:
    children = _children(server)
    assert len(children) == 2
    answers = _each_on_a_new_connection(24, lambda: _trigger(server, token))
    assert {answer.status_code for answer in answers} == {200}
    assert {answer.json()["outputs"][0]["answer"] for answer in answers} == {"Hello workers"}
    ran_in = {int(pid) for _, _, pid in _runs(server)}
    assert ran_in == set(children), "the kernel spreads connections over both processes"
    assert "in 2 processes" in server.output()


def test_the_first_process_serves_grpc(server: Server, token: str) -> None:
    import grpc

    request = pb.TriggerNamespacePipelineRequest(
        namespace_id="admin", pipeline_id="hello", data=rows({"prompt": "rpc"})
    )
    for _ in range(4):
        with grpc.insecure_channel(server.grpc_target) as channel:
            stub = pipeline_public_service_pb2_grpc.PipelinePublicServiceStub(channel)
            answer = stub.TriggerNamespacePipeline(request, metadata=[("authorization", f"Bearer {token}")], timeout=30)
        assert answer.outputs[0]["answer"] == "Hello rpc"


def test_another_serve_does_not_join_the_port(server: Server, tmp_path, monkeypatch) -> None:
    """The workers share their port with SO_REUSEPORT; a second ``serve --workers 2`` on
    it must not join them (the kernel would hand it half the connections)."""
    monkeypatch.setenv("PIPELINE_SERVE_WORKERS", "2")
    code, output = second_serve(tmp_path / "data", port=server.port, grpc_port=free_port())
    assert code not in (None, 0), output
    assert f"port {server.port}" in output and "is serving on" not in output, output


def test_a_token_deleted_through_one_process_is_refused_by_both(server: Server, token: str) -> None:
    doomed = server.create_token("doomed")
    # Both processes have verified (and cached) it: each recorded a run triggered with it.
    before = len(_runs(server))
    answers = _each_on_a_new_connection(24, lambda: _trigger(server, doomed))
    assert {answer.status_code for answer in answers} == {200}
    assert {pid for _, _, pid in _runs(server)[before:]} == {str(pid) for pid in _children(server)}
    deleted = httpx.delete(f"{server.base_url}/v1beta/tokens/doomed", auth=("admin", server.admin_password), timeout=10)
    assert deleted.status_code == 204
    refused = _each_on_a_new_connection(24, lambda: _trigger(server, doomed))
    assert {answer.status_code for answer in refused} == {401}
    assert "deleted" in refused[0].json()["message"]


def test_async_triggers_each_run_once(server: Server, token: str) -> None:
    answers = _each_on_a_new_connection(24, lambda: _trigger(server, token, "hello/trigger-async"))
    uids = {answer.json()["operation"]["name"].split("/")[1].replace("-", "") for answer in answers}
    assert len(uids) == 24
    quoted = ",".join(f"'{uid}'" for uid in uids)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        runs = _runs(server, f"uid IN ({quoted})")
        if all(status == "RUN_STATUS_COMPLETED" for _, status, _ in runs):
            break
        time.sleep(0.1)
    assert len(runs) == 24 and {status for _, status, _ in runs} == {"RUN_STATUS_COMPLETED"}
    assert {pid for _, _, pid in runs} == {str(pid) for pid in _children(server)}, "both executors took runs"
    with sqlite3.connect(server.data_dir / "pipeline.sqlite3") as db:
        per_run = db.execute(
            "SELECT count(*) FROM pipelines_componentrun c JOIN pipelines_pipelinerun r ON c.run_id = r.id "
            f"WHERE r.uid IN ({quoted}) GROUP BY r.id"
        ).fetchall()
    assert per_run == [(1,)] * 24, "one execution of hello's one component per run"


def test_a_run_followed_from_any_process_streams_to_its_end(server: Server, token: str, slow_server: str) -> None:
    """Six followers of one async run, each on a connection of its own (so some are held
    by the process not executing it): every one gets the whole log and the end at once,
    not after the 15 s quiet interval."""
    auth = {"Authorization": f"Bearer {token}"}
    created = httpx.post(
        server.base_url + PIPELINES, json={"id": "workers-slow", "rawRecipe": SLOW_RECIPE}, headers=auth
    )
    assert created.status_code == 201, created.text
    body = {"data": [{"variable": {"url": f"{slow_server}/sleep/1"}}]}
    operation = _trigger(server, token, "workers-slow/trigger-async", body).json()["operation"]
    run_uid = operation["name"].split("/")[1]

    def follow() -> tuple[list[str], float]:
        url = f"{server.base_url}/v1beta/pipeline-runs/{run_uid}/events"
        with httpx.stream("GET", url, headers=auth, timeout=30) as stream:
            names = [line.removeprefix("event: ") for line in stream.iter_lines() if line.startswith("event: ")]
        return names, time.monotonic()

    started = time.monotonic()
    with ThreadPoolExecutor(6) as pool:
        followed = list(pool.map(lambda _: follow(), range(6)))
    for names, ended in followed:
        assert names[0] == "PIPELINE_STATUS_UPDATED" and names[-1] == "PIPELINE_STATUS_UPDATED"
        assert "COMPONENT_OUTPUT_UPDATED" in names
        assert ended - started < 5, "the end reached every follower within moments"
    assert len({tuple(names) for names, _ in followed}) == 1


def test_a_killed_process_s_async_runs_fail_or_resume_never_hang(server: Server, token: str, slow_server: str) -> None:
    """Slow async runs on both processes, more than their executors run at once (4 each):
    one process is killed. Its running runs fail as interrupted, its queued ones are taken
    over by its replacement and complete, the other's complete; none is left hanging."""
    body = {"data": [{"variable": {"url": f"{slow_server}/sleep/0.5"}}]}
    # 32 runs: each process gets about 16, far more than the 4 it executes at once.
    answers = _each_on_a_new_connection(32, lambda: _trigger(server, token, "workers-slow/trigger-async", body))
    assert {answer.status_code for answer in answers} == {200}, [answer.text for answer in answers]
    uids = ",".join("'" + a.json()["operation"]["name"].split("/")[1].replace("-", "") + "'" for a in answers)
    processing: list[str] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not processing:
        processing = [pid for _, status, pid in _runs(server, f"uid IN ({uids})") if status == "RUN_STATUS_PROCESSING"]
    victim = int(processing[0])
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        runs = _runs(server, f"uid IN ({uids})")
        if all(status in ("RUN_STATUS_COMPLETED", "RUN_STATUS_FAILED") for _, status, _ in runs):
            break
        time.sleep(0.1)
    ended = {status for _, status, _ in runs}
    assert ended <= {"RUN_STATUS_COMPLETED", "RUN_STATUS_FAILED"}, runs
    with sqlite3.connect(server.data_dir / "pipeline.sqlite3") as db:
        failed = db.execute(
            f"SELECT worker, error FROM pipelines_pipelinerun WHERE uid IN ({uids}) AND status = 'RUN_STATUS_FAILED'"
        ).fetchall()
    assert failed and all(
        worker.endswith(f":{victim}") and "interrupted by a restart" in error for worker, error in failed
    )
    assert len(failed) <= 4, "only the runs it was executing failed"
    completed_by = {pid for _, status, pid in runs if status == "RUN_STATUS_COMPLETED"}
    assert str(victim) not in completed_by and len(completed_by) == 2, "the other process and the replacement"


def test_a_killed_process_is_replaced(server: Server, token: str) -> None:
    """Each of the two killed in turn: a new one takes its place (and its socket), HTTP and
    gRPC (served by the first) keep answering."""
    for victim in _children(server):
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30  # a loaded machine (the suite's other workers) starts Django slowly
        while time.monotonic() < deadline and (len(_children(server)) != 2 or victim in _children(server)):
            time.sleep(0.05)
        assert len(_children(server)) == 2 and victim not in _children(server), _where_serve_is(server)
        assert re.search(
            rf"serve worker [01] \(pid {victim}\) was killed by SIGKILL; starting another", server.output()
        )
        answers = _each_on_a_new_connection(12, lambda: _trigger(server, token))
        assert {answer.status_code for answer in answers} == {200}
    test_the_first_process_serves_grpc(server, token)


def _where_serve_is(server: Server) -> str:
    """serve's state in the kernel (a process blocked there cannot answer a signal), and
    its log after asking it (SIGUSR1) where each of its threads is."""
    assert server.process is not None
    proc = f"/proc/{server.process.pid}"
    try:
        with open(f"{proc}/status") as status, open(f"{proc}/wchan") as wchan:
            state = [line.strip() for line in status if line.startswith(("State", "Threads", "SigBlk", "SigIgn"))]
            state.append(f"wchan: {wchan.read()}")
    except OSError as exc:
        state = [str(exc)]
    server.process.send_signal(signal.SIGUSR1)
    time.sleep(1)
    return f"children {_children(server)}; serve: {'; '.join(state)}; its log:\n{server.output()[-6000:]}"


def test_sigterm_stops_every_process(server: Server) -> None:
    assert server.process is not None
    processes = server.processes()
    assert len(processes) >= 3  # serve and its two workers (and whatever those started)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=20) == 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in processes):
        time.sleep(0.05)
    left = [pid for pid in processes if os.path.exists(f"/proc/{pid}") and _alive(pid)]
    assert left == [], "no process outlives serve"


def _alive(pid: int) -> bool:
    """Not a zombie (a reaped child's /proc entry can linger a moment)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_workers_setting_is_checked(tmp_path) -> None:
    from tests.e2e.conftest import ROOT

    env = {**os.environ, "PIPELINE_DATA_DIR": str(tmp_path), "SECRET_KEY": "x" * 50}
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "serve", "--workers", "0", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "--workers (PIPELINE_SERVE_WORKERS) must be 1 or more, not 0" in done.stderr
