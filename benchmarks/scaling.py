"""The scaling curve of ``serve --workers N``: sync triggers of the demo ``hello`` per second
with N = 1 .. min(usable cores, 4) HTTP processes, on SQLite (WAL) and on PostgreSQL.

For each database and each N it starts ``manage.py serve --workers N --run-workers 0``
(a fresh data dir; PostgreSQL: one throw-away server from tests/scale/services.py,
shared by the rows, skipped with the reason when its binaries are missing), creates an
API token, warms up for 2 s, then drives ``POST
/v1beta/namespaces/admin/pipelines/hello/trigger`` with ``wrk`` (one thread,
max(16, 8·N) keep-alive connections, every answer checked) for ``--seconds``. Each row
prints req/s, latency, and how many cores serve's processes kept busy (their CPU time
over the run) with the rate per busy core: where the machine has no core to spare for
wrk or other work, that last figure shows whether N processes lose anything to each
other (locks, the one SQLite writer) rather than to a lack of cores. After the rows, a
summary gives each N's median, its speed-up over N = 1 of the same database and
whether it reaches issue #19's target of 0.8·N. ``--run-workers 0``: each process
executes its own triggers, so N counts the processes doing the work (a lone
``serve``'s default run worker is a second process; its figure is printed as a
reference row, ``1 + rw``).

wrk shares the machine with the servers: on a 2-core machine the N = 2 row has wrk
and two servers on two cores (the peer harness pins a server to one core and wrk to
the other; no such split exists for two servers). The load average before each row is
printed, because other work on the machine moves these figures.

    .venv/bin/python benchmarks/scaling.py [--seconds 8] [--reps 1] [--max-workers 4] [--only sqlite|postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from _server import Server, cpu_seconds  # noqa: E402

PATH = "/v1beta/namespaces/admin/pipelines/hello/trigger"
BODY = json.dumps({"data": [{"variable": {"prompt": "scale"}}]})
EXPECT = "Hello scale"
TARGET = 0.8  # of N times one process's rate

# wrk: POST the body, count answers that are not a 200 carrying EXPECT, print one JSON line.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
local expect = os.getenv("BENCH_EXPECT")
bad = 0
function response(status, headers, body)
  if status ~= 200 or not string.find(body or "", expect, 1, true) then bad = bad + 1 end
end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do b = b + (t:get("bad") or 0) end
  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"bad":%d,"errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, b,
    summary.errors.connect + summary.errors.read + summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class Row:
    database: str
    label: str
    workers: int
    connections: int
    rate: float
    p50_ms: float
    p99_ms: float
    bad: int
    load: float
    cores_busy: float  # CPU time of serve and its children per second of the run

    @property
    def per_core(self) -> float:
        return self.rate / self.cores_busy if self.cores_busy else 0.0


def wrk(base_url: str, token: str, *, connections: int, seconds: float, script: Path) -> dict:
    env = {**os.environ, "BENCH_BODY": BODY, "BENCH_TOKEN": token, "BENCH_EXPECT": EXPECT}
    done = subprocess.run(
        # A slow answer (a loaded machine) is waited for: only a wrong one or a socket error counts.
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s", "-s", str(script), base_url + PATH],
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line.removeprefix("BENCH_JSON "))
    raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")


def measure(
    database: str,
    label: str,
    workers: int,
    run_workers: int,
    env: dict[str, str],
    args,
    workdir: Path,
    script: Path,
    rep: int = 0,
) -> Row:
    name = f"{database}-{label}-{rep}".lower().replace(" + rw", "-rw")
    server = Server(
        data_dir=workdir / name,
        admin_password="bench-admin-password",
        log_path=workdir / f"{name}.log",
        env={
            "LOG_LEVEL": "WARNING",
            "DEBUG": "false",
            "PIPELINE_SERVE_WORKERS": str(workers),
            "PIPELINE_RUN_WORKERS": str(run_workers),
            **env,
        },
    )
    connections = max(16, 8 * workers)
    with server:
        token = server.create_token(f"scale-{name}"[:32])
        wrk(server.base_url, token, connections=connections, seconds=2, script=script)  # warm-up
        load = os.getloadavg()[0]
        pids = server.processes()
        cpu, started = cpu_seconds(pids), time.monotonic()
        result = wrk(server.base_url, token, connections=connections, seconds=args.seconds, script=script)
        cores_busy = (cpu_seconds(pids) - cpu) / (time.monotonic() - started)
    rate = result["requests"] / (result["duration_us"] / 1e6)
    return Row(
        database,
        label,
        workers,
        connections,
        rate,
        result["p50_us"] / 1000,
        result["p99_us"] / 1000,
        result["bad"] + result["errors"] + result["timeouts"],
        load,
        cores_busy,
    )


def curve(database: str, env: dict[str, str], args, workdir: Path, script: Path) -> list[Row]:
    """Every row ``args.reps`` times, odd repetitions in reverse order (drift in the
    machine's other load then favours no N); then the medians."""
    plan = [(str(n), n, 0) for n in range(1, args.max_workers + 1)]
    if not args.no_reference:
        plan.append((REFERENCE, 1, 1))
    rows = []
    for rep in range(args.reps):
        for label, workers, run_workers in plan if rep % 2 == 0 else plan[::-1]:
            rows.append(measure(database, label, workers, run_workers, env, args, workdir, script, rep))
            print_row(rows[-1])
    summary(rows, [label for label, _, _ in plan])
    return rows


REFERENCE = "1 + rw"


def print_row(row: Row) -> None:
    print(
        f"  {row.database:<10} N={row.label:<7} c={row.connections:<3} {row.rate:8.0f} req/s  "
        f"p50 {row.p50_ms:6.2f} ms  p99 {row.p99_ms:7.2f} ms  {row.cores_busy:4.2f} cores busy, "
        f"{row.per_core:5.0f} req/s per busy core  (load {row.load:.1f} before)"
        f"{'  ' + str(row.bad) + ' wrong answers or socket errors' if row.bad else ''}",
        flush=True,
    )


def summary(rows: list[Row], labels: list[str]) -> None:
    """Median req/s and req/s per busy core per N, the speed-up over N = 1, and the target."""
    medians = {
        label: (
            statistics.median(row.rate for row in rows if row.label == label),
            statistics.median(row.per_core for row in rows if row.label == label),
        )
        for label in labels
    }
    one_rate, one_per_core = medians["1"]
    reps = sum(row.label == "1" for row in rows)
    print(f"  {rows[0].database}, median of {reps}:")
    for label, (rate, per_core) in medians.items():
        workers = int(label.split()[0])
        if label == REFERENCE:
            verdict = "(a lone serve with its run worker)"
        elif workers == 1:
            verdict = ""
        else:
            verdict = f"target {TARGET * workers:.1f}x {'PASS' if rate >= TARGET * workers * one_rate else 'MISS'}"
        print(
            f"    N={label:<7} {rate:8.0f} req/s {rate / one_rate:5.2f}x of N=1  "
            f"{per_core:5.0f} req/s per busy core {per_core / one_per_core:5.2f}x of N=1  {verdict}",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per row (after 2 s of warm-up)")
    parser.add_argument(
        "--max-workers", type=int, default=min(cores, 4), help="largest N (default: usable cores, 4 at most)"
    )
    parser.add_argument("--only", choices=("sqlite", "postgres"), help="one database only")
    parser.add_argument("--no-reference", action="store_true", help="skip the lone-serve-with-run-worker row")
    parser.add_argument("--reps", type=int, default=1, help="repetitions, alternating the order of the rows (medians)")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is not installed (Debian: apt-get install wrk); nothing measured.")
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="pipeline-scaling-"))
    script = workdir / "post.lua"
    script.write_text(WRK_SCRIPT)
    print(f"serve --workers N, c = max(16, 8·N), {args.seconds:g} s per row, {cores} usable cores")
    bad = 0
    try:
        if args.only in (None, "sqlite"):
            bad += sum(row.bad for row in curve("SQLite", {}, args, workdir, script))
        if args.only in (None, "postgres"):
            bad += postgres_curve(args, workdir, script)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if bad else 0


def postgres_curve(args, workdir: Path, script: Path) -> int:
    from tests.scale.services import ServiceUnavailable, start_postgres

    try:
        postgres = start_postgres()
    except ServiceUnavailable as exc:
        print(f"  PostgreSQL  skipped: {exc}")
        return 0
    try:
        env = {"DATABASE_URL": postgres.url(), "SECRET_KEY": "bench-scaling-" + "k" * 40}
        return sum(row.bad for row in curve("PostgreSQL", env, args, workdir, script))
    finally:
        postgres.stop()


if __name__ == "__main__":
    sys.exit(main())
