"""Benchmark a streamed trigger (server-sent events) against the sync answer.

Starts ``manage.py serve`` as ``trigger.py`` does (fresh data dir, real subprocess,
loopback port), creates an API token, then, against that one server, at concurrency 1
and after a warm-up, alternates two kinds of ``POST .../pipelines/hello/trigger``:

* **sync**: ``Accept: application/json``; the time until the whole answer is read;
* **stream**: ``Accept: text/event-stream``; the time until the first byte of the SSE
  body (the first event's frame, not the response head) and until the stream ends.

It prints p50 and p99 of each and the target of issue #19: the first SSE byte's p50
within 0.5 ms of the sync answer's p50 (PASS/MISS). Every sync answer must hold
``Hello user``; every stream must end with ``PIPELINE_STATUS_UPDATED`` and completed.

    .venv/bin/python benchmarks/stream.py [--requests 500] [--server daphne] [--root OTHER-CHECKOUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import ROOT, bench_server, percentile, print_verdicts  # noqa: E402
from trigger import HELLO_BODY, HELLO_PATH, BadResponse, read_chunks, read_head, read_response  # noqa: E402

TARGET_MS = 0.5


def request_bytes(host: str, token: str, accept: str) -> bytes:
    lines = [
        f"POST {HELLO_PATH} HTTP/1.1",
        f"Host: {host}",
        f"Accept: {accept}",
        f"Authorization: Bearer {token}",
        "Content-Type: application/json",
        f"Content-Length: {len(HELLO_BODY)}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + HELLO_BODY


async def read_stream(reader: asyncio.StreamReader, started: float) -> tuple[float, float, bytes]:
    """Read one chunked SSE response; (seconds to its first body byte, to its end, body)."""
    status, headers = await read_head(reader)
    if status != 200:
        raise BadResponse(f"status {status}")
    if headers.get("transfer-encoding", "").lower() != "chunked":
        raise BadResponse("a stream without chunked encoding")
    first = None
    parts = []
    async for chunk in read_chunks(reader):
        if first is None:
            first = time.perf_counter() - started
        parts.append(chunk)
    if headers.get("connection", "").lower() == "close":
        raise BadResponse("server closed the keep-alive connection")
    return first if first is not None else float("nan"), time.perf_counter() - started, b"".join(parts)


def stream_complete(body: bytes) -> bool:
    """Whether the SSE body ends with the completed pipeline status, as API.md says."""
    frames = [f for f in body.decode().split("\n\n") if f.strip()]
    if not frames or not frames[0].startswith("id: 1\nevent: PIPELINE_STATUS_UPDATED\n"):
        return False
    last = dict(line.split(": ", 1) for line in frames[-1].splitlines())
    return last["event"] == "PIPELINE_STATUS_UPDATED" and json.loads(last["data"])["status"]["completed"] is True


async def run(base_url: str, token: str, *, requests: int, warmup: int) -> dict[str, list[float]]:
    host, port = base_url.removeprefix("http://").split(":")
    sync_request = request_bytes(f"{host}:{port}", token, "application/json")
    stream_request = request_bytes(f"{host}:{port}", token, "text/event-stream")
    times: dict[str, list[float]] = {"sync": [], "first": [], "whole": []}
    errors = 0
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        for index in range(warmup + requests):
            measured = index >= warmup
            # Alternate which goes first, so neither always follows the other.
            for kind in ("sync", "stream") if index % 2 else ("stream", "sync"):
                started = time.perf_counter()
                if kind == "sync":
                    writer.write(sync_request)
                    status, body = await read_response(reader)
                    elapsed = time.perf_counter() - started
                    if status != 200 or b"Hello user" not in body:
                        errors += 1
                    elif measured:
                        times["sync"].append(elapsed)
                else:
                    writer.write(stream_request)
                    first, whole, body = await read_stream(reader, started)
                    if not stream_complete(body):
                        errors += 1
                    elif measured:
                        times["first"].append(first)
                        times["whole"].append(whole)
    finally:
        writer.close()
    if errors:
        raise SystemExit(f"{errors} answer(s) were wrong: the figures would be suspect")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="measured pairs (sync + stream) at c=1 (500)")
    parser.add_argument("--warmup", type=int, default=50, help="warm-up pairs (50)")
    parser.add_argument("--server", choices=["uvicorn", "daphne"], help="serve's ASGI server (default: serve's)")
    parser.add_argument("--keep-log", action="store_true", help="keep the server's log and print its path")
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the checkout whose manage.py serve to measure (before/after figures)"
    )
    args = parser.parse_args()

    with bench_server(
        "pipeline-bench-stream-", keep_log=args.keep_log, asgi_server=args.server, root=args.root
    ) as server:
        token = server.create_token("bench")
        print(f"  {args.warmup} + {args.requests} pairs of sync and streamed triggers at c=1 ...", flush=True)
        times = asyncio.run(run(server.base_url, token, requests=args.requests, warmup=args.warmup))

    print()
    print(f"{'POST .../hello/trigger, c=1':<36}{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}{'mean ms':>9}")
    for key, label in (
        ("sync", "sync: whole answer"),
        ("first", "stream: first SSE byte"),
        ("whole", "stream: whole stream"),
    ):
        values = times[key]
        print(
            f"  {label:<34}{percentile(values, 50) * 1000:>8.2f}{percentile(values, 90) * 1000:>8.2f}"
            f"{percentile(values, 99) * 1000:>8.2f}{statistics.fmean(values) * 1000:>9.2f}"
        )
    gap = (percentile(times["first"], 50) - percentile(times["sync"], 50)) * 1000
    print()
    print_verdicts([(f"first SSE byte p50 - sync p50 = {gap:.2f} ms", f"<= {TARGET_MS} ms", gap <= TARGET_MS)])
    print(f"\nCPUs: {os.cpu_count()}; Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
