"""The start-up commands as a start script runs them, each a real process: ``migrate``
checks the settings before it applies anything, skips the checks when there is nothing to
apply, and ``serve`` still refuses to start on a broken setting."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from benchmarks._server import ROOT, Server, free_port

pytestmark = pytest.mark.e2e

BROKEN = {"PIPELINE_RATE_LIMIT_API": "lots"}  # not a rate: system check pipelines.E001


def manage(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env={
            **os.environ,
            "PIPELINE_DATA_DIR": str(data_dir),
            "SECRET_KEY": "startup-commands-" + "k" * 40,
            "PIPELINE_ADMIN_PASSWORD": "startup-" + secrets.token_hex(8),
            **(env or {}),
        },
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_checks_before_applying_and_leaves_them_to_serve_when_there_is_nothing_to_apply(
    tmp_path: Path,
) -> None:
    """A broken setting stops ``migrate`` before it applies anything; once every
    migration is applied, ``migrate`` prints what Django prints and leaves the checks to
    ``serve``, which still refuses to start with the setting named."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()

    refused = manage(data_dir, "migrate", env=BROKEN)
    assert refused.returncode == 1
    assert "pipelines.E001" in refused.stderr and "PIPELINE_RATE_LIMIT_API" in refused.stderr
    assert "Applying" not in refused.stdout  # checked before anything was applied

    applied = manage(data_dir, "migrate")
    assert applied.returncode == 0, applied.stderr
    assert "Applying pipelines.0001_initial... OK" in applied.stdout

    again = manage(data_dir, "migrate", env=BROKEN)
    assert again.returncode == 0, again.stderr
    assert again.stdout.endswith("Running migrations:\n  No migrations to apply.\n"), again.stdout
    assert again.stderr == ""

    port = free_port()
    serve = manage(
        data_dir,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--grpc-port",
        "0",
        "--run-workers",
        "0",
        env=BROKEN,
    )
    assert serve.returncode == 1
    assert "pipelines.E001" in serve.stderr and "PIPELINE_RATE_LIMIT_API" in serve.stderr
    assert "is serving on" not in serve.stdout


def test_serve_applies_what_is_pending_on_an_existing_database(tmp_path: Path) -> None:
    """serve migrates only when there is something to apply, and then does."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    assert manage(data_dir, "migrate", "-v", "0").returncode == 0
    assert manage(data_dir, "migrate", "sessions", "zero", "-v", "0").returncode == 0
    assert manage(data_dir, "migrate", "--check").returncode == 1  # one app to migrate

    with Server(data_dir=data_dir, admin_password="startup-serve", log_path=tmp_path / "serve.log") as server:
        response = httpx.get(server.base_url + "/accounts/login/")  # a page with a session
        assert response.status_code == 200
    assert manage(data_dir, "migrate", "--check").returncode == 0
