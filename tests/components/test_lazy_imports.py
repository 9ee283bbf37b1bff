"""Components keep their heavy libraries out of start-up: registering them imports
schemas, and a library is imported by the task that uses it, on its first call.

Each check runs in a fresh interpreter, since this test process has imported
everything already."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Image and document libraries (PDF, Office formats, HTML: also the web component's
# parser, selectors and Markdown), the text chunker's tokenizer, the audio component's
# voice activity detector, the database libraries (sql, redis), the HTTP client (the
# outbound requests of the http and openai components and of file URLs), and gRPC
# (which only serve's gRPC server needs: never a run worker
# nor a task process).
HEAVY = (
    "PIL",
    "pypdf",
    "pypdfium2",
    "docx",
    "openpyxl",
    "xlrd",
    "pptx",
    "lxml",
    "bs4",
    "soupsieve",
    "markdownify",
    "bpe_openai",
    "webrtcvad",
    "httpx",
    "httpcore",
    "grpc",
    # The sql component's statement builder and MySQL driver, and the redis component's client.
    "sqlalchemy",
    "pymysql",
    "redis",
)

DJANGO = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "instill_site.settings")
import django
django.setup()
"""
# What serve loads before it listens: its ASGI application (every view, consumer and
# service) and the component registry.
SERVE = (
    DJANGO
    + """
from instill_site.asgi import application
from pipelines.components import default_registry
default_registry()
"""
)
# A run worker's real start-up (``manage.py run_worker``, as serve starts it), up to its
# first trigger: given a socket whose other end is already closed, it starts, finds
# serve gone and returns.
RUN_WORKER = """
import os, socket
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "instill_site.settings")
from django.core.management import execute_from_command_line
ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
ours.close()
execute_from_command_line(["manage.py", "run_worker", "--fd", str(theirs.detach())])
"""
# The HTTP server's libraries (and its static files' server): serve imports them, a run worker has no use for them.
HTTP_SERVER = ("daphne", "twisted", "autobahn", "OpenSSL", "uvicorn", "uvloop", "httptools", "websockets", "whitenoise")

# What the task processes' zygote imports (no Django) before it forks a worker.
ZYGOTE = """
import importlib
from pipelines.components import task_process_modules
for name in task_process_modules():
    importlib.import_module(name)
"""

REPORT = "\nimport json, sys\nprint(json.dumps(sorted(n for n, m in sys.modules.items() if m is not None)))\n"


def imported_modules(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    result = subprocess.run(
        [sys.executable, "-c", code + REPORT], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def imported(code: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after running ``code``."""
    return {name.split(".")[0] for name in imported_modules(code)}


def test_serve_starts_without_the_heavy_libraries():
    """Django, the ASGI application and the component registry import none of the
    image, document, tokenizer or gRPC libraries."""
    packages = imported(SERVE)
    assert {"django", "channels", "pipelines"} <= packages  # it did load the server
    assert not packages & set(HEAVY), sorted(packages & set(HEAVY))


def test_serve_on_sqlite_does_not_load_the_postgresql_driver():
    """With SQLite, the REST framework's optional PostgreSQL field support (and with it
    psycopg and libpq, installed by the "scale" extra) stays out of serve."""
    code = SERVE.replace("import os\n", "import os\nos.environ.pop('DATABASE_URL', None)\n", 1)
    modules = imported_modules(code + "\nimport rest_framework.serializers\n")
    unwanted = sorted(name for name in modules if name.startswith(("psycopg", "django.contrib.postgres.fields")))
    assert not unwanted, unwanted


def test_a_run_worker_starts_without_the_heavy_libraries_nor_the_http_server():
    """A run worker's start-up imports neither the heavy libraries nor daphne and
    Twisted (no Django app imports them on setup), nor the secrets' cipher before a
    secret is decrypted."""
    packages = imported(RUN_WORKER)
    assert {"django", "pipelines", "jsonschema"} <= packages
    unwanted = packages & {*HEAVY, *HTTP_SERVER, "cryptography"}
    assert not unwanted, sorted(unwanted)


def test_a_run_worker_loads_no_adapter():
    """A run worker only executes triggers: it skips the system checks serve has run
    (they import the URL configuration), so none of the REST API, the schema, the
    web pages or the templates they render is imported into it."""
    modules = imported_modules(RUN_WORKER)
    assert "pipelines.services.run_execution" in modules  # it did get ready to run triggers
    adapters = (
        "rest_framework.views",
        "drf_spectacular.views",
        "pipelines.api",
        "pipelines.views",
        "instill_site.urls",
    )
    unwanted = sorted(name for name in modules if name.startswith(adapters))
    assert not unwanted, unwanted


def test_the_task_zygote_preloads_component_modules_not_their_libraries():
    """The zygote imports every module with a task-process task, and none of the heavy
    libraries: a forked task process imports one on the first task that needs it."""
    packages = imported(ZYGOTE)
    assert "pipelines" in packages and "django" not in packages
    assert not packages & set(HEAVY), sorted(packages & set(HEAVY))
