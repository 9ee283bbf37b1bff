"""Pipeline next to Hayhooks, LangServe and bare Django in the peer harness (issue #19).

Runs the shared peer harness (``bench-peers``: one alternating run, every server pinned to
one core, ``wrk`` on the other) for this checkout, Hayhooks, LangServe and a bare Django
async view on daphne and on uvicorn, then prints issue #19's ratio table: per repetition,
ours ÷ the better of Hayhooks and LangServe for c=1 p50, c=16 req/s, idle RSS and
start-up, with PASS/MISS against the targets.

The harness and the peers' virtualenvs live outside this repository:

- the harness: ``--harness``, else ``$PIPELINE_BENCH_PEERS``, else ``bench-peers/`` in the
  ``shared/`` folder beside the main checkout (``../shared/bench-peers``);
- the venvs, logs and results: ``--root``, else ``$BENCH_ROOT``, else ``/tmp/bench``;
  ``<root>/ours`` must be this checkout or a symlink to it (made when absent).

When a venv or ``wrk`` is missing it prints how to make them and exits 0, so ``make bench``
still shows our own figures. ``--from-json`` formats the table of an earlier run.

    .venv/bin/python benchmarks/peers.py [--root /tmp/bench] [--reps 2] [--duration 10]
    .venv/bin/python benchmarks/peers.py --base-port 18600    # other options go to bench.py
    .venv/bin/python benchmarks/peers.py --from-json /tmp/bench/results/<stamp>.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ("hayhooks", "langserve")
SYSTEMS = ("ours", *PEERS, "django-daphne", "django-uvicorn")
VENVS = ("baseline", "hayhooks", "langserve")
THROUGHPUT_TARGET = 1.2  # c=16 req/s, ours ÷ the better peer: at least
LATENCY_TARGET = 1.0  # c=1 p50, ours ÷ the better peer: at most
RSS_TARGET_MB = 150.0  # idle RSS of serve and its run worker(s): under
STARTUP_TARGET_S = 1.5  # spawn to the first answered trigger, existing database: under


def default_harness() -> Path:
    """``../shared/bench-peers`` beside the main checkout (this may be a git worktree)."""
    env = os.environ.get("PIPELINE_BENCH_PEERS")
    if env:
        return Path(env)
    try:
        common = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        main = Path(common).parent
    except (OSError, subprocess.CalledProcessError):
        main = ROOT
    return main.parent / "shared" / "bench-peers"


def missing(harness: Path, root: Path) -> list[str]:
    """What the harness run needs and does not find."""
    out = []
    if not (harness / "bench.py").is_file():
        out.append(f"the harness ({harness}/bench.py)")
    for name in VENVS:
        if not (root / f"venv-{name}" / ".bench-ok").exists():
            out.append(f"the peer venv {root}/venv-{name}")
    if not shutil.which("wrk"):
        out.append("wrk")
    return out


def link_checkout(root: Path) -> str | None:
    """Point ``<root>/ours`` at this checkout; an error message when it points elsewhere."""
    ours = root / "ours"
    if ours.is_symlink() or ours.exists():
        if ours.resolve() != ROOT:
            return f"{ours} is {ours.resolve()}, not this checkout ({ROOT}); use another --root"
        return None
    ours.symlink_to(ROOT)
    return None


def run_harness(harness: Path, root: Path, args: argparse.Namespace, extra: list[str]) -> Path:
    """Run the harness once for SYSTEMS (``extra``: more bench.py options); the JSON it wrote."""
    out = root / "results"
    before = set(out.glob("*.json")) if out.exists() else set()
    cmd = [
        sys.executable,
        str(harness / "bench.py"),
        "--root",
        str(root),
        "--systems",
        str(harness / "ours.json"),
        "--only",
        ",".join(SYSTEMS),
        "--reps",
        str(args.reps),
        "--duration",
        str(args.duration),
        "--out",
        str(out),
        *extra,
    ]
    loads: list[float] = []
    done = threading.Event()

    def sample_load() -> None:
        while not done.wait(5.0):
            loads.append(os.getloadavg()[0])

    sampler = threading.Thread(target=sample_load, daemon=True)
    sampler.start()
    try:
        subprocess.run(cmd, check=True, env=dict(os.environ, BENCH_ROOT=str(root)))
    finally:
        done.set()
    if loads:
        # The harness pins servers and wrk to the two cores: other work on the machine
        # shows here, and makes figures of different minutes incomparable.
        print(f"\nLoad average (1 min) during the run: {min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} CPUs")
    written = sorted(set(out.glob("*.json")) - before)
    if not written:
        raise SystemExit(f"the harness wrote no result under {out}")
    return written[-1]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def ratio_table(doc: dict) -> str:
    """Issue #19's table: per repetition, ours against the better of Hayhooks and LangServe."""
    rows: dict[tuple[str, int], dict] = {}
    for res in doc["results"]:
        if res.get("rep", 0) > 0 and "error" not in res:
            rows[(res["system"], res["rep"])] = res
    reps = sorted({rep for _, rep in rows})

    def figures(system: str, rep: int) -> tuple[float, float, float, float] | None:
        res = rows.get((system, rep))
        if res is None:
            return None
        return (res["c1"]["p50_ms"], res["c16"]["rps"], res["idle"]["rss_mb"], res["startup_s"])

    lines = [
        "| rep | metric | ours | better of Hayhooks/LangServe | ours ÷ peer | target | |",
        "|---|---|---|---|---|---|---|",
    ]
    passed: dict[str, list[bool]] = {"p50": [], "rps": [], "rss": [], "start": []}
    for rep in reps:
        ours = figures("ours", rep)
        peers = [(name, f) for name in PEERS if (f := figures(name, rep)) is not None]
        if ours is None or not peers:
            lines.append(f"| {rep} | (ours or both peers failed in this repetition) | | | | | |")
            continue
        p50_peer = min(peers, key=lambda p: p[1][0])
        rps_peer = max(peers, key=lambda p: p[1][1])
        rss_peer = min(peers, key=lambda p: p[1][2])
        start_peer = min(peers, key=lambda p: p[1][3])
        p50 = ours[0] / p50_peer[1][0]
        rps = ours[1] / rps_peer[1][1]
        passed["p50"].append(p50 <= LATENCY_TARGET)
        passed["rps"].append(rps >= THROUGHPUT_TARGET)
        passed["rss"].append(ours[2] < RSS_TARGET_MB)
        passed["start"].append(ours[3] < STARTUP_TARGET_S)
        lines += [
            f"| {rep} | c=1 p50 ms | {ours[0]:.2f} | {p50_peer[1][0]:.2f} ({p50_peer[0]}) | "
            f"{p50:.2f}x | ≤ {LATENCY_TARGET:.1f}x | {verdict(passed['p50'][-1])} |",
            f"| {rep} | c=16 req/s | {ours[1]:,.0f} | {rps_peer[1][1]:,.0f} ({rps_peer[0]}) | "
            f"{rps:.2f}x | ≥ {THROUGHPUT_TARGET:.1f}x | {verdict(passed['rps'][-1])} |",
            f"| {rep} | idle RSS MB | {ours[2]:.0f} | {rss_peer[1][2]:.0f} ({rss_peer[0]}) | "
            f"{ours[2] / rss_peer[1][2]:.2f}x | < {RSS_TARGET_MB:.0f} MB | {verdict(passed['rss'][-1])} |",
            f"| {rep} | start-up s | {ours[3]:.2f} | {start_peer[1][3]:.2f} ({start_peer[0]}) | "
            f"{ours[3] / start_peer[1][3]:.2f}x | < {STARTUP_TARGET_S} s | {verdict(passed['start'][-1])} |",
        ]
    after = [
        f"{rep}: {rows[('ours', rep)]['after_load']['rss_mb']:.0f} MB "
        f"({rows[('ours', rep)]['after_load']['processes']} processes)"
        for rep in reps
        if ("ours", rep) in rows and "after_load" in rows[("ours", rep)]
    ]
    summary = ", ".join(
        f"{name} {verdict(bool(oks) and all(oks))}"
        for name, oks in (
            ("c=1 p50", passed["p50"]),
            ("c=16 req/s", passed["rps"]),
            ("idle RSS", passed["rss"]),
            ("start-up", passed["start"]),
        )
    )
    return "\n".join(
        [
            *lines,
            "",
            f"Targets in every repetition: {summary}.",
            "Ours' RSS after the load (serve and every process it started): " + "; ".join(after) + ".",
        ]
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--harness", type=Path, default=None, help="the bench-peers folder")
    ap.add_argument("--root", type=Path, default=Path(os.environ.get("BENCH_ROOT", "/tmp/bench")))
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--duration", type=float, default=10, help="seconds of measured load per concurrency")
    ap.add_argument("--from-json", type=Path, default=None, help="format an earlier run's result")
    args, extra = ap.parse_known_args()

    if args.from_json:
        doc = json.loads(args.from_json.read_text())
    else:
        harness = args.harness or default_harness()
        lacking = missing(harness, args.root)
        if lacking:
            print(
                "\nPeer comparison skipped, missing: " + ", ".join(lacking) + ".\n"
                "Make them (~2 min; wrk from Debian, as root) and run again:\n"
                f"  BENCH_ROOT={args.root} SKIP_LANGFLOW=1 bash {harness}/setup.sh\n"
                f"  BENCH_ROOT={args.root} {sys.executable} benchmarks/peers.py"
            )
            return 0
        error = link_checkout(args.root)
        if error:
            print(f"Peer comparison skipped: {error}")
            return 0
        doc = json.loads(run_harness(harness, args.root, args, extra).read_text())
    print(f"\nIssue #19: ours ÷ the better of Hayhooks and LangServe ({doc['meta'].get('started', '')})\n")
    print(ratio_table(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
