"""Liveness while runaway recipes run: can one trigger freeze the whole server?

Starts ``manage.py serve`` exactly as ``trigger.py`` does (fresh data dir, real
subprocess, loopback port) and creates two runaway pipelines with a short
``maxRunSeconds`` (PATCHed, default 2 s):

* ``runaway-jq``: one ``json`` ``TASK_JQ`` component whose filter ``def f: f; f``
  never ends (and allocates nothing: it only burns CPU);
* ``runaway-iterator``: an iterator over ``range: [0, 1000000, 1]`` with a jq
  component inside.

It measures ``GET /v1beta/__liveness`` alone on the idle server (first baseline), then
with the 16 hello connections below but no runaway (second baseline), then, for
``--duration`` seconds and all at once:

* a probe sends ``GET /v1beta/__liveness`` every 20 ms (one keep-alive connection, in
  a process of its own so the load generator's loop cannot delay it);
* 16 keep-alive connections trigger ``hello`` back to back (``trigger.py``'s client);
* runaway triggers keep being started, one in flight at a time, alternating
  sync and async and the two pipelines; each async one is polled until done.

Every request has a timeout (a probe that gets no answer counts as its timeout, a
lower bound), so a frozen server does not freeze the benchmark: it ends, reports, and
kills the server and every process it started. It prints liveness p50/p99/max and the
longest stretch without an answer, idle and under load; hello throughput; how each
runaway trigger was answered; the runaway runs as recorded (status, error); and the
targets: liveness p99 under 100 ms while the runaways run, hello triggers keep
completing, the runaway runs end FAILED with a message naming the limit ("maximum" or
"limit" in it), and the server still answers afterwards.

    .venv/bin/python benchmarks/liveness.py [--duration 40] [--concurrency 16] [--max-run-seconds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import itertools
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import LIVENESS, Server, bench_server, percentile, print_verdicts  # noqa: E402
from trigger import HELLO_BODY, HELLO_PATH, BadResponse, Endpoint, read_response  # noqa: E402

TARGET_P99_MS = 100.0
PIPELINES = "/v1beta/namespaces/admin/pipelines"

RUNAWAY_JQ = """\
version: v1beta
# A jq filter that never ends: it recurses forever without growing.
variable:
  seed: {type: string, default: x}
component:
  spin:
    type: json
    task: TASK_JQ
    input:
      json-value: ${variable.seed}
      jq-filter: "def f: f; f"
output:
  result: {value: "${spin.output.results}"}
"""

RUNAWAY_ITERATOR = """\
version: v1beta
# An iterator over a huge range, one jq component per element.
variable:
  stop: {type: integer, default: 1000000}
component:
  loop:
    type: iterator
    range: [0, "${variable.stop}", 1]
    component:
      echo:
        type: json
        task: TASK_JQ
        input:
          json-value: ${loop.element}
          jq-filter: "."
    output-elements:
      value: ${echo.output.results[0]}
output:
  count: {value: "${loop.output.value}"}
