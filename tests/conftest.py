"""Shared fixtures: users with namespaces, API tokens, authenticated clients, pipelines."""

from __future__ import annotations

import base64
import os
import socketserver

import pytest
from django.test import Client

from pipelines.demo import HELLO
from pipelines.services.pipelines import pipeline_create
from pipelines.services.tokens import token_create
from pipelines.services.users import user_create

# Real PostgreSQL, MariaDB and Redis servers, started by the tests that ask for them.
pytest_plugins = ["tests.servers"]

# The demo's own recipe: the tests exercise what users get.
HELLO_RECIPE = HELLO

# One http call to a URL given as a variable: with the slow_server fixture, a run that
# takes as long as a test needs.
SLOW_RECIPE = """\
variable:
  url: {type: string, required: true}
component:
  wait:
    type: http
    task: TASK_GET
    input: {endpoint-url: "${variable.url}"}
output:
  status: {value: "${wait.output.status-code}"}
"""

# A jq filter that never ends (and libjq cannot be interrupted): stopped only by killing.
RUNAWAY_RECIPE = """\
component:
  forever:
    type: json
    task: TASK_JQ
    input: {json-value: 1, jq-filter: "def f: f; f"}
output:
  results: {value: "${forever.output.results}"}
"""

PASSWORD = "correct-horse-battery"

# The test HTTP servers (slow_server, the fake vendors, component test sites) are the
# standard library's, whose listen backlog is 5. A test that opens dozens of connections
# at once on a loaded machine (parallel workers, other passes) overflows it, and each
# dropped connection is retried only after a second: past the 1 s timeouts some tests
# set. A backlog as deep as a real server's removes that wait.
socketserver.TCPServer.request_queue_size = 128


class ApiClient(Client):
    """A test client that sends JSON and an Authorization header by default."""

    def __init__(self, authorization: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.authorization = authorization

    def _auth(self, extra):
        if self.authorization and "HTTP_AUTHORIZATION" not in extra:
            extra["HTTP_AUTHORIZATION"] = self.authorization
        return extra

    def get(self, path, data=None, **extra):
        return super().get(path, data, **self._auth(extra))

    def delete(self, path, data="", **extra):
        return super().delete(path, data, **self._auth(extra))

    def post(self, path, data=None, content_type="application/json", **extra):
        return super().post(path, data if data is not None else {}, content_type=content_type, **self._auth(extra))

    def patch(self, path, data=None, content_type="application/json", **extra):
        return super().patch(path, data if data is not None else {}, content_type=content_type, **self._auth(extra))


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER") and "PIPELINE_XDIST_DATA_DIR" not in os.environ:
        raise pytest.UsageError(
            "pytest -n needs a data dir per worker: add `-p tests.xdist_workers` (scripts/test.sh does)"
        )
    # Django's fast hasher, as its testing docs advise: every user the tests make and
    # every Basic-auth request would otherwise cost a PBKDF2 hash (most of a second
    # here). The servers the end-to-end tests start keep the real hasher.
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _collected_static_files():
    """Pages link static files by their hashed names (pipelines/staticfiles.py), which
    only a collectstatic makes: once per session, as `manage.py serve` does at start-up
    (and the same way, so that the end-to-end tests' servers can share them: see
    ``start_server`` in tests/e2e/conftest.py)."""
    from pipelines.staticfiles import collect_if_changed

    collect_if_changed()


@pytest.fixture
def make_user(db):
    def make(username: str = "alice", password: str = PASSWORD):
        return user_create(username=username, password=password)

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def make_token(db):
    def make(user, token_id: str = "test", **kwargs) -> str:
        return token_create(user=user, token_id=token_id, **kwargs)[1]

    return make


@pytest.fixture
def alice_token(alice, make_token):
    return make_token(alice)


@pytest.fixture
def bob_token(bob, make_token):
    return make_token(bob)


@pytest.fixture
def api(alice_token):
    """Alice's authenticated API client."""
    return ApiClient(f"Bearer {alice_token}")


@pytest.fixture
def bob_api(bob_token):
    return ApiClient(f"Bearer {bob_token}")


@pytest.fixture
def anon():
    return ApiClient()


@pytest.fixture
def basic_auth():
    def header(username: str, password: str = PASSWORD) -> str:
        return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    return header


@pytest.fixture
def make_pipeline(db):
    def make(owner, pipeline_id: str = "hello", raw_recipe: str = HELLO_RECIPE, public: str | None = None, **kwargs):
        sharing = {"users": {"*/*": {"enabled": True, "role": public}}} if public else None
        return pipeline_create(
            namespace=owner.namespace, pipeline_id=pipeline_id, raw_recipe=raw_recipe, sharing=sharing, **kwargs
        )

    return make


@pytest.fixture
def hello(alice, make_pipeline):
    return make_pipeline(alice)


@pytest.fixture(scope="session")
def slow_server():
    """A real local HTTP server: ``/sleep/<seconds>`` answers after that long; ``/json`` at once."""
    import json
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/sleep/"):
                time.sleep(float(self.path.split("?")[0].split("/")[2]))
            body = json.dumps({"path": self.path}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def _fake_openai_server():
    from tests.fake_openai import RunningFake

    running = RunningFake()
    yield running
    running.stop()


@pytest.fixture
def fake_openai(_fake_openai_server):
    """A fake OpenAI-compatible server on a free loopback port (tests/fake_openai.py),
    reset for each test; ``fake_openai.base_url`` ends in ``/v1``."""
    fake = _fake_openai_server.fake
    fake.reset()
    return fake


@pytest.fixture(scope="session")
def instill_sdk_python():
    """The python of a cached virtualenv with the real ``instill-sdk`` 0.18 (made on first
    use, see tests/grpc/sdk_venv.py); the test is skipped only when PyPI is unreachable."""
    from tests.grpc.sdk_venv import PyPIUnreachable, sdk_python

    try:
        return sdk_python()
    except PyPIUnreachable as exc:
        pytest.skip(str(exc))


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    """Every test starts with no failed sign-ins or API calls counted: the counters live
    in process memory (pipelines/ratelimits.py), which all tests of a run share."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    cache = caches["limits"]
    if isinstance(cache, LocMemCache):
        cache.clear()
    else:  # Redis (the scale-out run): clear() would flush the whole database, broker queues included
        client = cache._cache.get_client(write=True)
        for key in client.scan_iter(match=f"*{cache.key_prefix}*"):
            client.delete(key)
