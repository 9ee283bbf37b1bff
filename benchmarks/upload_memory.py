"""Peak server memory for one large multipart upload that comes back as a data URI.

Starts a real ``manage.py serve``, creates a pipeline that passes a ``type: file``
variable straight through (``output: {doc: {value: "${variable.doc}"}}``), measures the
server's idle VmRSS, then triggers once with a multipart upload of ``--size-mb`` random
bytes while a thread samples ``/proc/<pid>/status`` VmRSS every 20 ms. Reports the
peak above idle as a multiple of the file size (target: < 4x).

    .venv/bin/python benchmarks/upload_memory.py [--size-mb 30] [--repeat 1]
"""

from __future__ import annotations

import argparse
import base64
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._server import Server, rss_kb  # noqa: E402

MB = 1024 * 1024
TARGET = 4.0
RECIPE = """\
variable:
  doc: {type: file}
output:
  doc: {value: "${variable.doc}"}
  size: {value: "${variable.doc:file-size}"}
"""


class Sampler(threading.Thread):
    """VmRSS every ``interval`` seconds; keeps (t, kB) samples and the peak."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []
        self._stop_event = threading.Event()
        self.t0 = time.monotonic()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.samples.append((time.monotonic() - self.t0, rss_kb(self.pid)))
            time.sleep(self.interval)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        self.samples.append((time.monotonic() - self.t0, rss_kb(self.pid)))
        return max(kb for _, kb in self.samples)


def measure(server: Server, headers: dict, path: Path, size: int) -> dict:
    url = f"{server.base_url}/v1beta/namespaces/admin/pipelines/upload/trigger"
    pid = server.process.pid
    time.sleep(0.5)
    idle = rss_kb(pid)
    sampler = Sampler(pid)
    sampler.start()
    started = time.monotonic()
    with open(path, "rb") as fh:
        response = httpx.post(
            url, files={"variables[0].doc": (path.name, fh, "application/octet-stream")}, headers=headers, timeout=300
        )
    elapsed = time.monotonic() - started
    peak = sampler.stop()
    time.sleep(1.0)
    after = rss_kb(pid)
    if response.status_code != 200:
        raise SystemExit(f"trigger answered {response.status_code}: {response.text[:500]}")
    out = response.json()["outputs"][0]
    ok = out["size"] == size and base64.b64decode(out["doc"].partition(",")[2]) == path.read_bytes()
    return {
        "idle_mb": idle / 1024,
        "peak_mb": peak / 1024,
        "after_mb": after / 1024,
        "growth_mb": (peak - idle) / 1024,
        "ratio": (peak - idle) * 1024 / size,
        "seconds": elapsed,
        "response_mb": len(response.content) / MB,
        "ok": ok,
        "samples": sampler.samples,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=1, help="triggers in a row on the same server")
    parser.add_argument("--trace", action="store_true", help="print the RSS samples of the last trigger")
    args = parser.parse_args()
    size = int(args.size_mb * MB)

    with tempfile.TemporaryDirectory(prefix="upload-memory-") as tmp:
        tmp_path = Path(tmp)
        upload = tmp_path / "upload.bin"
        upload.write_bytes(secrets.token_bytes(size))
        server = Server(data_dir=tmp_path / "data", admin_password="bench-password", log_path=tmp_path / "server.log")
        server.start(timeout=60)
        try:
            token = server.create_token("bench")
            headers = {"Authorization": f"Bearer {token}"}
            created = httpx.post(
                f"{server.base_url}/v1beta/namespaces/admin/pipelines",
                json={"id": "upload", "rawRecipe": RECIPE},
                headers=headers,
                timeout=10,
            )
            if created.status_code != 201:
                raise SystemExit(f"creating the pipeline answered {created.status_code}: {created.text}")
            results = [measure(server, headers, upload, size) for _ in range(args.repeat)]
        except BaseException:
            print(server.output()[-3000:], file=sys.stderr)
            raise
        finally:
            server.stop()

    print(f"upload: {size / MB:.1f} MB multipart, passed through and answered as a data URI")
    print(
        f"{'run':>3} {'idle MB':>8} {'peak MB':>8} {'+peak MB':>9} {'x file':>7} {'after MB':>9} {'resp MB':>8} {'s':>6}  ok"
    )
    for i, r in enumerate(results, 1):
        print(
            f"{i:>3} {r['idle_mb']:>8.1f} {r['peak_mb']:>8.1f} {r['growth_mb']:>9.1f} {r['ratio']:>7.2f} "
            f"{r['after_mb']:>9.1f} {r['response_mb']:>8.1f} {r['seconds']:>6.2f}  {'yes' if r['ok'] else 'NO'}"
        )
    if args.trace:
        base = results[-1]["samples"][0][1]
        for t, kb in results[-1]["samples"]:
            print(f"  {t:6.2f}s  +{(kb - base) / 1024:7.1f} MB")
    worst = max(r["ratio"] for r in results)
    verdict = "met" if worst < TARGET else "MISSED"
    print(f"peak above idle: {worst:.2f}x the file size (target < {TARGET:g}x): {verdict}")
    return 0 if worst < TARGET and all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