"""

RUNAWAYS = {"jq": ("runaway-jq", RUNAWAY_JQ), "iterator": ("runaway-iterator", RUNAWAY_ITERATOR)}


# --- the probe (runs in its own process) ------------------------------------------------


@dataclass
class Probes:
    """One probe series: latency of each probe (an unanswered one counts its timeout)."""

    latencies: list[float] = field(default_factory=list)  # seconds
    unanswered: int = 0
    longest_gap: float = 0.0  # seconds between two answers (or the start/end and an answer)

    def ms(self, p: float) -> float:
        return percentile(self.latencies, p) * 1000


def probe(host: str, port: int, start_at: float, end_at: float, interval: float, timeout: float) -> Probes:
    """GET liveness every ``interval`` s from ``start_at`` to ``end_at`` (time.monotonic,
    which is one clock for every process on Linux) on one keep-alive connection."""
    while time.monotonic() < start_at:
        time.sleep(min(0.01, start_at - time.monotonic()))
    result = Probes()
    connection: http.client.HTTPConnection | None = None
    last_answer = start_at
    while (started := time.monotonic()) < end_at:
        answered = False
        for _attempt in range(2):  # a keep-alive connection the server closed: once more on a new one
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(host, port, timeout=timeout)
                connection.request("GET", LIVENESS)
                response = connection.getresponse()
                body = response.read()
                answered = response.status == 200 and b"SERVING" in body
                break
            except TimeoutError:
                connection.close()
                connection = None
                break
            except (OSError, http.client.HTTPException):
                if connection is not None:
                    connection.close()
                connection = None
        done = time.monotonic()
        if answered:
            result.latencies.append(done - started)
            result.longest_gap = max(result.longest_gap, done - last_answer)
            last_answer = done
        else:
            result.unanswered += 1
            result.latencies.append(max(timeout, done - started))
            time.sleep(max(0.0, min(0.1, end_at - time.monotonic())))  # a refused connect returns at once
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
    if connection is not None:
        connection.close()
    result.longest_gap = max(result.longest_gap, time.monotonic() - last_answer)
    return result


# --- the hello load ---------------------------------------------------------------------


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)  # answered with "Hello user"
    errors: int = 0
    timeouts: int = 0


async def hello_worker(host: str, port: int, request: bytes, end_at: float, timeout: float, load: Load) -> None:
    """Trigger hello back to back until ``end_at`` on one keep-alive connection; a
    request that gets no answer within ``timeout`` is counted and its connection dropped."""
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.monotonic() < end_at:
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
            assert reader is not None
            started = time.perf_counter()
            writer.write(request)
            status, body = await asyncio.wait_for(read_response(reader), timeout)
        except TimeoutError:
            load.timeouts += 1
        except (BadResponse, asyncio.IncompleteReadError, OSError, ValueError):
            load.errors += 1
            await asyncio.sleep(0.05)
        else:
            if status == 200 and b"Hello user" in body:
                load.latencies.append(time.perf_counter() - started)
                continue
            load.errors += 1
        if writer is not None:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


# --- the runaways -----------------------------------------------------------------------


@dataclass
class Runaway:
    kind: str
    mode: str
    seconds: float
    outcome: str


def _error_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if "message" in body:
        return str(body["message"])
    errors = [trace.get("error", {}).get("message") for trace in body.get("metadata", {}).get("traces", {}).values()]
    return "; ".join(m for m in errors if m) or json.dumps(body)[:200]


async def runaway_one(client: httpx.AsyncClient, kind: str, mode: str, max_run: int, grace: float) -> Runaway:
    """Trigger one runaway and wait for its end (bounded by ``max_run + grace``)."""
    pipeline_id, _ = RUNAWAYS[kind]
    path = f"{PIPELINES}/{pipeline_id}/trigger" + ("-async" if mode == "async" else "")
    started = time.monotonic()
    deadline = started + max_run + grace
    try:
        response = await client.post(path, json={"data": [{"variable": {}}]}, timeout=max_run + grace)
        if mode == "sync" or response.status_code != 200:
            outcome = f"HTTP {response.status_code}: {_error_of(response)}"
        else:
            name = response.json()["operation"]["name"]
            while True:
                if time.monotonic() > deadline:
                    outcome = f"operation not done after {max_run + grace:.0f} s"
                    break
                await asyncio.sleep(0.25)
                operation = (await client.get(f"/v1beta/{name}", timeout=max(0.1, deadline - time.monotonic()))).json()[
                    "operation"
                ]
                if operation["done"]:
                    if "error" in operation:
                        outcome = (
                            f"operation error {operation['error'].get('code')}: {operation['error'].get('message')}"
                        )
                    else:
                        outcome = "operation done: " + _error_of(
                            httpx.Response(200, json=operation.get("response", {}))
                        )
                    break
    except httpx.TimeoutException:
        outcome = f"no answer within {max_run + grace:.0f} s"
    except httpx.TransportError as exc:
        outcome = f"transport error: {type(exc).__name__}"
    return Runaway(kind, mode, time.monotonic() - started, outcome)


async def runaway_loop(
    client: httpx.AsyncClient, kinds: list[str], end_at: float, max_run: int, grace: float, done: list[Runaway]
) -> None:
    """Keep one runaway in flight until ``end_at``: jq async, jq sync, iterator async, ..."""
    if not kinds:
        return
    for kind, mode in itertools.cycle([(kind, mode) for kind in kinds for mode in ("async", "sync")]):
        if time.monotonic() >= end_at:
            return
        done.append(await runaway_one(client, kind, mode, max_run, grace))


async def recorded_runs(client: httpx.AsyncClient, kinds: list[str]) -> dict[str, Counter] | str:
    """(status, error) counts of each runaway pipeline's recorded runs, or why unknown."""
    counts: dict[str, Counter] = {}
    try:
        for kind in kinds:
            pipeline_id, _ = RUNAWAYS[kind]
            response = await client.get(f"{PIPELINES}/{pipeline_id}/runs", params={"pageSize": 100}, timeout=5)
            runs = response.json()["pipelineRuns"]
            counts[kind] = Counter((run["status"], (run.get("error") or "")[:160]) for run in runs)
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        return f"the server did not list them ({type(exc).__name__})"
    return counts


# --- the run ----------------------------------------------------------------------------


