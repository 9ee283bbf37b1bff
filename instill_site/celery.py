"""Celery application for scale-out (``celery -A instill_site worker``); broker is REDIS_URL."""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "instill_site.settings")

app = Celery("instill_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["pipelines"])


@worker_ready.connect
def _recover(**kwargs) -> None:
    """A worker starting up fails runs whose executor died (stale heartbeats)."""
    from pipelines.services.operations import runs_recover

    runs_recover()
