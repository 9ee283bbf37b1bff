"""A runaway recipe (a jq filter that never ends) cannot freeze the server.

jq filters that may not end run in killable task processes (`hello`'s, which provably
ends, runs in `serve` and starts none): while one never ends, liveness answers and other
triggers complete; at the pipeline's time limit the run is stopped and fails with a
message naming the limit, for sync and async triggers alike; and stopping the server
leaves no task process behind.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import RUNAWAY_RECIPE
from tests.e2e.conftest import start_server

pytestmark = pytest.mark.e2e


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _zygotes(pid: int) -> list[int]:
    found = []
    for child in _descendants(pid):
        try:
            if b"_zygote_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and (
        Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    )


async def _while_running(client: httpx.AsyncClient, base: str) -> None:
    """Liveness answers promptly and a hello trigger completes, while the runaway runs."""
    await asyncio.sleep(0.3)  # the runaway is spinning by now
    for _ in range(5):
        started = time.monotonic()
        assert (await client.get("/v1beta/__liveness")).status_code == 200
        assert time.monotonic() - started < 1.0
        await asyncio.sleep(0.05)
    hello = await client.post(f"{base}/hello/trigger", json={"data": [{"variable": {"prompt": "meanwhile"}}]})
    assert hello.status_code == 200 and "Hello meanwhile" in hello.text


def test_a_runaway_jq_filter_is_stopped_at_the_time_limit_and_the_server_keeps_answering(tmp_path):
    server = start_server(tmp_path / "data", "e2e-runaway")
    try:
        token = server.create_token("runaway")
        headers = {"Authorization": f"Bearer {token}"}
        base = "/v1beta/namespaces/admin/pipelines"

        async def scenario() -> None:
            async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=30) as client:
                created = await client.post(base, json={"id": "runaway", "rawRecipe": RUNAWAY_RECIPE})
                assert created.status_code == 201, created.text
                patched = await client.patch(f"{base}/runaway", json={"maxRunSeconds": 2})
                assert patched.status_code == 200, patched.text
                # `hello`'s filter provably ends: it runs in `serve`, which starts no task process.
                assert (
                    await client.post(f"{base}/hello/trigger", json={"data": [{"variable": {"prompt": "x"}}]})
                ).status_code == 200
                assert not _zygotes(server.process.pid), "hello started the task processes"

                sync = asyncio.ensure_future(client.post(f"{base}/runaway/trigger", json={"data": [{"variable": {}}]}))
                await _while_running(client, base)
                stopped = await sync
                assert stopped.status_code == 504, stopped.text
                assert "maximum run time of 2 s (maxRunSeconds)" in stopped.json()["message"]

                queued = await client.post(f"{base}/runaway/trigger-async", json={"data": [{"variable": {}}]})
                name = queued.json()["operation"]["name"]
                await _while_running(client, base)
                deadline = time.monotonic() + 20
                while not (operation := (await client.get(f"/v1beta/{name}")).json()["operation"])["done"]:
                    assert time.monotonic() < deadline, "the async runaway run never ended"
                    await asyncio.sleep(0.2)
                assert "maximum run time of 2 s (maxRunSeconds)" in operation["error"]["message"]

                runs = (await client.get(f"{base}/runaway/runs")).json()["pipelineRuns"]
                assert [run["status"] for run in runs] == ["RUN_STATUS_FAILED", "RUN_STATUS_FAILED"]

        asyncio.run(scenario())
        processes = _descendants(server.process.pid)
        assert _zygotes(server.process.pid), "the runaway jq ran in task processes"
    finally:
        server.stop()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in processes) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in processes if _alive(pid)], "a process outlived the server"
