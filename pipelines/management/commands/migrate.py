"""``manage.py migrate``: Django's, without the system checks when there is nothing to apply.

Django runs every system check before it migrates, and the URL checks import the
URLconf: every view, DRF and drf-spectacular, most of a no-op migrate's second. A
start script that migrates before each ``serve`` (the peer benchmark's does) pays it on
every start. With nothing to apply the database does not change, so the checks are left
to the command that uses what they check: ``serve`` runs them all before it serves.

A plain run (no app label, target or option that changes what it does) with every
migration applied skips them; anything else — migrations to apply, ``--plan``,
``--check``, ``--fake``, a database it cannot read — runs them first, as Django does.
What it prints and does is Django's in every case.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

# The options of a plain run, at their defaults; any other value takes Django's path.
PLAIN_RUN = {
    "app_label": None,
    "migration_name": None,
    "fake": False,
    "fake_initial": False,
    "plan": False,
    "run_syncdb": False,
    "check_unapplied": False,
    "prune": False,
}


def nothing_to_apply(database: str = DEFAULT_DB_ALIAS) -> bool:
    """True when every migration on disk is applied to ``database`` and the history has
    no conflict or gap; False when there is work, or when reading it fails (Django's
    own run then says why, after the checks)."""
    try:
        connection = connections[database]
        executor = MigrationExecutor(connection)
        if executor.loader.detect_conflicts():
            return False
        executor.loader.check_consistent_history(connection)
        return not executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception:  # noqa: BLE001 - any failure: Django's own run reports it, after the checks
        return False


class Command(migrate.Command):
    def execute(self, *args: Any, **options: Any) -> str | None:
        if (
            not options.get("skip_checks")
            and all(options.get(name, default) == default for name, default in PLAIN_RUN.items())
            and nothing_to_apply(options.get("database", DEFAULT_DB_ALIAS))
        ):
            options["skip_checks"] = True
        return super().execute(*args, **options)
