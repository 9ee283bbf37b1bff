"""Benchmark the sync trigger of the demo ``hello`` pipeline against the bare view.

Starts ``manage.py serve`` exactly as the end-to-end tests do (fresh data dir, real
subprocess, loopback port), creates an API token, then measures, against that one
server and in one run:

* latency (p50, p90, p99) at concurrency 1, and
* throughput (requests/s) at concurrency 16,

of ``POST /v1beta/namespaces/admin/pipelines/hello/trigger`` and of the bare async view
``GET /v1beta/__liveness`` (same server, middleware and event loop, no auth, no
database, no engine). Their difference is what a trigger costs on top of serving any
request at all. Run it with ``make bench`` (or ``.venv/bin/python benchmarks/trigger.py
--help``).

The default client is a small HTTP/1.1 keep-alive client on raw asyncio streams (one
connection per concurrent worker); it reports its own CPU use so you can see it is not
the bottleneck. ``--client hey`` uses the ``hey`` load generator instead, when
installed (``apt-get install hey``).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import Server, percentile  # noqa: E402

HELLO_PATH = "/v1beta/namespaces/admin/pipelines/hello/trigger"
HELLO_BODY = json.dumps({"data": [{"variable": {"prompt": "user"}}]}).encode()
BARE_PATH = "/v1beta/__liveness"

LATENCY_TARGET_MS = 2.0
THROUGHPUT_TARGET = 0.70


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    body: bytes = b""
    token: str = ""
    expect: bytes = b""

    def request_bytes(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}", "Accept: application/json"]
        if self.token:
            lines.append(f"Authorization: Bearer {self.token}")
        if self.method == "POST":
            lines += ["Content-Type: application/json", f"Content-Length: {len(self.body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class Series:
    latencies: list[float]  # seconds, one per request
    wall: float  # seconds for the whole series
    errors: int
    client_cpu: float  # seconds of this process's CPU during the series

    @property
    def count(self) -> int:
        return len(self.latencies)

    def pct(self, p: float) -> float:
        """The p-th percentile latency in milliseconds (nearest rank)."""
        return percentile(self.latencies, p) * 1000

    @property
    def throughput(self) -> float:
        return self.count / self.wall if self.wall else 0.0


# --- the asyncio client -----------------------------------------------------------------


class BadResponse(Exception):
    pass


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """The status and the headers (lower-case names) of a response."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    return int(status_line.split(" ", 2)[1]), headers


