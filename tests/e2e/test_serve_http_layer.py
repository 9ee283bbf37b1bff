"""The HTTP layer of ``manage.py serve`` on the ASGI server the run uses
(``PIPELINE_SERVER``): limits that both servers answer alike, and the slow-client
protection of uvicorn's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from benchmarks._server import ROOT, free_port
from tests.e2e.conftest import ASGI_SERVER, start_server
from tests.e2e.test_http_limits import assert_still_serving
from tests.e2e.test_serve import HELLO_BODY, HELLO_TRIGGER, assert_error

pytestmark = pytest.mark.e2e


def _read_all(sock: socket.socket) -> bytes:
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def test_more_than_500_headers_is_400_naming_the_limit(api: httpx.Client) -> None:
    headers = {f"X-Extra-{i}": "1" for i in range(501)}
    body = assert_error(api.post(HELLO_TRIGGER, json=HELLO_BODY, headers=headers), 400, 3)
    assert "more than 500 headers" in body["message"]
    assert_still_serving(api)


def test_a_header_line_still_arriving_past_16_kb_is_refused_before_it_ends(e2e_server) -> None:
    """The server answers while the client is still sending the one long line: it never
    buffers a header without bound."""
    with socket.create_connection(("127.0.0.1", e2e_server.port), timeout=10) as sock:
        sock.sendall(b"GET /v1beta/__liveness HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 40_000)
        answer = _read_all(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head, answer[:300]
    assert b"X-Long header is longer than 16384 bytes" in body


def test_a_chunked_body_over_the_limit_is_413(tmp_path) -> None:
    server = start_server(tmp_path / "data", "http-layer-small-body", PIPELINE_MAX_REQUEST_BYTES="100000")
    try:
        token = server.create_token("t")

        def chunks():
            for _ in range(20):
                yield b'{"data": [{"variable": {"prompt": "' + b"x" * 10_000

        response = httpx.post(
            server.base_url + HELLO_TRIGGER,
            content=chunks(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=30,
        )
        body = assert_error(response, 413, 8)
        assert "PIPELINE_MAX_REQUEST_BYTES" in body["message"], body
    finally:
        server.stop()


@pytest.mark.skipif(ASGI_SERVER == "daphne", reason="daphne has Twisted's idle timeout (60 s, restarted by each byte)")
def test_a_client_trickling_its_headers_is_disconnected(tmp_path) -> None:
    """Slowloris: a head still unfinished PIPELINE_HTTP_HEAD_TIMEOUT_SECONDS after its
    first byte loses its connection, though it sends a byte every half second; other
    clients are answered meanwhile."""
    server = start_server(tmp_path / "data", "http-layer-slow-head", PIPELINE_HTTP_HEAD_TIMEOUT_SECONDS="2")
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /v1beta/__liveness HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            closed_after = None
            while time.monotonic() - started < 8:
                try:
                    sock.sendall(b"X")
                except OSError:  # reset by the server
                    closed_after = time.monotonic() - started
                    break
                assert httpx.get(server.base_url + "/v1beta/__liveness", timeout=5).status_code == 200
                time.sleep(0.5)
        assert closed_after is not None and 1.5 < closed_after < 6, closed_after
    finally:
        server.stop()


def test_forwarded_headers_are_ignored_unless_trusted(tmp_path) -> None:
    """Without PIPELINE_TRUST_PROXY_HEADERS a client cannot pick its own address with
    X-Forwarded-For, even from loopback: its failed sign-ins count against the address
    it connects from, whatever it claims."""
    server = start_server(tmp_path / "data", "http-layer-untrusted-proxy", PIPELINE_LOGIN_FAILURES_PER_ADDRESS="2")
    try:
        url = f"{server.base_url}/v1beta/tokens"

        def attempt(client: str, user: str, password: str) -> int:
            return httpx.get(url, auth=(user, password), headers={"X-Forwarded-For": client}, timeout=30).status_code

        assert [attempt("203.0.113.7", "u1", "guess"), attempt("203.0.113.8", "u2", "guess")] == [401, 401]
        assert attempt("203.0.113.9", "admin", server.admin_password) == 429
    finally:
        server.stop()


def test_an_unknown_pipeline_server_stops_serve_with_the_choices(tmp_path) -> None:
    """Before it migrates or listens: no admin user is created."""
    env = {**os.environ, "PIPELINE_DATA_DIR": str(tmp_path / "data"), "PIPELINE_SERVER": "gunicorn"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(free_port()), "--grpc-port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "PIPELINE_SERVER is 'gunicorn': it must be one of uvicorn, daphne." in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "Created the admin user" not in done.stdout
