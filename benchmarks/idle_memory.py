"""Resident memory of a started ``manage.py serve``: at idle, after the first trigger,
once its run worker has started, and after 1,000 more triggers.

Starts a real ``serve`` (one run worker, the default) and reads VmRSS and PSS of serve
and of each process it started from ``/proc``, four times: at idle (serve alone: its run
worker starts the first time serve has two sync triggers at once); after the first
``hello`` trigger (its jq filter provably ends, so it runs in serve and no task process
starts; a filter that needs one starts their zygote and a worker forked from it); after
a burst of concurrent triggers, idle again (the run worker has started); and after
``--triggers`` more ``hello`` triggers. Target: serve plus its run worker under 150 MB RSS at idle.
It also prints how long serve took to answer its first request (a fresh data dir:
migrations and the demo pipelines included).

RSS counts pages shared between processes in each of them (a task process forked from
the zygote shares the zygote's imports copy-on-write); PSS splits shared pages between
the processes sharing them, so the PSS column adds up to what the tree really holds.

    .venv/bin/python benchmarks/idle_memory.py [--triggers 1000] [--server uvicorn|daphne]
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._server import Server, bench_server, print_verdicts, process_tree, rss_kb  # noqa: E402

IDLE_TARGET_MB = 150
HELLO = "/v1beta/namespaces/admin/pipelines/hello/trigger"
SETTLE_SECONDS = 2.0  # after start or a burst: late imports, freed buffers, gc
BURST = 16  # concurrent triggers that make serve busy, which starts its run worker


def pss_kb(pid: int) -> int:
    """Proportional set size of a live process, in kB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def role(pid: int, serve_pid: int) -> str:
    """What a process of serve's tree is, from its command line."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return "gone"
    text = b" ".join(argv).decode(errors="replace")
    if pid == serve_pid:
        return "serve"
    if "run_worker" in text:
        return "run worker"
    if "_zygote_main" in text:
        # A zygote's forks keep its command line. Serve and each run worker that ran a
        # task-process task have a pool (and a zygote) of their own.
        parent = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
        if "_zygote_main" in Path(f"/proc/{parent}/cmdline").read_text(errors="replace"):
            return "task process"
        return f"task zygote ({role(parent, serve_pid)})"
    return "other"


def snapshot(server: Server) -> list[tuple[str, int, int, int]]:
    """(role, pid, RSS kB, PSS kB) for serve and every live process it started."""
    serve_pid = server.process.pid
    return [(role(pid, serve_pid), pid, rss_kb(pid), pss_kb(pid)) for pid in process_tree(serve_pid)]


def core_rss_kb(rows: list[tuple[str, int, int, int]]) -> int:
    """RSS of serve plus its run worker(s), those it has started."""
    return sum(rss for name, _, rss, _ in rows if name in ("serve", "run worker"))


def show(title: str, rows: list[tuple[str, int, int, int]]) -> None:
    print(f"\n{title}")
    print(f"  {'process':<26}{'pid':>8}{'RSS MB':>10}{'PSS MB':>10}")
    for name, pid, rss, pss in rows:
        print(f"  {name:<26}{pid:>8}{rss / 1024:>10.1f}{pss / 1024:>10.1f}")
    print(f"  {'all':<26}{'':>8}{sum(r[2] for r in rows) / 1024:>10.1f}{sum(r[3] for r in rows) / 1024:>10.1f}")
    print(f"  serve + run worker RSS: {core_rss_kb(rows) / 1024:.1f} MB")


def trigger(client: httpx.Client, i: int) -> None:
    response = client.post(HELLO, json={"data": [{"variable": {"prompt": f"n{i}"}}]})
    if response.status_code != 200 or response.json()["outputs"] != [{"answer": f"Hello n{i}"}]:
        raise SystemExit(f"trigger {i} answered {response.status_code}: {response.text[:500]}")


def run_worker_pids(server: Server) -> list[int]:
    serve_pid = server.process.pid
    return [pid for pid in process_tree(serve_pid) if role(pid, serve_pid) == "run worker"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=1000, help="hello triggers after the first (default 1,000)")
    parser.add_argument("--concurrency", type=int, default=4, help="triggers in flight at once (default 4)")
    parser.add_argument("--server", choices=["uvicorn", "daphne"], help="serve's ASGI server (default: serve's)")
    args = parser.parse_args()

    started = time.monotonic()
    with bench_server("idle-memory-", asgi_server=args.server) as server:
        startup = time.monotonic() - started
        print(f"  serve answered its first request {startup:.2f} s after it was started")
        time.sleep(SETTLE_SECONDS)
        idle = snapshot(server)
        show("Idle (started, nothing triggered yet)", idle)

        token = server.create_token("bench")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
            trigger(client, 0)
            time.sleep(SETTLE_SECONDS)
            show("After the first trigger (task processes only if its filter needed them)", snapshot(server))

            burst_at = time.monotonic()
            with ThreadPoolExecutor(BURST) as pool:
                list(pool.map(lambda i: trigger(client, i), range(-BURST, 0)))
            while not run_worker_pids(server) and time.monotonic() - burst_at < 30:
                time.sleep(0.05)
            # The worker is ready once it answers: a second burst goes to it.
            with ThreadPoolExecutor(BURST) as pool:
                list(pool.map(lambda i: trigger(client, i), range(-2 * BURST, -BURST)))
            time.sleep(SETTLE_SECONDS)
            worker_idle = snapshot(server)
            show(f"After {2 * BURST} concurrent triggers, idle again (run worker started)", worker_idle)

            began = time.monotonic()
            with ThreadPoolExecutor(args.concurrency) as pool:
                list(pool.map(lambda i: trigger(client, i), range(1, args.triggers + 1)))
            elapsed = time.monotonic() - began
        time.sleep(SETTLE_SECONDS)
        after = snapshot(server)
        show(f"After {args.triggers:,} more triggers ({elapsed:.1f} s, {args.concurrency} at a time)", after)

    print()
    idle_mb = core_rss_kb(idle) / 1024
    worker_idle_mb = core_rss_kb(worker_idle) / 1024
    growth_mb = (core_rss_kb(after) - core_rss_kb(worker_idle)) / 1024
    print(f"  serve + run worker grew {growth_mb:+.1f} MB RSS over the {args.triggers:,} triggers")
    met = print_verdicts(
        [
            (
                f"idle serve + run worker RSS {idle_mb:.0f} MB"
                + ("" if any(name == "run worker" for name, *_ in idle) else " (worker not started)"),
                f"< {IDLE_TARGET_MB} MB",
                idle_mb < IDLE_TARGET_MB,
            ),
            (
                f"idle serve + started run worker RSS {worker_idle_mb:.0f} MB",
                f"< {IDLE_TARGET_MB} MB",
                worker_idle_mb < IDLE_TARGET_MB,
            ),
        ]
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
