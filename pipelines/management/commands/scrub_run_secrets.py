"""``manage.py scrub_run_secrets [--dry-run]``: mask current secret values in stored runs."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from pipelines.services.secrets import runs_scrub_secrets


class Command(BaseCommand):
    help = (
        "Replace the current value of every namespace secret with *** in the stored runs of that "
        "namespace's pipelines (outputs, traces, errors, component runs, events). New runs are masked "
        "when recorded; this is for runs recorded before masking existed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count what would change, change nothing")

    def handle(self, *args, dry_run: bool, **options):
        report = runs_scrub_secrets(dry_run=dry_run)
        verb = "Would mask" if dry_run else "Masked"
        self.stdout.write(
            f"{verb} secret values in {report.runs} run(s), {report.component_runs} component run(s) "
            f"and {report.events} event(s)."
        )
