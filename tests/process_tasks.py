"""Task functions the engine tests run in task processes.

Module-level in an importable module, because a task process receives its task
function by reference (pickled as ``tests.process_tasks.<name>``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from typing import Any

from pipelines.engine import ComponentError, TaskContext
from pipelines.engine.values import File


def where(inp: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    """Which process ran the task, and what it received."""
    return {
        "pid": os.getpid(),
        "value": inp.get("value"),
        "component": ctx.component_id,
        "task": ctx.task,
        "setup": dict(ctx.setup),
        "config": dict(ctx.config),
    }


def block(inp: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    time.sleep(inp.get("seconds", 0.1))
    return {"value": inp.get("value"), "thread": threading.current_thread().name, "pid": os.getpid()}


def spin(inp: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    """Never ends, and never gives the interpreter a chance to notice anything."""
    while True:
        pass


def segfault(inp: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(10)
    return {}


def fail(inp: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    raise ComponentError(inp.get("message") or "boom")


def crash(inp: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    raise KeyError("missing-key")


def files(inp: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    """Returns the files it got, what it read from them, and a new one."""
    received = inp["files"]
    return {
        "files": received,
        "contents": [f.read() for f in received],
        "paths": [f.path for f in received],
        "made": File(b"\x89PNG\r\n\x1a\n made in the task", filename="made.png"),
    }


def unpicklable_output(inp: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    return {"lock": threading.Lock()}


class LoopTicks:
    """``async with LoopTicks() as ticks:`` counts in ``ticks.count`` how often other
    work got a turn on the event loop meanwhile: proof that the loop was not held."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.count = 0
        self._task: asyncio.Future[None] | None = None

    async def _tick(self) -> None:
        while True:
            self.count += 1
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> LoopTicks:
        self._task = asyncio.ensure_future(self._tick())
        await asyncio.sleep(0)
        self.count = 0
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
