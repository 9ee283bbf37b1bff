"""Uploads against a real ``manage.py serve``: real multipart encoders (curl, httpx),
the 32 MB request limit with and without Content-Length, and memory while refusing."""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks._server import Server

pytestmark = pytest.mark.e2e

OUTPUT = Path(os.environ.get("PIPELINE_TEST_OUTPUT", "test-output"))
MB = 1024 * 1024
LIMIT = 32 * MB  # the default PIPELINE_MAX_REQUEST_BYTES

FILES_RECIPE = """\
variable:
  doc: {type: file}
  note: {type: string}
output:
  doc: {value: "${variable.doc}"}
  size: {value: "${variable.doc:file-size}"}
  note: {value: "${variable.note}"}
"""


class Live:
    def __init__(self, server: Server, token: str) -> None:
        self.server = server
        self.headers = {"Authorization": f"Bearer {token}"}
        self.trigger_url = f"{server.base_url}/v1beta/namespaces/admin/pipelines/files/trigger"

    def rss_kb(self) -> int:
        """VmRSS of the server process, in kB."""
        for line in Path(f"/proc/{self.server.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS in /proc/<pid>/status")


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[Live]:
    """One server for the module, with the default 32 MB request limit."""
    server = Server(
        data_dir=tmp_path_factory.mktemp("uploads-data"),
        admin_password="uploads-password",
        log_path=OUTPUT / "e2e-uploads.log",
        env={"SECRET_KEY": "uploads-fixed-key-" + "x" * 40},
    )
    env_limit = os.environ.pop("PIPELINE_MAX_REQUEST_BYTES", None)  # the default limit, whatever the shell says
    try:
        server.start(timeout=60)
    finally:
        if env_limit is not None:
            os.environ["PIPELINE_MAX_REQUEST_BYTES"] = env_limit
    try:
        token = server.create_token("uploads")
        live = Live(server, token)
        created = httpx.post(
            f"{server.base_url}/v1beta/namespaces/admin/pipelines",
            json={"id": "files", "rawRecipe": FILES_RECIPE},
            headers=live.headers,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        yield live
    finally:
        server.stop()


def random_file(path: Path, size: int) -> bytes:
    data = secrets.token_bytes(size)
    path.write_bytes(data)
    return data


def decoded(uri: str) -> bytes:
    header, _, payload = uri.partition(",")
    assert header.startswith("data:") and header.endswith(";base64"), header[:200]
    return base64.b64decode(payload)


def assert_too_big(status: int, body: bytes) -> None:
    assert status == 413, body[:500]
    error = json.loads(body)
    assert error["code"] == 8 and error["details"] == [], error
    assert "PIPELINE_MAX_REQUEST_BYTES" in error["message"]


# --- real multipart encoders ------------------------------------------------------------


def test_curl_multipart(live, tmp_path):
    """The actual curl binary's -F encoding: a file part and a plain-text field."""
    data = random_file(tmp_path / "report.bin", 100_000)
    result = subprocess.run(
        [
            "curl",
            "-sS",
            "--max-time",
            "30",
            "-w",
            "\n%{http_code}",
            "-H",
            f"Authorization: {live.headers['Authorization']}",
            "-F",
            f"variables[0].doc=@{tmp_path / 'report.bin'};type=application/octet-stream",
            "-F",
            "variables[0].note=hello",
            live.trigger_url,
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    body, _, status = result.stdout.rpartition(b"\n")
    assert status == b"200", body[:500]
    out = json.loads(body)["outputs"][0]
    assert out["size"] == len(data) and out["note"] == "hello"
    assert out["doc"].startswith("data:application/octet-stream;filename=report.bin;base64,")
    assert decoded(out["doc"]) == data


def test_httpx_multipart(live):
    data = secrets.token_bytes(50_000)
    response = httpx.post(
        live.trigger_url,
        files={"variables[0].doc": ("notes.txt", data, "text/plain")},
        data={"variables[0].note": '"quoted json"'},
        headers=live.headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text[:500]
    out = response.json()["outputs"][0]
    assert out["size"] == len(data) and out["note"] == "quoted json"
    assert out["doc"].startswith("data:text/plain;filename=notes.txt;base64,")
    assert decoded(out["doc"]) == data


# --- the 32 MB limit with a Content-Length ------------------------------------------------


def test_31_mb_upload_is_accepted(live, tmp_path):
    data = random_file(tmp_path / "big.bin", 31 * MB)
    with open(tmp_path / "big.bin", "rb") as fh:
        response = httpx.post(
            live.trigger_url,
            files={"variables[0].doc": ("big.bin", fh, "application/octet-stream")},
            data={"variables[0].note": "big"},
            headers=live.headers,
            timeout=120,
        )
    assert response.status_code == 200, response.text[:500]
    out = response.json()["outputs"][0]
    assert out["size"] == 31 * MB
    assert decoded(out["doc"]) == data


class RssPeak:
    """Samples the server's VmRSS every 20 ms in a thread; ``peak`` is the maximum."""

    def __init__(self, live: Live) -> None:
        self.live = live
        self.idle = live.rss_kb()
        self.peak = self.idle
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.live.rss_kb())
            time.sleep(0.02)

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.live.rss_kb())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.idle) / 1024


def test_33_mb_upload_is_refused_without_holding_it_in_memory(live, tmp_path):
    """413 in the error shape; the server's RSS grows by far less than the 33 MB body."""
    random_file(tmp_path / "huge.bin", 33 * MB)
    with RssPeak(live) as rss, open(tmp_path / "huge.bin", "rb") as fh:
        response = httpx.post(
            live.trigger_url,
            files={"variables[0].doc": ("huge.bin", fh, "application/octet-stream")},
            headers=live.headers,
            timeout=120,
        )
    assert_too_big(response.status_code, response.content)
    assert rss.growth_mb < 8, f"server RSS grew {rss.growth_mb:.1f} MB while refusing a 33 MB body"


def _raw_post_headers(live: Live, length: int) -> bytes:
    return (
        "POST /v1beta/namespaces/admin/pipelines/files/trigger HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{live.server.port}\r\n"
        f"Authorization: {live.headers['Authorization']}\r\n"
        "Content-Type: application/octet-stream\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def test_oversize_content_length_is_refused_before_the_body_is_sent(live):
    """Headers announcing 33 MB and no body yet: the 413 comes before any of it is sent.

    (Sending part of the body first makes the test racy: the server may already have
    answered and closed, and the client's send then fails with a broken pipe.)"""
    with socket.create_connection(("127.0.0.1", live.server.port), timeout=10) as sock:
        sock.sendall(_raw_post_headers(live, 33 * MB))
        sock.settimeout(3.0)
        try:
            head = sock.recv(65536)
        except TimeoutError:
            head = b""
    assert head.startswith(b"HTTP/1.1 413"), "no answer within 3 s while the whole body was still unsent"


# --- chunked bodies (no Content-Length): BodyLimitASGI --------------------------------------


def _chunks(data: bytes, size: int = 256 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_chunked_upload_over_the_limit_is_refused(live):
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        block = b"x" * (256 * 1024)
        while sent < LIMIT + 2 * MB:
            sent += len(block)
            yield block

    with RssPeak(live) as rss:
        response = httpx.post(
            live.trigger_url,
            content=body(),
            headers={**live.headers, "Content-Type": "application/json"},
            timeout=120,
        )
    assert_too_big(response.status_code, response.content)
    assert rss.growth_mb < 8, f"server RSS grew {rss.growth_mb:.1f} MB while refusing a chunked 34 MB body"


def test_chunked_multipart_under_the_limit_works(live):
    data = secrets.token_bytes(3 * MB)
    encoded = httpx.Request(
        "POST",
        live.trigger_url,
        files={"variables[0].doc": ("chunked.bin", data, "application/octet-stream")},
        data={"variables[0].note": "chunked"},
    )
    body = encoded.read()
    sent_headers: list[httpx.Headers] = []
    with httpx.Client(timeout=60, event_hooks={"request": [lambda r: sent_headers.append(r.headers)]}) as client:
        response = client.post(
            live.trigger_url,
            content=_chunks(body),
            headers={**live.headers, "Content-Type": encoded.headers["Content-Type"]},
        )
    assert sent_headers[0].get("Transfer-Encoding") == "chunked" and "Content-Length" not in sent_headers[0]
    assert response.status_code == 200, response.text[:500]
    out = response.json()["outputs"][0]
    assert out["size"] == len(data) and out["note"] == "chunked"
    assert decoded(out["doc"]) == data