async def read_chunks(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """The chunks of a chunked body, each as soon as it has come."""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return
        chunk = await reader.readexactly(size)
        await reader.readexactly(2)
        yield chunk


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    status, headers = await read_head(reader)
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = b"".join([chunk async for chunk in read_chunks(reader)])
    else:
        raise BadResponse("response without Content-Length or chunked encoding")
    if headers.get("connection", "").lower() == "close":
        raise BadResponse("server closed the keep-alive connection")
    return status, body


async def worker(host: str, port: int, request: bytes, jobs: list[int], latencies: list[float], expect: bytes) -> int:
    errors = 0
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while jobs:
            jobs.pop()
            started = time.perf_counter()
            writer.write(request)
            try:
                status, body = await read_response(reader)
            except (BadResponse, asyncio.IncompleteReadError, ConnectionError):
                errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            latencies.append(time.perf_counter() - started)
            if status != 200 or (expect and expect not in body):
                errors += 1
    finally:
        writer.close()
    return errors


async def run_asyncio(base_url: str, endpoint: Endpoint, *, requests: int, concurrency: int) -> Series:
    host, port = base_url.removeprefix("http://").split(":")
    request = endpoint.request_bytes(f"{host}:{port}")
    jobs = list(range(requests))
    latencies: list[float] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    errors = await asyncio.gather(
        *(worker(host, int(port), request, jobs, latencies, endpoint.expect) for _ in range(concurrency))
    )
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return Series(latencies=latencies, wall=wall, errors=sum(errors), client_cpu=cpu)


# --- the hey client ---------------------------------------------------------------------


def run_hey(base_url: str, endpoint: Endpoint, *, requests: int, concurrency: int) -> Series:
    command = ["hey", "-n", str(requests), "-c", str(concurrency), "-m", endpoint.method, "-o", "csv"]
    if endpoint.token:
        command += ["-H", f"Authorization: Bearer {endpoint.token}"]
    if endpoint.method == "POST":
        command += ["-T", "application/json", "-d", endpoint.body.decode()]
    started = time.perf_counter()
    result = subprocess.run([*command, base_url + endpoint.path], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    latencies = [float(row["response-time"]) for row in rows]
    # hey sends n // c requests per worker, so n is rounded down to a multiple of c.
    errors = sum(row["status-code"] != "200" for row in rows) + (requests - requests % concurrency - len(rows))
    # hey's offsets are relative to its own start: the span excludes process start-up.
    span = max(float(row["offset"]) + float(row["response-time"]) for row in rows) if rows else wall
    return Series(latencies=latencies, wall=span, errors=errors, client_cpu=float("nan"))


# --- the run ----------------------------------------------------------------------------


def measure(client: str, base_url: str, endpoint: Endpoint, *, requests: int, concurrency: int) -> Series:
    if client == "hey":
        return run_hey(base_url, endpoint, requests=requests, concurrency=concurrency)
    return asyncio.run(run_asyncio(base_url, endpoint, requests=requests, concurrency=concurrency))


def report(args: argparse.Namespace, results: dict[tuple[str, str], Series]) -> tuple[bool, bool]:
    """Print the tables; returns (targets met, no errors)."""
    bare_lat, trig_lat = results[("bare", "latency")], results[("trigger", "latency")]
    bare_tp, trig_tp = results[("bare", "throughput")], results[("trigger", "throughput")]

    print()
    print(f"Latency at concurrency 1 ({args.requests} requests after {args.warmup} warm-up), ms:")
    print(f"  {'endpoint':<34}{'p50':>8}{'p90':>8}{'p99':>8}{'mean':>8}{'errors':>8}")
    for _name, series, label in (
        ("bare", bare_lat, f"GET {BARE_PATH}"),
        ("trigger", trig_lat, "POST .../hello/trigger"),
    ):
        mean = statistics.fmean(series.latencies) * 1000
        print(
            f"  {label:<34}{series.pct(50):>8.2f}{series.pct(90):>8.2f}{series.pct(99):>8.2f}{mean:>8.2f}{series.errors:>8}"
        )
    print()
    print(f"Throughput at concurrency {args.concurrency} ({args.throughput_requests} requests):")
    print(f"  {'endpoint':<34}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}{'client CPU':>12}")
    for series, label in ((bare_tp, f"GET {BARE_PATH}"), (trig_tp, "POST .../hello/trigger")):
        cpu = "n/a" if series.client_cpu != series.client_cpu else f"{100 * series.client_cpu / series.wall:.0f}%"
        print(
            f"  {label:<34}{series.throughput:>10.1f}{series.pct(50):>9.2f}{series.pct(99):>9.2f}{series.pct(100):>9.2f}"
            f"{series.errors:>8}{cpu:>12}"
        )

    overhead = trig_lat.pct(50) - bare_lat.pct(50)
    ratio = trig_tp.throughput / bare_tp.throughput if bare_tp.throughput else 0.0
    latency_ok = overhead <= LATENCY_TARGET_MS
    throughput_ok = ratio >= THROUGHPUT_TARGET
    errors = sum(series.errors for series in results.values())
    print()
    print("Trigger against bare view:")
    print(
        f"  p50 overhead     {overhead:>8.2f} ms   target <= {LATENCY_TARGET_MS:.0f} ms   "
        f"{'PASS' if latency_ok else 'MISS'}"
    )
    print(
        f"  throughput ratio {100 * ratio:>8.1f} %    target >= {100 * THROUGHPUT_TARGET:.0f} %    "
        f"{'PASS' if throughput_ok else 'MISS'}"
    )
    if errors:
        print(f"  {errors} request(s) failed (non-200 or unexpected body): the figures above are suspect.")
    return latency_ok and throughput_ok, errors == 0


def ran_in_a_run_worker(server: Server) -> bool:
    """Whether a run in the server's history was executed by a process other than serve."""
    with sqlite3.connect(server.data_dir / "pipeline.sqlite3") as db:
        workers = {row[0] for row in db.execute("SELECT DISTINCT worker FROM pipelines_pipelinerun")}
    return any(not worker.endswith(f":{server.process.pid}") for worker in workers)


def warm_up_run_worker(args: argparse.Namespace, server: Server, endpoint: Endpoint, warm: Series) -> Series:
    """More warm-up until serve's run worker runs triggers: serve starts it the first time
    it is busy (the warm-up above), and it takes about half a second to be ready. The
    measured series is the steady state, with the worker, as before it started on demand."""
    if os.environ.get("PIPELINE_RUN_WORKERS", "1").strip() == "0":
        return warm
    deadline = time.monotonic() + 30
    while not warm.errors and not ran_in_a_run_worker(server) and time.monotonic() < deadline:
        warm = measure(args.client, server.base_url, endpoint, requests=args.warmup, concurrency=args.concurrency)
    return warm


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="measured requests at concurrency 1 (500)")
    parser.add_argument("--warmup", type=int, default=50, help="warm-up requests before each series (50)")
    parser.add_argument("--throughput-requests", type=int, default=3000, help="requests at --concurrency (3000)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrency for throughput (16)")
    parser.add_argument("--client", choices=["asyncio", "hey"], default="asyncio", help="load generator (asyncio)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed, not only on errors")
    parser.add_argument("--keep-log", action="store_true", help="print the server's log path and keep it")
    parser.add_argument("--server", choices=["uvicorn", "daphne"], help="serve's ASGI server (default: serve's)")
    args = parser.parse_args()
    if args.client == "hey" and not shutil.which("hey"):
        parser.error("--client hey needs the hey load generator: apt-get install hey")

    workdir = Path(tempfile.mkdtemp(prefix="pipeline-bench-"))
    server = Server(
        data_dir=workdir / "data",
        admin_password="bench-admin-password",
        log_path=workdir / "server.log",
        env={"LOG_LEVEL": "WARNING", "DEBUG": "false"},
        server=args.server,
    )
    shown = f" --server {args.server}" if args.server else ""
    print(f"Starting manage.py serve{shown} on {server.base_url} (data in {workdir}) ...", flush=True)
    started = time.perf_counter()
    try:
        server.start(timeout=60)
        token = server.create_token("bench")
        endpoints = {
            "bare": Endpoint("bare", "GET", BARE_PATH, expect=b"SERVING_STATUS_SERVING"),
            "trigger": Endpoint("trigger", "POST", HELLO_PATH, HELLO_BODY, token, expect=b"Hello user"),
        }
        results: dict[tuple[str, str], Series] = {}
        for phase, requests, concurrency in (
            ("latency", args.requests, 1),
            ("throughput", args.throughput_requests, args.concurrency),
        ):
            for name, endpoint in endpoints.items():
                print(f"  {phase:<10} {name:<8} c={concurrency:<3} n={requests} ...", end=" ", flush=True)
                warm = measure(args.client, server.base_url, endpoint, requests=args.warmup, concurrency=concurrency)
                if name == "trigger" and concurrency > 1:
                    warm = warm_up_run_worker(args, server, endpoint, warm)
                if warm.errors:
                    print(f"\nwarm-up of {endpoint.method} {endpoint.path} failed {warm.errors} time(s); server log:")
                    print(server.output()[-4000:])
                    return 1
                series = measure(args.client, server.base_url, endpoint, requests=requests, concurrency=concurrency)
                results[(name, phase)] = series
                print(f"{series.wall:.1f} s", flush=True)
    finally:
        server.stop()
        if args.keep_log:
            print(f"Server log: {server.log_path}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    targets_met, no_errors = report(args, results)
    print(
        f"\nclient: {args.client}; CPUs: {os.cpu_count()}; Python {sys.version.split()[0]}; "
        f"total {time.perf_counter() - started:.0f} s"
    )
    return 0 if no_errors and (targets_met or not args.strict) else 1


if __name__ == "__main__":
    sys.exit(main())
