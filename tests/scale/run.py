"""Run the scale-out flavour of the suite: PostgreSQL + Redis + real Celery workers.

    .venv/bin/python tests/scale/run.py [pytest args...]

Django reads DATABASE_URL / REDIS_URL / PIPELINE_EXECUTOR when its settings are
imported, and pytest-django imports them before any conftest runs; so this launcher
starts throw-away redis-server and PostgreSQL servers first (tests/scale/services.py),
exports the configuration, runs ``pytest tests/scale`` in a child process and stops
the servers afterwards, whatever happened. The Celery workers are started by a
session fixture (tests/scale/conftest.py) once pytest-django has created the test
database, because they must connect to that database.

When redis-server or PostgreSQL is not installed, pytest still runs and every scale
test is reported SKIPPED with the reason (never a silent pass).
Exit status: pytest's (5, "no tests collected", becomes 1).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.scale.services import ServiceUnavailable, start_postgres, start_redis  # noqa: E402


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    redis = postgres = None
    data_dir = None
    try:
        try:
            redis = start_redis()
            postgres = start_postgres()
        except ServiceUnavailable as exc:
            print(f"\n*** scale-out tests SKIPPED: {exc} ***\n", file=sys.stderr, flush=True)
            env["PIPELINE_SCALE_UNAVAILABLE"] = str(exc)
        else:
            print(f"scale-out: redis {redis.url}, postgres {postgres.url()}", flush=True)
            env.update(DATABASE_URL=postgres.url(), REDIS_URL=redis.url)
        if "PIPELINE_DATA_DIR" not in env:
            data_dir = tempfile.mkdtemp(prefix="pipeline-scale-data-")
            env["PIPELINE_DATA_DIR"] = data_dir
        env.update(
            PIPELINE_SCALE="1",
            PIPELINE_EXECUTOR="celery",
            # Test process and workers must share the key: queued runs carry encrypted secrets.
            SECRET_KEY=env.get("SECRET_KEY") or secrets.token_urlsafe(40),
            PIPELINE_HTTP_ALLOWED_HOSTS="127.0.0.1",
            PIPELINE_RUN_HEARTBEAT_SECONDS="1",
            PIPELINE_RUN_STALE_SECONDS="4",
            PIPELINE_CELERY_VISIBILITY_TIMEOUT="10",
        )
        command = [sys.executable, "-m", "pytest", "tests/scale", "-p", "no:cacheprovider", *argv]
        status = subprocess.call(command, cwd=ROOT, env=env)
        if status == 5:
            print("tests/scale/run.py: pytest collected no tests; that is a failure here.", file=sys.stderr)
            status = 1
        return status
    finally:
        if postgres is not None:
            postgres.stop()
        if redis is not None:
            redis.stop()
        if data_dir is not None:
            import shutil

            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
