"""Micro-benchmark: engine cost of one execute() of a one-component recipe.

Usage: .venv/bin/python benchmarks/engine_micro.py [iterations]
Prints µs per execute() without events, with events, and µs per parse_recipe.
The component is a cheap non-blocking task, so the numbers are engine overhead.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.engine import (  # noqa: E402
    ComponentDefinition,
    Event,
    Registry,
    Task,
    TaskContext,
    execute,
    parse_recipe,
)

RECIPE = """
version: v1beta
variable:
  prompt: {type: string, required: true}
component:
  greet:
    type: json
    task: TASK_JQ
    input: {json-value: "${variable.prompt}", jq-filter: "."}
output:
  answer: {value: "${greet.output.results[0]}"}
"""


def _jq(inp: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    return {"results": [inp["json-value"]]}


REGISTRY = Registry(
    [
        ComponentDefinition(
            type="json",
            title="JSON",
            tasks={
                "TASK_JQ": Task(
                    "TASK_JQ",
                    {"type": "object", "properties": {"json-value": {}, "jq-filter": {"type": "string"}}},
                    {"type": "object", "properties": {"results": {"type": "array"}}},
                    _jq,
                    blocking=False,
                )
            },
        )
    ]
)


async def _bench(n: int) -> None:
    recipe = parse_recipe(RECIPE, registry=REGISTRY)
    rows = recipe.bind_rows([{"prompt": "hello"}])
    sink: list[Event] = []

    for label, handler in (("no events", None), ("with events", sink.append)):
        for _ in range(200):  # warm-up
            await execute(recipe, rows, registry=REGISTRY, on_event=handler)
        start = time.perf_counter()
        for _ in range(n):
            await execute(recipe, rows, registry=REGISTRY, on_event=handler)
        elapsed = time.perf_counter() - start
        sink.clear()
        print(f"execute() one component, {label}: {elapsed / n * 1e6:.1f} µs")

    start = time.perf_counter()
    for _ in range(200):
        parse_recipe(RECIPE, registry=REGISTRY)
    print(f"parse_recipe(): {(time.perf_counter() - start) / 200 * 1e6:.1f} µs")


if __name__ == "__main__":
    asyncio.run(_bench(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
