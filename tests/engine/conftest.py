"""A small fake component registry for engine tests (independent of pipelines/components)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from pipelines.engine import ComponentDefinition, ComponentError, Registry, Task, TaskContext
from tests import process_tasks

TEXT_IN = {
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "required": ["text"],
}


def _echo(inp: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    return {"value": inp.get("value"), "setup": dict(ctx.setup)}


def _upper(inp: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    return {"text": inp["text"].upper()}


def _fail(inp: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    raise ComponentError(inp.get("message") or "boom")


def _crash(inp: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    raise KeyError("missing-key")


async def _sleep(inp: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    started = time.perf_counter()
    await asyncio.sleep(inp.get("seconds", 0.1))
    return {"value": inp.get("value"), "started": started, "ended": time.perf_counter()}


async def _stream(inp: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    text = ""
    for word in inp["words"]:
        text += word
        await ctx.publish({"text": text})
    return {"text": text}


def make_registry() -> Registry:
    any_out = {"type": "object", "properties": {"value": {}, "setup": {}}}
    return Registry(
        [
            ComponentDefinition(
                type="echo",
                title="Echo",
                tasks={
                    "TASK_ECHO": Task(
                        name="TASK_ECHO",
                        input_schema={"type": "object", "properties": {"value": {}}},
                        output_schema=any_out,
                        run=_echo,
                        blocking=False,
                    )
                },
                setup_schema={
                    "type": "object",
                    "properties": {
                        "api-key": {"type": "string"},
                        "base": {},
                        "auth": {"type": "object", "properties": {"token": {"type": "string"}}},
                    },
                },
                credential_fields=frozenset({"api-key", "auth.token"}),
            ),
            ComponentDefinition(
                type="text",
                title="Text",
                tasks={
                    "TASK_UPPER": Task(
                        name="TASK_UPPER",
                        input_schema=TEXT_IN,
                        output_schema={"type": "object", "properties": {"text": {"type": "string"}}},
                        run=_upper,
                        blocking=False,
                    ),
                    "TASK_COUNT": Task(
                        name="TASK_COUNT",
                        input_schema={
                            "type": "object",
                            "properties": {
                                "text": {"type": "string"},
                                "size": {"type": "integer", "minimum": 1},
                                "mode": {"type": "string", "enum": ["a", "b"]},
                            },
                            "required": ["text", "size"],
                        },
                        output_schema={"type": "object", "properties": {"count": {"type": "integer"}}},
                        run=lambda inp, ctx: {"count": len(inp["text"])},
                        blocking=False,
                    ),
                },
            ),
            ComponentDefinition(
                type="fail",
                title="Fail",
                tasks={
                    "TASK_FAIL": Task("TASK_FAIL", {"type": "object"}, {"type": "object"}, _fail, blocking=False),
                    "TASK_CRASH": Task("TASK_CRASH", {"type": "object"}, {"type": "object"}, _crash, blocking=False),
                },
            ),
            ComponentDefinition(
                type="sleep",
                title="Sleep",
                tasks={
                    "TASK_SLEEP": Task(
                        "TASK_SLEEP",
                        {"type": "object", "properties": {"seconds": {"type": "number"}, "value": {}}},
                        {"type": "object", "properties": {"value": {}, "started": {}, "ended": {}}},
                        _sleep,
                    )
                },
            ),
            ComponentDefinition(
                type="stream",
                title="Stream",
                tasks={
                    "TASK_STREAM": Task(
                        "TASK_STREAM",
                        {"type": "object", "properties": {"words": {"type": "array"}}, "required": ["words"]},
                        {"type": "object", "properties": {"text": {"type": "string"}}},
                        _stream,
                    )
                },
            ),
            ComponentDefinition(
                type="block",
                title="Block",
                tasks={
                    "TASK_BLOCK": Task(
                        "TASK_BLOCK",
                        {"type": "object"},
                        {"type": "object", "properties": {"value": {}, "thread": {}, "pid": {}}},
                        process_tasks.block,
                        blocking=True,
                    ),
                    "TASK_SPIN": Task(
                        "TASK_SPIN", {"type": "object"}, {"type": "object"}, process_tasks.spin, blocking=True
                    ),
                    # Blocking, but a call asking for no sleep provably ends at once.
                    "TASK_MAYBE": Task(
                        "TASK_MAYBE",
                        {"type": "object"},
                        {"type": "object", "properties": {"value": {}, "thread": {}, "pid": {}}},
                        process_tasks.block,
                        blocking=True,
                        inline_when=lambda inputs: inputs.get("seconds") == 0,
                    ),
                },
            ),
        ]
    )


@pytest.fixture
def registry() -> Registry:
    return make_registry()


@pytest.fixture
def doc_string_form(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Files of type ``application/x-doc`` read in strings as ``text of <filename>`` (``b"broken"``
    ones fail: "the document is damaged"); returns the names of the threads that read them."""
    import threading

    from pipelines.engine import File, values

    readers: list[str] = []

    def read(file: File) -> str:
        readers.append(threading.current_thread().name)
        if file.read() == b"broken":
            raise ValueError("the document is damaged")
        return "text of " + (file.filename or "?")

    monkeypatch.setattr(values, "STRING_FORMS", {})
    values.register_string_form(["application/x-doc"], read)
    return readers
