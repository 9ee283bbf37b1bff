"""``manage.py run_worker --fd N``: a run worker, started by ``serve`` (never by hand).

It executes the plain sync triggers ``serve`` hands it over the inherited socket ``N``
and exits when ``serve`` closes that socket; see pipelines/run_worker.py.
"""

from __future__ import annotations

import asyncio

from django.core.management.base import BaseCommand

from pipelines.engine import processes


class Command(BaseCommand):
    help = "Execute sync triggers for serve (started by manage.py serve; not for direct use)."
    # serve has run the system checks before starting its workers; running them again
    # here would import the URL configuration, and with it every view, DRF and
    # drf-spectacular, into a process that only executes triggers.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--fd", type=int, required=True, help="the socket inherited from serve")

    def handle(self, *args, fd: int, **options):
        from pipelines.aio import freeze_startup_heap
        from pipelines.components import default_registry
        from pipelines.run_worker import worker_main
        from pipelines.services.run_execution import (
            run_handed_over,
        )  # what every trigger needs, loaded before the freeze

        default_registry()
        freeze_startup_heap()
        try:
            asyncio.run(worker_main(fd, run_handed_over))
        finally:
            processes.shutdown_shared()
