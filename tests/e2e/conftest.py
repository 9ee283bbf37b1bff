"""End-to-end fixtures: a real ``manage.py serve`` process driven over real HTTP."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # benchmarks/_server.py is shared with `make bench`
    sys.path.insert(0, str(ROOT))

from benchmarks._server import Server  # noqa: E402

ADMIN_PASSWORD = "e2e-admin-password"
# The ASGI server every test's `serve` runs on (`serve --server`): PIPELINE_SERVER, or
# serve's default. scripts/test.sh runs the streaming and browser tests on the other too.
ASGI_SERVER = os.environ.get("PIPELINE_SERVER") or None
# Server logs, screenshots and JUnit files of the run.
OUTPUT = Path(os.environ.get("PIPELINE_TEST_OUTPUT", ROOT / "test-output"))
# The SQLite database in a data dir (instill_site/settings.py).
DATABASE = "pipeline.sqlite3"


# Under pytest-xdist (scripts/test.sh) each worker starts its own session servers: their
# logs carry the worker's id so that two never write one file.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def log_path(name: str) -> Path:
    """``OUTPUT/<name>.log`` (``<name>-gw1.log`` on xdist worker gw1)."""
    return OUTPUT / (f"{name}-{WORKER}.log" if WORKER else f"{name}.log")


@functools.cache
def _migrated() -> tuple[Path, Path]:
    """A data dir holding only a migrated, empty database, and a static root that
    ``collect_if_changed`` has filled (the session's own, tests/conftest.py), made once
    per test process. ``serve``'s start-up migrates and collects only what is missing,
    so a server started from these spends its start-up on the rest of it (the admin,
    the demos) instead of on ~70 migrations and 15 MB of static files."""
    from django.conf import settings

    template = Path(settings.PIPELINE_DATA_DIR) / "e2e-migrated"
    template.mkdir(exist_ok=True)
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env={**os.environ, "PIPELINE_DATA_DIR": str(template), "SECRET_KEY": "e2e-migrated-template"},
        check=True,
    )
    return template, Path(settings.STATIC_ROOT)


def start_server(
    data_dir: Path, name: str, *, admin_password: str = ADMIN_PASSWORD, first_start: bool = False, **env: str
) -> Server:
    """A started server of a test's own, logging to ``OUTPUT/<name>.log``. Loopback is
    allowed to its http component (the slow_server fixture stands in for a slow API)
    unless ``env`` says otherwise; stop it with ``server.stop()``.

    A new ``data_dir`` starts with a copy of a migrated, empty database, and the server
    shares the session's collected static files; ``first_start`` starts it from nothing
    instead, as a new install does (the session's ``e2e_server`` does)."""
    data_dir = Path(data_dir)
    if not first_start and "DATABASE_URL" not in os.environ:
        template, static_root = _migrated()
        data_dir.mkdir(parents=True, exist_ok=True)
        if not (data_dir / DATABASE).exists():
            for file in template.glob(DATABASE + "*"):  # with its -wal and -shm, if any
                shutil.copy2(file, data_dir / file.name)
        env = {"PIPELINE_STATIC_ROOT": str(static_root), **env}
    server = Server(
        data_dir=data_dir,
        admin_password=admin_password,
        log_path=log_path(name),
        env={"PIPELINE_HTTP_ALLOWED_HOSTS": "127.0.0.1", **env},
        server=ASGI_SERVER,
    )
    server.start(timeout=60)
    return server


@pytest.fixture(scope="module")
def platform_key_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, _fake_openai_server
) -> Iterator[Server]:
    """A server of the test module's own whose only way to a model is its platform key: the
    module's ``KEY`` as PIPELINE_OPENAI_API_KEY and the fake OpenAI server as
    PIPELINE_OPENAI_BASE_URL, no allow list (the base URL is what admits it)."""
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")
    started = start_server(
        tmp_path_factory.mktemp(name),
        f"e2e-{name}",
        PIPELINE_HTTP_ALLOWED_HOSTS="",
        PIPELINE_OPENAI_API_KEY=request.module.KEY,
        PIPELINE_OPENAI_BASE_URL=_fake_openai_server.fake.base_url,
    )
    try:
        yield started
    finally:
        started.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: drives a real `manage.py serve` subprocess over HTTP")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a pytest-xdist worker, items that share a node id are skipped, saying why:
    xdist tells items apart by node id and would silently run only the first of them.
    schemathesis makes such items (one per API operation, test_openapi_fuzz.py), which
    scripts/test.sh runs in a process of its own."""
    if not WORKER:
        return
    counts = Counter(item.nodeid for item in items)
    skip = pytest.mark.skip(
        reason="items sharing a node id cannot run on pytest-xdist workers: run this module without -n "
        "(scripts/test.sh's whole-suite run does)"
    )
    for item in items:
        if counts[item.nodeid] > 1:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def e2e_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A running server with a fresh data dir, admin password ``ADMIN_PASSWORD`` and a
    fresh SECRET_KEY; stopped (SIGTERM, then kill) at the end of the session."""
    # A short SSE heartbeat, so the streaming tests see heartbeats without waiting 15 s.
    # A first start, from an empty data dir: migrations, static files and all.
    server = start_server(
        tmp_path_factory.mktemp("e2e-data"), "e2e-server", first_start=True, PIPELINE_SSE_HEARTBEAT_SECONDS="0.5"
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def base_url(e2e_server: Server) -> str:
    return e2e_server.base_url


@pytest.fixture(scope="session")
def admin_password(e2e_server: Server) -> str:
    return e2e_server.admin_password


@pytest.fixture(scope="session")
def api_token(e2e_server: Server) -> str:
    """An admin API token, created through the API with Basic auth."""
    return e2e_server.create_token("e2e-session")


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    """An HTTP client with no credentials."""
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        yield client


@pytest.fixture
def api(base_url: str, api_token: str) -> Iterator[httpx.Client]:
    """An HTTP client sending ``Authorization: Bearer <admin token>``."""
    with httpx.Client(base_url=base_url, timeout=30.0, headers={"Authorization": f"Bearer {api_token}"}) as client:
        yield client
