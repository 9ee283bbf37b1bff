"""Start-up to the first answered trigger on an existing database, step by step, as the
peer harness measures it (``../shared/bench-peers/servers/ours.sh``).

The harness starts this project with three commands on a data dir that an earlier
(priming) start already made:

1. ``manage.py migrate -v 0`` (nothing to apply);
2. ``manage.py shell -v 0 -c "..."``: the admin and a known API token, both already there;
3. ``manage.py serve --host 127.0.0.1 --port P --grpc-port P+1000``, until the first
   ``POST /v1beta/namespaces/admin/pipelines/hello/trigger`` answers 200 with ``Hello bench``.

This script makes a fresh data dir, primes it once with the same three steps (unmeasured),
then times ``--runs`` starts: each step on its own, and the three in a row. Every command
is pinned to one CPU with ``taskset`` as the harness pins its servers (``--cpu ''``: no
pinning). It prints each step's wall-clock p50 (and min and max) and CPU seconds (for
serve, its own and apart its children's: the task processes the first trigger starts),
serve's time to its open HTTP port and to its first answer, and the total's p50 against
the target with PASS or MISS. CPU seconds tell changes apart on a busy machine, where
the wall-clock follows the load.

    .venv/bin/python benchmarks/startup.py [--runs 5] [--cpu 1] [--keep]
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._server import free_port, percentile, print_verdicts, process_tree  # noqa: E402

TARGET_S = 1.5
HELLO = "/v1beta/namespaces/admin/pipelines/hello/trigger"
TOKEN = "instill_sk_" + "b" * 32
ADMIN_PASSWORD = "bench-Pass-1"
BODY = b'{"data":[{"variable":{"prompt":"bench"}}]}'
POLL_SECONDS = 0.01  # the harness sleeps 50 ms between attempts; finer here, to see small cuts
# ours.sh's second step, word for word.
SHELL_CODE = """
from pipelines.services.users import admin_ensure
from pipelines.services.tokens import hash_token
from pipelines.models import ApiToken
user, _ = admin_ensure(username='admin', password='bench-Pass-1')
raw = 'instill_sk_' + 'b' * 32
ApiToken.objects.get_or_create(user=user, slug='bench', defaults=dict(token_hash=hash_token(raw), hint=raw[-4:]))
"""


class StepFailed(RuntimeError):
    pass


class Start:
    """The harness's three steps, run from ``root`` with ``python`` on ``data_dir``."""

    def __init__(self, *, python: str, root: Path, data_dir: Path, cpu: str, log_path: Path) -> None:
        self.python = python
        self.root = root
        self.log_path = log_path
        self.pin = ["taskset", "-c", cpu] if cpu and shutil.which("taskset") else []
        self.env = {
            **os.environ,
            "PIPELINE_DATA_DIR": str(data_dir),
            "PIPELINE_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "PYTHONUNBUFFERED": "1",  # as the harness runs every server
        }

    def command(self, *args: str) -> list[str]:
        return [*self.pin, self.python, "manage.py", *args]

    def run(self, *args: str) -> tuple[float, float]:
        """Run one manage.py command to its end: its wall-clock and CPU seconds."""
        cpu_before = _children_cpu()
        began = time.monotonic()
        done = subprocess.run(self.command(*args), cwd=self.root, env=self.env, capture_output=True, text=True)
        elapsed = time.monotonic() - began
        if done.returncode != 0:
            raise StepFailed(f"manage.py {args[0]} exited with {done.returncode}:\n{done.stdout}{done.stderr}")
        return elapsed, _children_cpu() - cpu_before

    def serve(self) -> tuple[float, float, float, float]:
        """Start serve, wait for the first correct trigger answer, stop it. Returns the
        seconds from spawn to an open HTTP port and to that answer, and the CPU seconds
        serve and the processes it started (the task processes' zygote) had used by then."""
        port = free_port()
        grpc_port = port + 1000
        with open(self.log_path, "ab") as log:
            began = time.monotonic()
            process = subprocess.Popen(
                self.command("serve", "--host", "127.0.0.1", "--port", str(port), "--grpc-port", str(grpc_port)),
                cwd=self.root,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            listening = None
            deadline = began + 60
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise StepFailed(f"serve exited with {process.returncode}; see {self.log_path}")
                connected, status, text = _trigger(port)
                if connected is not None and listening is None:
                    listening = connected - began
                if status == 200 and "Hello bench" in text:
                    answered = time.monotonic() - began
                    children = sum(map(_cpu, process_tree(process.pid)[1:]))
                    return listening or answered, answered, _cpu(process.pid), children
                time.sleep(POLL_SECONDS)
            raise StepFailed(f"serve did not answer the trigger within 60 s; see {self.log_path}")
        finally:
            _stop(process)

    def all_three(self) -> dict[str, tuple[float, float]]:
        """Each step's (wall-clock s, CPU s); serve's port has no CPU figure (NaN)."""
        migrate = self.run("migrate", "-v", "0")
        shell = self.run("shell", "-v", "0", "-c", SHELL_CODE)
        listening, answered, serve_cpu, children_cpu = self.serve()
        return {
            "migrate": migrate,
            "shell": shell,
            "serve: port open": (listening, math.nan),
            "serve: first answer": (answered, serve_cpu),
            "serve: its children": (math.nan, children_cpu),
            "total": (migrate[0] + shell[0] + answered, migrate[1] + shell[1] + serve_cpu + children_cpu),
        }


def _children_cpu() -> float:
    """User + system CPU seconds of this process's waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu(pid: int) -> float:
    """User + system CPU seconds a live process has used; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _trigger(port: int) -> tuple[float | None, int | None, str]:
    """One trigger on a new connection: (when it connected, status, body); (None, None,
    why) while nothing listens."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connected = None
    try:
        connection.connect()
        connected = time.monotonic()
        connection.request(
            "POST", HELLO, BODY, {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
        )
        response = connection.getresponse()
        return connected, response.status, response.read().decode(errors="replace")
    except OSError as exc:  # refused, reset, timed out
        return connected, None, repr(exc)
    finally:
        connection.close()


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to serve's session (it and the run workers it started), SIGKILL after 10 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    try:  # whatever outlived serve in its session
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def uncompiled(root: Path) -> int:
    """How many of the project's modules have no byte-code as new as their source."""
    count = 0
    for package in ("pipelines", "instill_site"):
        for source in (root / package).rglob("*.py"):
            cached = Path(importlib.util.cache_from_source(str(source)))
            if not cached.exists() or cached.stat().st_mtime < source.stat().st_mtime:
                count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed starts after the priming one (default 5)")
    parser.add_argument("--cpu", default="1", help="taskset CPU list for every command (default 1; '': no pinning)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter (default: this one)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose manage.py runs (default: this one)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and serve's log, and print where")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="startup-bench-"))
    start = Start(
        python=args.python,
        root=args.root.resolve(),
        data_dir=workdir / "data",
        cpu=args.cpu,
        log_path=workdir / "serve.log",
    )
    pinned = f"pinned to CPU {args.cpu}" if start.pin else "not pinned"
    print(f"Start-up of {args.root.resolve()} ({pinned}, data in {workdir})", flush=True)
    if os.environ.get("PYTHONDONTWRITEBYTECODE") and (missing := uncompiled(args.root.resolve())):
        print(
            f"  note: PYTHONDONTWRITEBYTECODE is set and {missing} of the project's modules have no current "
            "byte-code: every command compiles them again (`make install` compiles them once)",
            flush=True,
        )
    try:
        primed = start.all_three()
        print(f"  priming start (fresh data dir, unmeasured): {primed['total'][0]:.2f} s", flush=True)
        runs = []
        for number in range(1, args.runs + 1):
            run = start.all_three()
            runs.append(run)
            steps = "  ".join(f"{step} {wall:.3f}" for step, (wall, _) in run.items() if not math.isnan(wall))
            print(f"  run {number}: {steps}", flush=True)
    except StepFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"Data dir and serve's log: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n  {'step':<22}{'p50 s':>8}{'min s':>8}{'max s':>8}{'CPU p50 s':>11}")
    for step in runs[0]:
        walls = [run[step][0] for run in runs]
        cpu = percentile([run[step][1] for run in runs], 50)
        shown_cpu = "" if math.isnan(cpu) else f"{cpu:.3f}"
        shown = "".join(
            f"{value:>8.3f}" if not math.isnan(value) else f"{'':>8}"
            for value in (percentile(walls, 50), min(walls), max(walls))
        )
        print(f"  {step:<22}{shown}{shown_cpu:>11}")
    print()
    total = percentile([run["total"][0] for run in runs], 50)
    met = print_verdicts(
        [(f"start-up to the first answered trigger, p50 {total:.2f} s", f"< {TARGET_S} s", total < TARGET_S)]
    )
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
