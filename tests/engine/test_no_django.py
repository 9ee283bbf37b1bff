"""The engine is pure Python: none of its modules import Django and friends."""

from __future__ import annotations

import ast
from pathlib import Path

import pipelines.engine

FORBIDDEN = {"django", "rest_framework", "channels", "celery"}
ENGINE_DIR = Path(pipelines.engine.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_engine_modules_never_import_django_drf_channels_or_celery() -> None:
    """No module under pipelines/engine imports django, rest_framework, channels or celery."""
    modules = sorted(ENGINE_DIR.rglob("*.py"))
    assert modules, "engine modules not found"
    offenders = {
        f"{path.relative_to(ENGINE_DIR)}: {name}"
        for path in modules
        for name in _imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
    }
    assert not offenders, f"engine modules import web-layer packages: {sorted(offenders)}"


def test_engine_does_not_import_the_app_outside_itself() -> None:
    """Absolute imports of pipelines.* from the engine stay inside pipelines.engine."""
    for path in ENGINE_DIR.rglob("*.py"):
        for name in _imported_modules(path):
            if name.startswith("pipelines."):
                assert name.startswith("pipelines.engine"), f"{path.name} imports {name}"
