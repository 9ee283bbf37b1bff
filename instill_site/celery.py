"""Celery application for scale-out (``celery -A instill_site worker``); broker is REDIS_URL."""

import logging
import os
import threading

from celery import Celery
from celery.signals import worker_ready, worker_shutting_down

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "instill_site.settings")

app = Celery("instill_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["pipelines"])

logger = logging.getLogger("pipelines.executors")
_reaper_stop = threading.Event()


@worker_ready.connect
def _recover(**kwargs) -> None:
    """A worker starting up fails runs whose executor died (stale heartbeats), then keeps
    doing so every few seconds, so no run stays PROCESSING when its executor (or its
    whole host) died and no redelivered task took it over."""
    from django.db import connection

    from pipelines.services.operations import runs_recover

    try:
        runs_recover()
    finally:
        connection.close()
    threading.Thread(target=_reap, name="pipeline-reaper", daemon=True).start()


def _reap() -> None:
    from django.conf import settings
    from django.db import connection

    from pipelines.services.operations import runs_recover

    interval = max(1, settings.PIPELINE_RUN_STALE_SECONDS // 3)
    while not _reaper_stop.wait(interval):
        try:
            # Dead local processes are left to the redelivered task (late acks take the
            # run over at once); their heartbeat going stale catches them otherwise.
            runs_recover(dead_processes=False)
        except Exception:  # noqa: BLE001 - keep reaping
            logger.exception("recovering interrupted runs failed")
        finally:
            # No connection is kept open in the main process: pool processes forked
            # from it later must not share its socket.
            connection.close()


@worker_shutting_down.connect
def _stop_reaper(**kwargs) -> None:
    _reaper_stop.set()