async def under_load(
    args: argparse.Namespace, server: Server, token: str, pool: ProcessPoolExecutor, duration: float, kinds: list[str]
) -> tuple[Probes, Load, list[Runaway]]:
    """Probe liveness while hello triggers (and runaways of ``kinds``) run for ``duration`` s."""
    host, port = "127.0.0.1", server.port
    start_at = time.monotonic() + 0.5
    end_at = start_at + duration
    loop = asyncio.get_running_loop()
    probes = loop.run_in_executor(pool, probe, host, port, start_at, end_at, args.interval, args.probe_timeout)
    request = Endpoint("trigger", "POST", HELLO_PATH, HELLO_BODY, token).request_bytes(f"{host}:{port}")
    load = Load()
    runaways: list[Runaway] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as client:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        # The runaway in flight at the end may outlast the hello load by up to its timeout.
        launcher = asyncio.create_task(
            runaway_loop(client, kinds, end_at, args.max_run_seconds, args.timeout, runaways)
        )
        await asyncio.gather(
            *(hello_worker(host, port, request, end_at, args.timeout, load) for _ in range(args.concurrency))
        )
        await launcher
    return await probes, load, runaways


async def setup(server: Server, token: str, kinds: list[str], max_run: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=10) as client:
        for kind in kinds:
            pipeline_id, recipe = RUNAWAYS[kind]
            created = await client.post(PIPELINES, json={"id": pipeline_id, "rawRecipe": recipe})
            patched = await client.patch(f"{PIPELINES}/{pipeline_id}", json={"maxRunSeconds": max_run})
            for what, response, expected in (("creating", created, 201), ("patching", patched, 200)):
                if response.status_code != expected:
                    raise SystemExit(f"{what} {pipeline_id} answered {response.status_code}: {response.text[:500]}")


