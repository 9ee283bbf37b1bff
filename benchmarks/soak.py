"""Soak: minutes of mixed triggers; memory before/after, and every answered run recorded.

Starts ``manage.py serve`` as the other benchmarks do (fresh data dir, SQLite, its
default run worker, loopback port) and triggers the demo ``hello`` pipeline from
``--concurrency`` connections, each cycling through four kinds of trigger:

* ``sync``: ``POST .../hello/trigger`` with a JSON body;
* ``async``: ``POST .../hello/trigger-async``, then ``GET /v1beta/operations/<uid>``
  every 100 ms until done;
* ``stream``: the sync trigger with ``Accept: text/event-stream``, read to the end;
* ``multipart``: the sync trigger as ``multipart/form-data``.

Each trigger has its own prompt (``soak-<kind>-<n>``), and it counts as answered only
when its answer (``Hello soak-<kind>-<n>``) came back. The load runs for ``--warmup``
seconds, then the resident memory (VmRSS) of serve and of every process it started
(its run workers) is read — "before" — and the load goes on for ``--minutes``; the
memory read at its end is "after" (both under the same load). Then the load stops, the
server gets ``--drain`` seconds to finish what it runs, and its database is read:
every answered trigger must have exactly one run, COMPLETED, with its prompt, and no
run of any pipeline may be left QUEUED or PROCESSING.

Prints triggers answered per kind, memory per process and in total (with a sample per
minute), runs recorded against answered, and the targets: RSS growth under 10 %, no
run lost, no run left running. Every request has a timeout; the server and whatever it
started are killed at the end.

    .venv/bin/python benchmarks/soak.py [--minutes 10] [--warmup 60] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sqlite3
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import Server, bench_server, percentile, print_verdicts, rss_kb  # noqa: E402

KINDS = ("sync", "async", "stream", "multipart")
TRIGGER = "/v1beta/namespaces/admin/pipelines/hello/trigger"
RSS_TARGET = 0.10
UNFINISHED = ("RUN_STATUS_QUEUED", "RUN_STATUS_PROCESSING")


@dataclass
class Tally:
    """What the clients saw, per kind of trigger."""

    answered: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # kind -> prompts
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # seconds
    failed: Counter = field(default_factory=Counter)  # (kind, reason) -> count


class Unanswered(Exception):
    """The trigger got no (right) answer; the message says what came instead."""


# --- the four kinds of trigger ----------------------------------------------------------


def _answer(body: dict, prompt: str) -> None:
    answer = (body.get("outputs") or [{}])[0].get("answer")
    if answer != f"Hello {prompt}":
        raise Unanswered(f"answer {answer!r}")


def _ok(response: httpx.Response) -> dict:
    if response.status_code != 200:
        raise Unanswered(f"HTTP {response.status_code}: {response.text[:120]}")
    return response.json()


async def trigger_sync(client: httpx.AsyncClient, prompt: str, timeout: float) -> None:
    _answer(_ok(await client.post(TRIGGER, json={"data": [{"variable": {"prompt": prompt}}]})), prompt)


async def trigger_multipart(client: httpx.AsyncClient, prompt: str, timeout: float) -> None:
    # (None, text): a form field without a file name; text that is not JSON stays a string.
    _answer(_ok(await client.post(TRIGGER, files={"variables[0].prompt": (None, prompt)})), prompt)


async def trigger_async(client: httpx.AsyncClient, prompt: str, timeout: float) -> None:
    operation = _ok(await client.post(TRIGGER + "-async", json={"data": [{"variable": {"prompt": prompt}}]}))[
        "operation"
    ]
    deadline = time.monotonic() + timeout
    while not operation["done"]:
        if time.monotonic() > deadline:
            raise Unanswered(f"operation not done after {timeout:g} s")
        await asyncio.sleep(0.1)
        operation = _ok(await client.get(f"/v1beta/{operation['name']}"))["operation"]
    if "error" in operation:
        raise Unanswered(f"operation error {operation['error']}")
    _answer(operation["response"], prompt)


async def trigger_stream(client: httpx.AsyncClient, prompt: str, timeout: float) -> None:
    body = {"data": [{"variable": {"prompt": prompt}}]}
    events: list[tuple[str, dict]] = []
    async with client.stream("POST", TRIGGER, json=body, headers={"Accept": "text/event-stream"}) as response:
        if response.status_code != 200:
            raise Unanswered(f"HTTP {response.status_code}: {(await response.aread())[:120]!r}")
        name = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                name = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line.partition(":")[2])))
    outputs = [data["output"] for name, data in events if name == "PIPELINE_OUTPUT_UPDATED"]
    if not outputs or outputs[-1].get("answer") != f"Hello {prompt}":
        raise Unanswered(f"stream ended without the answer ({len(events)} events)")
    if not any(name == "PIPELINE_STATUS_UPDATED" and data["status"].get("completed") for name, data in events):
        raise Unanswered("stream ended without PIPELINE_STATUS_UPDATED completed")


TRIGGERS = {"sync": trigger_sync, "async": trigger_async, "stream": trigger_stream, "multipart": trigger_multipart}


async def worker(
    client: httpx.AsyncClient, index: int, end_at: float, numbers: itertools.count, tally: Tally, timeout: float
) -> None:
    """Cycle through the kinds (each worker starting at another) until ``end_at``."""
    kinds = itertools.islice(itertools.cycle(KINDS), index % len(KINDS), None)
    for kind in kinds:
        if time.monotonic() >= end_at:
            return
        prompt = f"soak-{kind}-{next(numbers)}"
        started = time.monotonic()
        try:
            await asyncio.wait_for(TRIGGERS[kind](client, prompt, timeout), timeout)
        except (TimeoutError, httpx.TimeoutException):
            tally.failed[(kind, f"no answer within {timeout:g} s")] += 1
        except (Unanswered, httpx.HTTPError, ValueError, KeyError) as exc:
            tally.failed[(kind, f"{type(exc).__name__}: {str(exc)[:120]}")] += 1
            await asyncio.sleep(0.1)
        else:
            tally.answered[kind].append(prompt)
            tally.latencies[kind].append(time.monotonic() - started)


# --- memory -----------------------------------------------------------------------------


def _role(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return "gone"
    words = [a.decode(errors="replace") for a in argv if a]
    for role in ("serve", "run_worker"):
        if role in (Path(word).name for word in words):
            return role
    if "-c" in words[1:2] and len(words) > 2:  # python -c "...; main()": its last statement names it
        return f"python -c {words[2].split(';')[-1].strip()}"[:30]
    return " ".join(Path(word).name for word in words[:3])[:30]


def memory(server: Server) -> dict[int, tuple[str, int]]:
    """pid -> (role, VmRSS kB) of serve and every live process it started."""
    return {pid: (_role(pid), rss_kb(pid)) for pid in server.processes()}


def total_mb(sample: dict[int, tuple[str, int]]) -> float:
    return sum(kb for _, kb in sample.values()) / 1024


async def sample_memory(
    server: Server, until: float, every: float, samples: list[tuple[float, float]], t0: float
) -> None:
    while time.monotonic() < until:
        samples.append((time.monotonic() - t0, total_mb(memory(server))))
        await asyncio.sleep(min(every, max(0.0, until - time.monotonic())))


# --- the run ----------------------------------------------------------------------------


def problems(log: str) -> Counter:
    """The server log's tracebacks and ERROR/CRITICAL/WARNING lines, by level and logger
    ("%(asctime)s %(levelname)s %(name)s %(message)s")."""
    found: Counter = Counter()
    for line in log.splitlines():
        words = line.split(maxsplit=4)
        if line.startswith("Traceback"):
            found["Traceback"] += 1
        elif len(words) >= 4 and words[2] in ("WARNING", "ERROR", "CRITICAL"):
            found[f"{words[2]} {words[3]}"] += 1
    return found


async def load(args: argparse.Namespace, server: Server, token: str, tally: Tally) -> tuple[dict, dict, list]:
    """Warm-up, "before", the measured minutes, "after"; returns (before, after, samples)."""
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    t0 = time.monotonic()
    measured_at = t0 + args.warmup
    end_at = measured_at + args.minutes * 60
    numbers = itertools.count()
    samples: list[tuple[float, float]] = []
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=headers, limits=limits, timeout=args.timeout
    ) as client:
        workers = asyncio.gather(
            *(worker(client, i, end_at, numbers, tally, args.timeout) for i in range(args.concurrency))
        )
        await asyncio.sleep(args.warmup)
        before = memory(server)
        answered = sum(len(p) for p in tally.answered.values())
        print(
            f"  before: {total_mb(before):.1f} MB in {len(before)} process(es), after {answered} warm-up triggers; "
            f"measuring for {args.minutes:g} min ...",
            flush=True,
        )
        sampler = asyncio.create_task(sample_memory(server, end_at, 10.0, samples, measured_at))
        await asyncio.sleep(max(0.0, end_at - time.monotonic()))
        after = memory(server)
        await sampler
        await workers
    return before, after, samples


@dataclass
class Runs:
    """The runs as the database holds them after the drain."""

    by_prompt: dict[str, list[str]]  # hello runs: prompt -> statuses
    unfinished: Counter  # (pipeline, status) -> count, any pipeline
    api_total: int | None  # hello's totalSize as GET .../runs answers it


def runs_recorded(server: Server, token: str, drain: float) -> Runs:
    """Wait up to ``drain`` s for no run to be QUEUED/PROCESSING, then read every run."""
    db = sqlite3.connect(f"file:{server.data_dir / 'pipeline.sqlite3'}?mode=ro", uri=True, timeout=30)
    unfinished_sql = (
        "SELECT p.slug, r.status, count(*) FROM pipelines_pipelinerun r JOIN pipelines_pipeline p ON p.id = r.pipeline_id "
        f"WHERE r.status IN {UNFINISHED!r} GROUP BY p.slug, r.status"
    )
    try:
        deadline = time.monotonic() + drain
        while (unfinished := Counter({(slug, status): n for slug, status, n in db.execute(unfinished_sql)})) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.5)
        by_prompt: dict[str, list[str]] = defaultdict(list)
        rows = db.execute(
            "SELECT r.status, r.inputs FROM pipelines_pipelinerun r JOIN pipelines_pipeline p ON p.id = r.pipeline_id "
            "WHERE p.slug = 'hello'"
        )
        for status, inputs in rows:
            prompt = (json.loads(inputs) or [{}])[0].get("prompt", "")
            by_prompt[str(prompt)].append(status)
    finally:
        db.close()
    try:
        response = httpx.get(
            f"{server.base_url}/v1beta/namespaces/admin/pipelines/hello/runs",
            params={"pageSize": 1},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        api_total = response.json()["totalSize"]
    except (httpx.HTTPError, KeyError, ValueError):
        api_total = None
    return Runs(by_prompt, unfinished, api_total)


def report(
    args: argparse.Namespace,
    tally: Tally,
    before: dict,
    after: dict,
    idle: dict,
    samples: list,
    runs: Runs,
    log_problems: Counter,
) -> bool:
    """Print the figures; returns whether every target is met."""
    seconds = args.warmup + args.minutes * 60
    print()
    print(f"Triggers of hello, {args.concurrency} connections, {args.warmup:g} s warm-up + {args.minutes:g} min:")
    print(f"  {'kind':<10}{'answered':>9}{'per s':>7}{'failed':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for kind in KINDS:
        answered, lat = len(tally.answered[kind]), tally.latencies[kind]
        failed = sum(n for (k, _), n in tally.failed.items() if k == kind)
        print(
            f"  {kind:<10}{answered:>9}{answered / seconds:>7.1f}{failed:>8}{percentile(lat, 50) * 1000:>9.1f}"
            f"{percentile(lat, 99) * 1000:>9.1f}{percentile(lat, 100) * 1000:>9.1f}"
        )
    for (kind, reason), count in tally.failed.most_common(8):
        print(f"    {count} x {kind}: {reason}")

    print()
    print("Resident memory (VmRSS), MB:")
    print(f"  {'process':<38}{'before':>9}{'after':>9}{'drained':>9}")
    for pid in sorted(set(before) | set(after) | set(idle)):
        role = (before.get(pid) or after.get(pid) or idle.get(pid))[0]
        cells = "".join(
            f"{sample[pid][1] / 1024:>9.1f}" if pid in sample else f"{'-':>9}" for sample in (before, after, idle)
        )
        print(f"  {f'{role} {pid}':<38}{cells}")
    growth = (total_mb(after) - total_mb(before)) / total_mb(before) if before else float("nan")
    print(
        f"  {'total':<38}{total_mb(before):>9.1f}{total_mb(after):>9.1f}{total_mb(idle):>9.1f}"
        f"   growth under load {100 * growth:+.1f} %"
    )
    if set(before) != set(after):
        print("  (processes changed between before and after: a run worker was restarted)")
    minutes = {}
    for t, mb in samples:
        minutes.setdefault(int(t // 60), mb)
    print(
        "  total at each minute of the measured load: "
        + ", ".join(f"{m}: {mb:.1f}" for m, mb in sorted(minutes.items()))
    )

    answered = [prompt for prompts in tally.answered.values() for prompt in prompts]
    lost = [p for p in answered if not runs.by_prompt.get(p)]
    doubled = [p for p in answered if len(runs.by_prompt.get(p, ())) > 1]
    not_completed = [
        p for p in answered if runs.by_prompt.get(p) and set(runs.by_prompt[p]) != {"RUN_STATUS_COMPLETED"}
    ]
    recorded = sum(len(statuses) for statuses in runs.by_prompt.values())
    unanswered = recorded - sum(len(runs.by_prompt.get(p, ())) for p in set(answered))
    print()
    print(
        f"Runs: {len(answered)} triggers answered, {recorded} hello runs recorded (database; API totalSize "
        f"{runs.api_total if runs.api_total is not None else 'unknown'}):"
    )
    print(f"  answered without a run: {len(lost)}{' e.g. ' + ', '.join(lost[:5]) if lost else ''}")
    print(f"  answered with more than one run: {len(doubled)}{' e.g. ' + ', '.join(doubled[:5]) if doubled else ''}")
    print(
        f"  answered but the run is not COMPLETED: {len(not_completed)}"
        + (" e.g. " + ", ".join(f"{p} {runs.by_prompt[p]}" for p in not_completed[:5]) if not_completed else "")
    )
    print(f"  recorded for a trigger that got no answer (a failure above): {unanswered}")
    print(
        f"  left QUEUED/PROCESSING {args.drain:g} s after the load: "
        + (", ".join(f"{n} {slug} {status}" for (slug, status), n in runs.unfinished.items()) or "none")
    )
    print(
        "  server log: "
        + (", ".join(f"{n} x {what}" for what, n in log_problems.most_common()) or "no warning, error or traceback")
    )

    print()
    verdicts = [
        (
            f"RSS growth under load over {args.minutes:g} min: {100 * growth:+.1f} %",
            f"< {100 * RSS_TARGET:.0f} %",
            growth < RSS_TARGET,
        ),
        (
            f"answered triggers without exactly one COMPLETED run: {len(set(lost + doubled + not_completed))}",
            "0",
            not (lost or doubled or not_completed),
        ),
        (f"runs left QUEUED/PROCESSING: {sum(runs.unfinished.values())}", "0", not runs.unfinished),
        (f"triggers answered: {len(answered)}, failed: {sum(tally.failed.values())}", "none failed", not tally.failed),
    ]
    return print_verdicts(verdicts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="measured minutes, after the warm-up (10)")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds of the same load before 'before' (60)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent client connections (8)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a trigger may take, polling included (30)")
    parser.add_argument("--drain", type=float, default=30.0, help="seconds for the server to finish its runs (30)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep-log", action="store_true", help="print the server's log path and keep it")
    args = parser.parse_args()

    started = time.perf_counter()
    tally = Tally()
    with bench_server("pipeline-soak-", keep_log=args.keep_log) as server:
        token = server.create_token("soak")
        print(f"  warm-up: {args.concurrency} connections of mixed triggers for {args.warmup:g} s ...", flush=True)
        before, after, samples = asyncio.run(load(args, server, token, tally))
        print(f"  load stopped; draining for up to {args.drain:g} s and reading the runs ...", flush=True)
        runs = runs_recorded(server, token, args.drain)
        idle = memory(server)
        log_problems = problems(server.output())
    met = report(args, tally, before, after, idle, samples, runs, log_problems)
    print(f"\nCPUs: {os.cpu_count()}; Python {sys.version.split()[0]}; total {time.perf_counter() - started:.0f} s")
    return 0 if met or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
