"""How long a jq call that runs inline (on the event loop) can take.

``TASK_JQ`` runs a call inline when the cost analysis bounds its filter and the bound's
work on this input stays within ``INLINE_JQ_WORK``; otherwise in a task process. For
each filter below this finds the largest input of the given shape that still runs
inline, and times ``run_jq`` on it (best of 5): the worst stall an inline jq call puts
on the loop. ``--request-limit`` also times ``"Hello \\(.)"`` and ``.[]`` on inputs of
the request size limit (32 MB), which is why inputs have a bound at all.

    .venv/bin/python benchmarks/jq_inline.py [--request-limit]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.components._jq_cost import analyse  # noqa: E402
from pipelines.components.json import INLINE_JQ_WORK, jq_runs_inline, run_jq  # noqa: E402

SHAPES: dict[str, Callable[[int], Any]] = {
    '"Hello \\(.)"': lambda n: "x" * n,
    ".[]": lambda n: [1] * n,
    "{chunks: length, words: (map(.words) | add)}": lambda n: [{"words": 1}] * n,
    '[.[].document] | join("\\n\\n")': lambda n: [{"document": "ab"}] * n,
    "[.[] | ascii_upcase]": lambda n: ["ab"] * n,
    "ascii_downcase": lambda n: "A" * n,
    "reverse": lambda n: list(range(n)),
    'join(",")': lambda n: ["ab"] * n,
    'split(",")': lambda n: "a," * n,
    "to_entries": lambda n: {str(i): 1 for i in range(n)},
    "from_entries": lambda n: [{"key": str(i), "value": 1} for i in range(n)],
    "sort_by(.a)": lambda n: [{"a": n - i} for i in range(n)],
    "group_by(.k) | map(length)": lambda n: [{"k": i % 7} for i in range(n)],
    "map(select(.a > 1) | {name, id: .id})": lambda n: [{"a": 2}] * n,
    "tojson | fromjson": lambda n: [{"a": i} for i in range(n)],
    "[.,.] | [.,.] | [.,.] | [.,.] | [.,.] | [.,.] | [.,.]": lambda n: [1] * n,
}


def largest_inline(program: str, make: Callable[[int], Any]) -> int:
    low, high = 0, 1 << 21
    while low < high:
        middle = (low + high + 1) // 2
        if jq_runs_inline({"json-value": make(middle), "jq-filter": program}):
            low = middle
        else:
            high = middle - 1
    return low


def best_of(inputs: dict[str, Any], times: int = 5) -> float:
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        try:
            run_jq(dict(inputs), None)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001, S110 - a jq error takes its time too
            pass
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--request-limit", action="store_true", help="also time 32 MB inputs (slow)")
    args = parser.parse_args()
    print(f"INLINE_JQ_WORK = {INLINE_JQ_WORK:,}; load average {os.getloadavg()[0]:.1f}")
    print(f"  {'filter':56} {'n':>7} {'run ms':>8} {'check ms':>9}")
    worst = 0.0
    for program, make in SHAPES.items():
        if analyse(program) is None:
            print(f"  {program[:56]:56} refused: runs in a task process")
            continue
        n = largest_inline(program, make)
        inputs = {"json-value": make(n), "jq-filter": program}
        seconds = best_of(inputs)
        started = time.perf_counter()
        jq_runs_inline(inputs)
        check = time.perf_counter() - started
        worst = max(worst, seconds)
        print(f"  {program[:56]:56} {n:7} {seconds * 1000:8.2f} {check * 1000:9.3f}")
    print(f"worst inline call: {worst * 1000:.2f} ms")
    if args.request_limit:
        big = 32 << 20
        for program, value in (('"Hello \\(.)"', "x" * big), (".[]", [1] * (big // 2))):
            inputs = {"json-value": value, "jq-filter": program}
            print(f"  {program} on a 32 MB input: {best_of(inputs, 1):.2f} s (inline: {jq_runs_inline(inputs)})")


if __name__ == "__main__":
    main()
