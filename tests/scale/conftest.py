"""Scale-out flavour: PostgreSQL + Redis + real Celery workers (launch: tests/scale/run.py).

The launcher starts redis-server and PostgreSQL and exports DATABASE_URL, REDIS_URL and
PIPELINE_EXECUTOR=celery before pytest (and so Django settings) starts. Here:

* outside the launcher (e.g. the main ``pytest`` run collecting tests/), every test in
  this directory is skipped with a pointer to the launcher;
* when the servers could not be found, every test is skipped with that reason;
* otherwise a session fixture starts Celery workers on the *test* database that
  pytest-django created, and stops them before that database is dropped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.scale.services import start_celery_worker, stop_celery_worker

HERE = Path(__file__).resolve().parent
WORKER_CONCURRENCY = 2


def _skip_reason() -> str | None:
    if os.environ.get("PIPELINE_SCALE") != "1":
        return "scale-out flavour (PostgreSQL + Redis + Celery): run it with `.venv/bin/python tests/scale/run.py`"
    if os.environ.get("PIPELINE_SCALE_UNAVAILABLE"):
        return f"scale-out services unavailable: {os.environ['PIPELINE_SCALE_UNAVAILABLE']}"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    if reason is None:
        from django.conf import settings

        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine or settings.PIPELINE_EXECUTOR != "celery" or not settings.REDIS_URL:
            raise pytest.UsageError(
                f"tests/scale must run on PostgreSQL + Celery + Redis, got {engine}, "
                f"PIPELINE_EXECUTOR={settings.PIPELINE_EXECUTOR!r}, REDIS_URL={settings.REDIS_URL!r}"
            )
        return
    marker = pytest.mark.skip(reason=reason)
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(marker)


def worker_env() -> dict[str, str]:
    """The environment of a worker: the test process's, on the test database."""
    from django.db import connection

    db = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env.setdefault("DJANGO_SETTINGS_MODULE", "instill_site.settings")
    return env


@pytest.fixture(scope="session")
def celery_workers(django_db_setup, django_db_blocker, tmp_path_factory):
    """Real ``celery -A instill_site worker`` processes (prefork) on the test database."""
    from django.db import connection

    assert connection.settings_dict["NAME"].startswith("test_"), connection.settings_dict["NAME"]
    logs = tmp_path_factory.mktemp("celery")
    workers = [start_celery_worker(worker_env(), concurrency=WORKER_CONCURRENCY, log=logs / "w1.log", name="w1")]
    yield workers
    import asyncio

    from asgiref.sync import sync_to_async
    from django.db import connections

    from pipelines.aio import pool_close

    # The test process's own connections in other threads (async tests' followers and
    # consumers) must close too, or PostgreSQL refuses to drop the test database.
    pool_close()
    asyncio.run(sync_to_async(connections.close_all, thread_sensitive=True)())
    for worker in workers:
        stop_celery_worker(worker)
    failures = [w for w in workers if b"Traceback" in Path(w.log_path).read_bytes()]
    for worker in failures:  # surfaced for debugging; the tests themselves decide pass/fail
        print(f"\n--- celery log {worker.log_path} ---\n{Path(worker.log_path).read_text(errors='replace')[-6000:]}")


@pytest.fixture(autouse=True)
def _scale_services(request):
    if _skip_reason() is None:
        request.getfixturevalue("celery_workers")
