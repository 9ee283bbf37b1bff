"""Start ``manage.py serve`` as a real subprocess on a free loopback port.

Shared by the end-to-end tests (``tests/e2e/conftest.py``) and the benchmark
(``benchmarks/trigger.py``) so that both measure and test the server exactly as a
user runs it. Standard library and httpx only: no Django in this process.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
LIVENESS = "/v1beta/__liveness"


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerError(RuntimeError):
    """The server died or never answered; the message carries its output."""


class Server:
    """One ``manage.py serve`` process with its own data dir, admin password and key.

    Its stdout and stderr go to ``log_path`` (a file, not a pipe, so a chatty server
    can never block on a full pipe); ``output()`` reads them back for error messages.
    """

    def __init__(
        self,
        *,
        data_dir: Path,
        admin_password: str,
        log_path: Path,
        port: int | None = None,
        grpc_port: int | None = None,
        env: dict[str, str] | None = None,
        python: str = sys.executable,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.admin_password = admin_password
        self.log_path = Path(log_path)
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.grpc_port = grpc_port or free_port()
        self.grpc_target = f"127.0.0.1:{self.grpc_port}"
        self.python = python
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 60.0) -> str:
        """Start the server and wait until liveness answers 200; returns the base URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "PIPELINE_DATA_DIR": str(self.data_dir),
            "PIPELINE_ADMIN_USER": "admin",
            "PIPELINE_ADMIN_PASSWORD": self.admin_password,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        command = [
            self.python, str(ROOT / "manage.py"), "serve",
            "--host", "127.0.0.1", "--port", str(self.port), "--grpc-port", str(self.grpc_port),
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self.process.poll() is not None:
                    raise ServerError(
                        f"manage.py serve exited with code {self.process.returncode} before answering "
                        f"{LIVENESS}. Its output:\n{self.output()}"
                    )
                try:
                    if client.get(self.base_url + LIVENESS).status_code == 200:
                        return self.base_url
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise ServerError(
                        f"manage.py serve did not answer {LIVENESS} within {timeout:.0f} s. Its output:\n{self.output()}"
                    )
                time.sleep(0.1)

    def stop(self, *, grace: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it is still there after ``grace`` seconds."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace)

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def create_token(self, token_id: str) -> str:
        """Create a never-expiring API token for the admin with Basic auth; returns it."""
        response = httpx.post(
            self.base_url + "/v1beta/tokens",
            json={"id": token_id, "ttl": -1},
            auth=("admin", self.admin_password),
            timeout=10.0,
        )
        if response.status_code != 201:
            raise ServerError(f"POST /v1beta/tokens answered {response.status_code}: {response.text}")
        return response.json()["token"]["accessToken"]

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
