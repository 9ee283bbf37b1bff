"""``manage.py cleanup_run_files [--days N]``: delete stored run files past retention."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from pipelines.services.run_files import cleanup_run_files


class Command(BaseCommand):
    help = "Delete files kept in the run history of runs older than PIPELINE_RUN_FILE_RETENTION_DAYS (default 7)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="retention in days (default: the setting)")

    def handle(self, *args, days: int | None, **options):
        removed = cleanup_run_files(older_than_days=days)
        self.stdout.write(f"Removed the stored files of {removed} run(s).")
