"""``pipelines.engine`` offers its names without importing its modules up front."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pipelines.engine

ROOT = Path(__file__).resolve().parents[2]


def declared() -> dict[str, str]:
    """Name → module, from the package's imports for the type checker."""
    tree = ast.parse(Path(pipelines.engine.__file__).read_text())
    return {
        alias.name: f"pipelines.engine.{node.module}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        for alias in node.names
    }


def test_every_exported_name_resolves_to_the_object_its_module_defines() -> None:
    """Each name in ``__all__`` is found, and is the very object of the module the
    package's imports name (what mypy sees is what runs)."""
    where = declared()
    assert set(where) == set(pipelines.engine.__all__)
    for name, module in where.items():
        assert getattr(pipelines.engine, name) is getattr(importlib.import_module(module), name), name


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        pipelines.engine.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("pipelines.engine.NoSuchThing did not fail")


def test_importing_one_engine_module_leaves_the_recipe_checker_out() -> None:
    """``pipelines.engine.limits`` (which the models import) comes without the recipe
    checker and its jsonschema and YAML."""
    code = "import json, sys, pipelines.engine.limits; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    modules = set(json.loads(result.stdout))
    assert "pipelines.engine.limits" in modules
    unwanted = {"pipelines.engine.recipe", "pipelines.engine.executor", "jsonschema", "yaml"} & modules
    assert not unwanted, sorted(unwanted)
