"""Task processes: blocking tasks run in worker processes that can be killed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pipelines.engine import ComponentError, TaskContext
from pipelines.engine.processes import TaskFailed, TaskProcesses
from pipelines.engine.values import File
from tests import process_tasks


@pytest.fixture
async def pool() -> AsyncIterator[TaskProcesses]:
    processes = TaskProcesses(2)
    try:
        yield processes
    finally:
        processes.shutdown()


def context(**kwargs) -> TaskContext:
    return TaskContext(component_id=kwargs.pop("component_id", "c"), task=kwargs.pop("task", "TASK_X"), **kwargs)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


async def started(pool: TaskProcesses, count: int = 1) -> list[int]:
    """The pids once ``count`` processes exist (they start lazily)."""
    for _ in range(1000):
        if len(pool.pids) >= count:
            return pool.pids
        await asyncio.sleep(0.01)
    raise AssertionError("no task process started")


async def test_a_task_runs_in_another_process_with_its_context(pool: TaskProcesses) -> None:
    """The task gets its input and the picklable context (component, task, setup, config)."""
    assert pool.pids == []  # nothing starts until a task needs it
    out = await pool.run(
        process_tasks.where,
        {"value": [1, {"a": "b"}]},
        context(component_id="j", task="TASK_JQ", setup={"key": "v"}, config={"timeout": 3}),
    )
    assert out["pid"] != os.getpid() and out["pid"] in pool.pids
    assert out["value"] == [1, {"a": "b"}]
    assert (out["component"], out["task"], out["setup"], out["config"]) == (
        "j",
        "TASK_JQ",
        {"key": "v"},
        {"timeout": 3},
    )


async def test_files_cross_the_process_boundary(pool: TaskProcesses, tmp_path: Path) -> None:
    """Files in memory arrive as bytes, files on disk as their path; a file made in the
    task comes back whole."""
    on_disk = tmp_path / "upload.pdf"
    on_disk.write_bytes(b"%PDF-1.4 spooled upload")
    in_memory = File(b"hello bytes", filename="a.txt")
    spooled = File(path=on_disk, filename="upload.pdf")
    out = await pool.run(process_tasks.files, {"files": [in_memory, spooled]}, context())
    assert out["contents"] == [b"hello bytes", b"%PDF-1.4 spooled upload"]
    assert out["paths"] == [None, str(on_disk)]
    assert out["files"] == [in_memory, spooled] and out["files"][1].path == str(on_disk)
    made = out["made"]
    assert isinstance(made, File) and made.mime_type == "image/png" and made.filename == "made.png"


async def test_a_task_that_never_ends_is_killed_when_cancelled_and_the_pool_recovers(pool: TaskProcesses) -> None:
    """Cancelling the awaiting coroutine (a time limit) kills the process running the
    task; the next task runs in a fresh process."""
    runaway = asyncio.ensure_future(pool.run(process_tasks.spin, {}, context()))
    (pid,) = await started(pool)
    await asyncio.sleep(0.2)
    assert not runaway.done()
    runaway.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runaway
    assert await asyncio.to_thread(wait_gone, pid)
    out = await pool.run(process_tasks.where, {"value": 1}, context())
    assert out["value"] == 1 and out["pid"] != pid


async def test_the_loop_keeps_running_while_a_task_spins(pool: TaskProcesses) -> None:
    """A spinning task does not hold the event loop: other coroutines keep running."""
    async with process_tasks.LoopTicks() as ticks:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1):
                await pool.run(process_tasks.spin, {}, context())
    assert ticks.count > 5


async def test_a_crashing_process_fails_only_its_task(pool: TaskProcesses) -> None:
    """A segfault fails the task that caused it with a component error naming the
    signal; a task running beside it finishes; the pool then works as before."""
    beside = asyncio.ensure_future(pool.run(process_tasks.block, {"seconds": 0.5, "value": "ok"}, context()))
    with pytest.raises(ComponentError, match="killed by SIGSEGV; only this task failed"):
        await pool.run(process_tasks.segfault, {}, context())
    assert (await beside)["value"] == "ok"
    assert (await pool.run(process_tasks.where, {"value": 2}, context()))["value"] == 2


async def test_task_errors_keep_their_message(pool: TaskProcesses) -> None:
    """A ComponentError stays one; any other exception arrives with its message."""
    with pytest.raises(ComponentError, match=r"^nope$"):
        await pool.run(process_tasks.fail, {"message": "nope"}, context())
    with pytest.raises(TaskFailed, match="missing-key"):
        await pool.run(process_tasks.crash, {}, context())
    with pytest.raises(ComponentError, match="output cannot leave its process"):
        await pool.run(process_tasks.unpicklable_output, {}, context())


async def test_a_task_function_that_is_not_importable_is_a_clear_error(pool: TaskProcesses) -> None:
    """Task processes receive the function by reference: a lambda cannot go there."""
    with pytest.raises(ComponentError, match="cannot be handed to a task process"):
        await pool.run(lambda inp, ctx: {}, {}, context())


async def test_tasks_beyond_the_pool_size_wait_for_a_free_process(pool: TaskProcesses) -> None:
    """With two processes, five tasks all finish, never in more than two processes."""
    outs = await asyncio.gather(
        *(pool.run(process_tasks.block, {"seconds": 0.05, "value": i}, context()) for i in range(5))
    )
    assert [o["value"] for o in outs] == list(range(5))
    assert len({o["pid"] for o in outs}) <= 2


async def test_a_long_task_does_not_starve_short_ones() -> None:
    """When every process has been busy on one task for a while, a waiting task starts
    an extra process instead of waiting for the runaway's time limit; the extra
    process goes away once idle."""
    pool = TaskProcesses(1)
    try:
        runaway = asyncio.ensure_future(pool.run(process_tasks.spin, {}, context()))
        (first,) = await started(pool)
        out = await pool.run(process_tasks.where, {"value": "short"}, context())
        assert out["value"] == "short" and out["pid"] != first and not runaway.done()
        assert pool.pids == [first]
        runaway.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runaway
    finally:
        pool.shutdown()


@pytest.mark.skipif(not Path("/proc/self/oom_score_adj").exists(), reason="Linux only")
async def test_task_processes_are_what_the_oom_killer_takes_first(pool: TaskProcesses) -> None:
    """Out of memory, the kernel kills a task process (which fails only its task), not the server."""
    out = await pool.run(process_tasks.where, {}, context())
    # /proc reads answer at once: nothing to hand to a thread.
    assert int(Path(f"/proc/{out['pid']}/oom_score_adj").read_text()) > int(  # noqa: ASYNC240
        Path("/proc/self/oom_score_adj").read_text()  # noqa: ASYNC240
    )


async def test_shutdown_leaves_no_process_behind(pool: TaskProcesses) -> None:
    """shutdown() kills every task process, even one stuck in a task."""
    runaway = asyncio.ensure_future(pool.run(process_tasks.spin, {}, context()))
    await pool.run(process_tasks.where, {}, context())
    pids = await started(pool, 2)
    await asyncio.to_thread(pool.shutdown)
    assert all(not alive(pid) for pid in pids)
    with pytest.raises((ComponentError, ConnectionError, OSError, asyncio.CancelledError)):
        await runaway
    with pytest.raises(ComponentError, match="shut down"):
        await pool.run(process_tasks.where, {}, context())


def test_a_killed_server_leaves_no_task_process_behind(tmp_path: Path) -> None:
    """kill -9 of the process owning the pool, mid-task: its zygote sees the control
    socket close and kills the task processes, even one spinning in a task."""
    script = tmp_path / "owner.py"
    script.write_text(
        "import asyncio, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n"
        "from pipelines.engine import TaskContext\n"
        "from pipelines.engine.processes import TaskProcesses\n"
        "from tests import process_tasks\n"
        "async def main():\n"
        "    pool = TaskProcesses(1)\n"
        "    spinning = asyncio.ensure_future(pool.run(process_tasks.spin, {}, TaskContext(component_id='c', task='t')))\n"
        "    while not pool.pids:\n"
        "        await asyncio.sleep(0.01)\n"
        "    print(pool.zygote_pid, *pool.pids, flush=True)\n"
        "    await spinning\n"
        "asyncio.run(main())\n"
    )
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        pids = [int(pid) for pid in owner.stdout.readline().split()]
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
    finally:
        owner.kill()
        owner.wait()
    assert all(wait_gone(pid) for pid in pids)