async def after(server: Server, token: str, kinds: list[str], wait: float) -> tuple[bool, dict[str, Counter] | str]:
    """Whether liveness answers within ``wait`` s, and the runaway runs as recorded."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as client:
        deadline = time.monotonic() + wait
        alive = False
        while not alive and time.monotonic() < deadline:
            try:
                alive = (await client.get(LIVENESS, timeout=max(0.1, deadline - time.monotonic()))).status_code == 200
            except httpx.HTTPError:
                await asyncio.sleep(0.2)
        return alive, (await recorded_runs(client, kinds) if alive else "the server did not answer")


def report(
    args: argparse.Namespace,
    idle: Probes,
    busy: tuple[Probes, Load],
    runaway: tuple[Probes, Load],
    runaways: list[Runaway],
    alive: bool,
    runs: dict[str, Counter] | str,
) -> bool:
    """Print the figures; returns whether every target is met."""
    loaded, load = runaway
    phases = (
        ("idle server (baseline)", idle, None, args.baseline),
        (f"{args.concurrency} hello triggers (baseline)", *busy, args.load_baseline),
        (f"{args.concurrency} hello triggers + runaways", loaded, load, args.duration),
    )
    print()
    print(f"Liveness, GET {LIVENESS} every {args.interval * 1000:.0f} ms (timeout {args.probe_timeout:g} s), ms:")
    print(f"  {'phase':<38}{'probes':>7}{'no answer':>10}{'p50':>9}{'p99':>9}{'max':>9}{'longest gap':>13}")
    for label, series, _, _ in phases:
        print(
            f"  {label:<38}{len(series.latencies):>7}{series.unanswered:>10}{series.ms(50):>9.1f}"
            f"{series.ms(99):>9.1f}{series.ms(100):>9.1f}{series.longest_gap * 1000:>13.0f}"
        )
    if any(series.unanswered for _, series, _, _ in phases):
        print(
            f"  (a probe without an answer counts as its timeout, {args.probe_timeout:g} s: those figures are lower bounds)"
        )
    print()
    print(f"hello triggers, {args.concurrency} connections (timeout {args.timeout:g} s):")
    print(f"  {'phase':<38}{'answered':>9}{'per s':>7}{'p50 ms':>9}{'p99 ms':>9}{'no answer':>10}{'failed':>8}")
    for label, _, hello, seconds in phases[1:]:
        print(
            f"  {label:<38}{len(hello.latencies):>9}{len(hello.latencies) / seconds:>7.0f}"
            f"{percentile(hello.latencies, 50) * 1000:>9.1f}{percentile(hello.latencies, 99) * 1000:>9.1f}"
            f"{hello.timeouts:>10}{hello.errors:>8}"
        )
    answered = len(load.latencies)
    print()
    print(f"Runaway triggers (maxRunSeconds {args.max_run_seconds}), as answered:")
    for (kind, mode, outcome), count in Counter((r.kind, r.mode, r.outcome) for r in runaways).items():
        seconds = [r.seconds for r in runaways if (r.kind, r.mode, r.outcome) == (kind, mode, outcome)]
        print(f"  {count:>3} x {kind:<8} {mode:<5} in {min(seconds):.1f}-{max(seconds):.1f} s: {outcome[:160]}")
    print("Runaway runs, as recorded (GET .../runs):")
    if isinstance(runs, str):
        print(f"  unknown: {runs}")
    else:
        for kind, counts in runs.items():
            for (status, error), count in counts.most_common():
                print(f"  {count:>3} x {kind:<8} {status:<22} {error or '(no error)'}")
    print()
    p99_ok = loaded.ms(99) < TARGET_P99_MS
    hello_ok = answered > 0 and load.timeouts == 0
    recorded = sum(runs.values(), Counter()) if isinstance(runs, dict) else Counter()
    ended_ok = bool(recorded) and all(
        status == "RUN_STATUS_FAILED" and ("maximum" in error.lower() or "limit" in error.lower())
        for status, error in recorded
    )
    verdicts = [
        (
            f"liveness p99 with runaways {'>= ' if loaded.unanswered else ''}{loaded.ms(99):.1f} ms "
            f"(idle {idle.ms(99):.1f}, without runaways {busy[0].ms(99):.1f})",
            f"< {TARGET_P99_MS:.0f} ms",
            p99_ok,
        ),
        (f"hello triggers complete: {answered} answered, {load.timeouts} unanswered", "none unanswered", hello_ok),
        (f"runaway runs ended FAILED naming the limit: {sum(recorded.values())} recorded", "all", ended_ok),
        ("server answers liveness after the load", "yes", alive),
    ]
    return print_verdicts(verdicts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=40.0, help="seconds under load (40)")
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds probing the idle server first (10)")
    parser.add_argument(
        "--load-baseline",
        type=float,
        default=15.0,
        help="seconds of hello triggers without runaways, second baseline (15)",
    )
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent hello trigger connections (16)")
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between liveness probes (0.02)")
    parser.add_argument("--max-run-seconds", type=int, default=2, help="the runaway pipelines' maxRunSeconds (2)")
    parser.add_argument(
        "--runaway", default="jq,iterator", help="runaway pipelines to trigger, comma-separated (jq,iterator)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds a trigger may go unanswered (a runaway: on top of maxRunSeconds) (10)",
    )
    parser.add_argument(
        "--probe-timeout", type=float, default=2.0, help="seconds a liveness probe may go unanswered (2)"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep-log", action="store_true", help="print the server's log path and keep it")
    args = parser.parse_args()
    args.runaway = [kind.strip() for kind in args.runaway.split(",") if kind.strip()]
    if not args.runaway or set(args.runaway) - set(RUNAWAYS):
        parser.error(f"--runaway takes a comma-separated list of {', '.join(RUNAWAYS)}")

    started = time.perf_counter()
    # The probe's own process, started (and its imports done) before anything is measured.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(time.sleep, 0).result()
        # grace 5: a server frozen in C code never handles SIGTERM; it is killed instead.
        with bench_server("pipeline-liveness-", keep_log=args.keep_log, grace=5) as server:
            token = server.create_token("liveness")
            asyncio.run(setup(server, token, args.runaway, args.max_run_seconds))
            print(f"  idle baseline: liveness alone for {args.baseline:g} s ...", flush=True)
            now = time.monotonic()
            idle = pool.submit(
                probe, "127.0.0.1", server.port, now, now + args.baseline, args.interval, args.probe_timeout
            ).result()
            print(
                f"  hello load baseline: {args.concurrency} hello connections for {args.load_baseline:g} s ...",
                flush=True,
            )
            busy, busy_load, _ = asyncio.run(under_load(args, server, token, pool, args.load_baseline, []))
            print(
                f"  under load: {args.concurrency} hello connections + runaway triggers ({', '.join(args.runaway)}) "
                f"for {args.duration:g} s ...",
                flush=True,
            )
            loaded, load, runaways = asyncio.run(under_load(args, server, token, pool, args.duration, args.runaway))
            print("  after: waiting for liveness and listing the runaway runs ...", flush=True)
            alive, runs = asyncio.run(after(server, token, args.runaway, wait=args.max_run_seconds + 5))
    met = report(args, idle, (busy, busy_load), (loaded, load), runaways, alive, runs)
    print(f"\nCPUs: {os.cpu_count()}; Python {sys.version.split()[0]}; total {time.perf_counter() - started:.0f} s")
    return 0 if met or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
