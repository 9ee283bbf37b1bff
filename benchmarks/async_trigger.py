"""Benchmark async triggers of the demo ``hello`` pipeline: one machine vs scale-out.

For each configuration it starts everything itself, enqueues N (default 1,000)
``POST /v1beta/namespaces/admin/pipelines/hello/trigger-async`` from C concurrent
keep-alive connections, and measures the time until every operation is done:

* ``inprocess``: ``manage.py serve`` (SQLite, in-process executor, default settings);
* ``celery``: throw-away PostgreSQL and Redis (tests/scale/services.py), ``manage.py
  serve`` with ``PIPELINE_EXECUTOR=celery`` + ``DATABASE_URL`` + ``REDIS_URL``, and one
  ``celery -A instill_site worker --concurrency 2`` (two worker processes).

"Done" is watched in the database (a count of terminal runs, polled every 50 ms; the
server is not loaded with 1,000 pollers); afterwards every operation is fetched once
through ``GET /v1beta/operations/{uid}`` and checked (done, right answer), outside the
timing. Prints a table.

The celery row also reports how many PostgreSQL connections are open at the end: the
server's database work runs on a bounded thread pool (``PIPELINE_DB_THREADS``), so this
stays small; a per-request thread would leak one persistent connection each.

    .venv/bin/python benchmarks/async_trigger.py [--runs 1000] [--concurrency 16] [--only celery] [--root OTHER-CHECKOUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from _server import Server, cpu_seconds, print_verdicts  # noqa: E402

from tests.scale.services import (  # noqa: E402
    ServiceUnavailable,
    start_celery_worker,
    start_postgres,
    start_redis,
    stop_celery_worker,
)

PATH = "/v1beta/namespaces/admin/pipelines/hello/trigger-async"
TERMINAL = ("RUN_STATUS_COMPLETED", "RUN_STATUS_FAILED", "RUN_STATUS_CANCELLED")
# Issue #19: 1,000 async triggers enqueued and drained in-process at this rate or more.
INPROCESS_TARGET = 200
COUNT_SQL = "SELECT count(*) FROM pipelines_pipelinerun WHERE status IN ('RUN_STATUS_COMPLETED', 'RUN_STATUS_FAILED', 'RUN_STATUS_CANCELLED')"


@dataclass
class Result:
    name: str
    runs: int
    enqueue_s: float
    done_s: float
    completed: int
    note: str = ""
    client_cpu: float = 0.0  # seconds of this process's CPU while enqueuing
    server_cpu: float = 0.0  # seconds of serve's CPU (with the processes it started) until all are done

    @property
    def enqueue_rate(self) -> float:
        return self.runs / self.enqueue_s

    @property
    def rate(self) -> float:
        return self.runs / self.done_s


async def enqueue(base_url: str, token: str, runs: int, concurrency: int) -> list[str]:
    """POST ``runs`` async triggers from ``concurrency`` keep-alive connections."""
    names: list[str | None] = [None] * runs
    counter = iter(range(runs))
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=60.0) as client:

        async def worker() -> None:
            for index in counter:
                body = {"data": [{"variable": {"prompt": f"user {index}"}}]}
                response = await client.post(PATH, json=body)
                if response.status_code != 200:
                    raise RuntimeError(f"trigger-async answered {response.status_code}: {response.text[:300]}")
                names[index] = response.json()["operation"]["name"]

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return [n for n in names if n]


async def verify(base_url: str, token: str, names: list[str], concurrency: int) -> int:
    """Fetch every operation once; returns how many completed with the right answer."""
    ok = 0
    queue = iter(enumerate(names))
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60.0) as client:

        async def worker() -> None:
            nonlocal ok
            for index, name in queue:
                operation = (await client.get(f"/v1beta/{name}")).json()["operation"]
                if not operation["done"]:
                    raise RuntimeError(f"{name} is not done although its run is terminal")
                if operation.get("response", {}).get("outputs") == [{"answer": f"Hello user {index}"}]:
                    ok += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok


def wait_done(count, runs: int, started: float, timeout: float) -> float:
    while True:
        if count() >= runs:
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"only {count()} of {runs} runs done after {timeout:.0f} s")
        time.sleep(0.05)


def measure(name: str, server: Server, count, runs: int, concurrency: int, timeout: float, note: str) -> Result:
    token = server.create_token(f"bench-{name}")
    # Warm-up (imports, connections, first-run costs), not timed; cleared from the count.
    warm = asyncio.run(enqueue(server.base_url, token, 8, 4))
    baseline_started = time.perf_counter()
    wait_done(count, len(warm), baseline_started, timeout)
    offset = count()
    started, cpu, serve_cpu = time.perf_counter(), time.process_time(), cpu_seconds(server.processes())
    names = asyncio.run(enqueue(server.base_url, token, runs, concurrency))
    enqueue_s, client_cpu = time.perf_counter() - started, time.process_time() - cpu
    done_s = wait_done(lambda: count() - offset, runs, started, timeout)
    serve_cpu = cpu_seconds(server.processes()) - serve_cpu
    completed = asyncio.run(verify(server.base_url, token, names, concurrency))
    return Result(name, runs, enqueue_s, done_s, completed, note, client_cpu, serve_cpu)


def run_inprocess(runs: int, concurrency: int, timeout: float, workdir: Path, root: Path = ROOT) -> Result:
    data = workdir / "inprocess"
    server = Server(
        data_dir=data,
        admin_password="bench-password",
        log_path=workdir / "inprocess-serve.log",
        env={"PIPELINE_EXECUTOR": "inprocess", "LOG_LEVEL": "WARNING"},
        root=root,
    )
    with server:
        db = sqlite3.connect(f"file:{data / 'pipeline.sqlite3'}?mode=ro", uri=True, timeout=20)
        try:
            return measure(
                "inprocess",
                server,
                lambda: db.execute(COUNT_SQL).fetchone()[0],
                runs,
                concurrency,
                timeout,
                "SQLite, 1 serve process, in-process pool",
            )
        finally:
            db.close()


def run_celery(runs: int, concurrency: int, timeout: float, workdir: Path, workers: int, root: Path = ROOT) -> Result:
    import psycopg

    redis = start_redis()
    postgres = None
    worker = None
    try:
        postgres = start_postgres()
        env = {
            "PIPELINE_EXECUTOR": "celery",
            "DATABASE_URL": postgres.url(),
            "REDIS_URL": redis.url,
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": "bench-" + "k" * 40,
        }
        note = f"PostgreSQL + Redis, 1 serve process, {workers} Celery worker processes"
        server = Server(
            data_dir=workdir / "celery",
            admin_password="bench-password",
            log_path=workdir / "celery-serve.log",
            env=env,
            root=root,
        )
        with server:  # serve migrates the database: start the workers after it
            worker_env = {
                **os.environ,
                **env,
                "PIPELINE_DATA_DIR": str(workdir / "celery"),
                "DJANGO_SETTINGS_MODULE": "instill_site.settings",
            }
            worker = start_celery_worker(
                worker_env, concurrency=workers, log=workdir / "celery-worker.log", name="bench", cwd=root
            )
            with psycopg.connect(postgres.url(), autocommit=True) as db:
                result = measure(
                    "celery", server, lambda: db.execute(COUNT_SQL).fetchone()[0], runs, concurrency, timeout, note
                )
                open_connections = db.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                ).fetchone()[0]
                result.note += f"; {open_connections} PostgreSQL connections open at the end"
                return result
    finally:
        if worker is not None:
            stop_celery_worker(worker)
        if postgres is not None:
            postgres.stop()
        redis.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent client connections enqueuing")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (prefork concurrency)")
    parser.add_argument("--only", choices=("inprocess", "celery"))
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the checkout whose manage.py serve to measure (before/after figures)"
    )
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="pipeline-bench-async-"))
    results: list[Result] = []
    keep = False
    try:
        if args.only in (None, "inprocess"):
            results.append(run_inprocess(args.runs, args.concurrency, args.timeout, workdir, args.root))
        if args.only in (None, "celery"):
            try:
                results.append(run_celery(args.runs, args.concurrency, args.timeout, workdir, args.workers, args.root))
            except ServiceUnavailable as exc:
                print(f"celery: skipped: {exc}", file=sys.stderr)
    except Exception:
        keep = True
        print(f"benchmark failed; logs kept in {workdir}", file=sys.stderr)
        raise
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n{args.runs} async triggers of admin/hello, {args.concurrency} client connections\n")
    header = (
        f"{'executor':<10} {'enqueue s':>9} {'enqueue/s':>9} {'all done s':>10} {'triggers/s':>10} {'ok':>6}"
        f" {'client CPU':>10} {'serve ms CPU/trigger':>20}  setup"
    )
    print(header)
    print("-" * len(header) + "-" * 40)
    for r in results:
        print(
            f"{r.name:<10} {r.enqueue_s:>9.2f} {r.enqueue_rate:>9.0f} {r.done_s:>10.2f} {r.rate:>10.0f} {r.completed:>6}"
            f" {100 * r.client_cpu / r.enqueue_s:>9.0f}% {1000 * r.server_cpu / r.runs:>20.2f}  {r.note}"
        )
    inprocess = [r for r in results if r.name == "inprocess"]
    if inprocess:
        print()
        rate = inprocess[0].rate
        print_verdicts(
            [
                (
                    f"in-process: {rate:.0f} triggers/s enqueued and done",
                    f">= {INPROCESS_TARGET}/s",
                    rate >= INPROCESS_TARGET,
                )
            ]
        )
    if args.json:
        print(json.dumps([{**r.__dict__, "triggers_per_s": r.rate, "enqueue_per_s": r.enqueue_rate} for r in results]))
    return 0 if all(r.completed == r.runs for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
