"""Start-up commands do only the work they need (issue #19: start-up to the first answer).

``manage.py migrate`` with nothing to apply leaves the system checks (the URLconf, every
view, DRF, drf-spectacular) to ``serve``, and otherwise behaves and prints exactly as
Django's; setting Django up, as ``migrate`` and ``shell`` do, leaves the recipe checker
and the API's libraries out.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.checks import Error, registry
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.core.management.commands.migrate import Command as DjangoMigrate

ROOT = Path(__file__).resolve().parents[1]


class BrokenSetting:
    """A system check that fails, as a bad setting's does, until ``fix()``; ``runs``
    counts how often it ran."""

    def __init__(self) -> None:
        self.runs = 0

        def check(app_configs=None, **kwargs) -> list[Error]:
            self.runs += 1
            return [Error("a setting is broken", id="tests.E001")]

        self.check = registry.register(check)

    def fix(self) -> None:
        registry.registry.registered_checks.discard(self.check)


@pytest.fixture
def broken_setting() -> Iterator[BrokenSetting]:
    broken = BrokenSetting()
    yield broken
    broken.fix()


def migrate(*args: str, command: object = "migrate") -> str:
    """``manage.py migrate`` with its system checks on (call_command skips them by
    default; the command line runs them); what it printed."""
    out = io.StringIO()
    call_command(command, *args, skip_checks=False, verbosity=1, stdout=out, no_color=True)
    return out.getvalue()


@pytest.mark.django_db
def test_migrate_with_nothing_to_apply_skips_the_checks_and_prints_as_django(broken_setting: BrokenSetting) -> None:
    printed = migrate()

    assert broken_setting.runs == 0
    assert "No migrations to apply." in printed
    out = io.StringIO()
    call_command(DjangoMigrate(), skip_checks=True, verbosity=1, stdout=out, no_color=True)
    assert printed == out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args", [("--plan",), ("--check",), ("pipelines",), ("--fake",), ("--run-syncdb",)], ids=" ".join
)
def test_migrate_with_any_option_runs_the_checks_first(broken_setting: BrokenSetting, args: tuple[str, ...]) -> None:
    with pytest.raises(SystemCheckError, match=r"tests\.E001"):
        migrate(*args)
    assert broken_setting.runs == 1


@pytest.mark.django_db(transaction=True)
def test_migrate_with_a_migration_to_apply_runs_the_checks_then_applies_it(broken_setting: BrokenSetting) -> None:
    call_command("migrate", "sessions", "zero", verbosity=0)
    try:
        with pytest.raises(SystemCheckError, match=r"tests\.E001"):
            migrate()
        assert broken_setting.runs == 1
        registry.registry.registered_checks.clear()  # the setting is fixed (the fixture's discard is a no-op)
        printed = migrate()
        assert "Applying sessions.0001_initial... OK" in printed
    finally:
        call_command("migrate", verbosity=0)
    assert "No migrations to apply." in migrate()


def imported_modules(code: str) -> set[str]:
    """The modules a fresh interpreter holds after setting Django up and running ``code``."""
    setup = "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'instill_site.settings')\nimport django\ndjango.setup()\n"
    report = "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", setup + code + report], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_django_setup_and_the_user_and_token_services_leave_the_recipe_checker_and_the_api_out() -> None:
    """What ``migrate`` and a ``shell`` that makes the admin and a token import: the
    models and the user and token services, without the recipe engine's checker
    (jsonschema, YAML), the filter grammar, DRF or the URLconf."""
    modules = imported_modules("import pipelines.services.users, pipelines.services.tokens\n")
    assert {"pipelines.models", "pipelines.services.users"} <= modules
    unwanted = {
        "pipelines.engine.recipe",
        "jsonschema",
        "yaml",
        "lark",
        "pipelines.filtering",
        "rest_framework.views",
        "instill_site.urls",
    } & modules
    assert not unwanted, sorted(unwanted)


def test_serve_loads_the_api_without_markdown_pygments_requests_or_the_filter_grammar() -> None:
    """What serve loads before its first answer (its command, what its system checks
    import: the URLconf and every template tag library; the ASGI application) leaves out
    Markdown, Pygments and requests (DRF's optional imports for its browsable API and
    test client, neither of which runs here; the pages' Markdown filter imports Markdown
    when it renders), and Lark and the filter grammar until a list is filtered."""
    modules = imported_modules(
        "import pipelines.management.commands.serve\n"
        "from django.core.checks import run_checks\n"
        "run_checks()\n"
        "from instill_site.asgi import application\n"
    )
    assert {"rest_framework.views", "pipelines.api.views.triggers", "instill_site.urls"} <= modules
    unwanted = {"markdown", "pygments", "requests", "lark"} & modules
    assert not unwanted, sorted(unwanted)
