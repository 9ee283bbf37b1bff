"""Resident memory of ``serve`` after 1,000 triggers and after 100,000.

Starts ``manage.py serve`` as the other benchmarks do (fresh data dir, SQLite, its
defaults, loopback port), creates an API token, and sends ``hello`` triggers from
``--concurrency`` keep-alive connections (the raw asyncio client of ``trigger.py``).
After the first ``--baseline`` triggers (1,000) and a settle, it reads the resident
memory (VmRSS) of ``serve`` and of every process it started; then it goes on to
``--triggers`` (100,000), reading the same every ``--every`` triggers, and once more
after a settle at the end. Every answer must carry ``Hello <prompt>``; the run history
must then hold one run per trigger.

Target (issue #19): the RSS after 100,000 triggers within 10 % of the RSS after 1,000.

    .venv/bin/python benchmarks/rss_growth.py [--triggers 100000] [--baseline 1000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import Server, bench_server, print_verdicts, process_tree, rss_kb  # noqa: E402
from trigger import HELLO_BODY, HELLO_PATH, Endpoint, run_asyncio  # noqa: E402

GROWTH_TARGET = 0.10
SETTLE_SECONDS = 2.0


def tree_rss_kb(server: Server) -> tuple[int, int]:
    """(RSS in kB summed over serve and what it started, number of processes)."""
    assert server.process is not None
    pids = process_tree(server.process.pid)
    return sum(rss_kb(pid) for pid in pids), len(pids)


def send(server: Server, endpoint: Endpoint, count: int, concurrency: int) -> tuple[float, int]:
    """Send ``count`` triggers; (requests per second, errors)."""
    series = asyncio.run(run_asyncio(server.base_url, endpoint, requests=count, concurrency=concurrency))
    return series.throughput, series.errors


def runs_recorded(server: Server) -> int:
    """Runs in the server's SQLite database (read-only, while it serves)."""
    database = server.data_dir / "pipeline.sqlite3"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return connection.execute("SELECT COUNT(*) FROM pipelines_pipelinerun").fetchone()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=100_000, help="triggers in all (default 100,000)")
    parser.add_argument("--baseline", type=int, default=1_000, help="triggers before the baseline reading (1,000)")
    parser.add_argument("--every", type=int, default=10_000, help="read the memory every N triggers (10,000)")
    parser.add_argument("--concurrency", type=int, default=16, help="connections sending at once (default 16)")
    parser.add_argument("--server", choices=["uvicorn", "daphne"], help="serve's ASGI server (default: serve's)")
    args = parser.parse_args()
    if not 0 < args.baseline < args.triggers:
        parser.error("--baseline must be positive and below --triggers")

    with bench_server("rss-growth-", asgi_server=args.server) as server:
        token = server.create_token("bench")
        endpoint = Endpoint("trigger", "POST", HELLO_PATH, HELLO_BODY, token, b"Hello user")
        errors = 0
        rate, failed = send(server, endpoint, args.baseline, args.concurrency)
        errors += failed
        time.sleep(SETTLE_SECONDS)
        base_kb, base_procs = tree_rss_kb(server)
        print(f"\n  {'triggers':>9}  {'RSS MB':>8}  {'processes':>9}  {'req/s':>7}  {'vs baseline':>11}")
        print(f"  {args.baseline:>9,}  {base_kb / 1024:>8.1f}  {base_procs:>9}  {rate:>7.0f}  {'':>11}", flush=True)
        sent = args.baseline
        while sent < args.triggers:
            step = min(args.every - sent % args.every, args.triggers - sent)
            rate, failed = send(server, endpoint, step, args.concurrency)
            errors += failed
            sent += step
            if sent == args.triggers:
                time.sleep(SETTLE_SECONDS)
            now_kb, procs = tree_rss_kb(server)
            change = (now_kb - base_kb) / base_kb
            print(f"  {sent:>9,}  {now_kb / 1024:>8.1f}  {procs:>9}  {rate:>7.0f}  {change:>+10.1%}", flush=True)
        final_kb, _ = tree_rss_kb(server)
        recorded = runs_recorded(server)

    growth = (final_kb - base_kb) / base_kb
    print(f"\n  errors: {errors}; runs recorded: {recorded:,} of {args.triggers:,} triggers")
    met = print_verdicts(
        [
            (
                f"RSS after {args.triggers:,} triggers {final_kb / 1024:.1f} MB, "
                f"after {args.baseline:,} {base_kb / 1024:.1f} MB ({growth:+.1%})",
                f"within {GROWTH_TARGET:.0%}",
                abs(growth) <= GROWTH_TARGET,
            ),
            (f"runs recorded {recorded:,}", f"= {args.triggers:,} triggers", recorded == args.triggers),
        ]
    )
    return 0 if met and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
