"""A real Chroma server for the tests: ``chroma run`` of the ``chromadb`` package (the
test extra installs it), on a free loopback port with its data in a temporary folder.
It answers within a few seconds; the tests that need it are skipped, saying why, where
the package is not installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks._server import free_port


def chroma_command() -> str | None:
    beside = Path(sys.executable).with_name("chroma")
    return str(beside) if beside.exists() else shutil.which("chroma")


def start(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    command = chroma_command()
    if command is None:
        pytest.skip("the chroma server is not installed (pip install -e '.[test]' installs chromadb)")
    port = free_port()
    with open(data / "chroma.log", "wb") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [command, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chroma run exited: {(data / 'chroma.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("chroma run did not answer within 30 s")


def serve(data: Path) -> Iterator[str]:
    """The base URL of a Chroma server running until the generator is closed."""
    process, url = start(data)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
