"""The engine and the components are pure Python: none of their modules import Django
and friends, and components use only the public names of the engine and of each other."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import pipelines.components
import pipelines.engine

FORBIDDEN = {"django", "rest_framework", "channels", "celery"}
ENGINE_DIR = Path(pipelines.engine.__file__).parent
COMPONENTS_DIR = Path(pipelines.components.__file__).parent
# Each package → the pipelines.* packages its modules may import.
PURE = {ENGINE_DIR: ("pipelines.engine",), COMPONENTS_DIR: ("pipelines.engine", "pipelines.components")}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package_dir", list(PURE), ids=lambda p: p.name)
def test_engine_and_components_never_import_django_drf_channels_or_celery(package_dir: Path) -> None:
    """No module under pipelines/engine or pipelines/components imports django,
    rest_framework, channels or celery — at the top or inside a function."""
    modules = sorted(package_dir.rglob("*.py"))
    assert modules, f"no modules found under {package_dir}"
    offenders = {
        f"{path.relative_to(package_dir)}: {name}"
        for path in modules
        for name in _imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
    }
    assert not offenders, f"modules import web-layer packages: {sorted(offenders)}"


@pytest.mark.parametrize("package_dir", list(PURE), ids=lambda p: p.name)
def test_engine_and_components_do_not_import_the_app_outside_them(package_dir: Path) -> None:
    """Absolute imports of pipelines.* from the engine stay inside pipelines.engine; the
    components import only the engine and each other (no models, services, settings)."""
    allowed = PURE[package_dir]
    for path in package_dir.rglob("*.py"):
        for name in _imported_modules(path):
            if name.startswith("pipelines."):
                assert name.startswith(allowed), f"{path.name} imports {name}"


def _public(module: str) -> set[str]:
    """What ``module`` offers other modules: its ``__all__``, which it must declare."""
    names = getattr(importlib.import_module(module), "__all__", None)
    assert names is not None, f"{module} declares no __all__"
    return set(names)


def test_components_use_only_public_names_of_the_engine_and_of_each_other() -> None:
    """A component imports from an engine or component module only names in that
    module's ``__all__`` (``guarded_request``, not outbound's internals), and uses only
    those on a module it imports whole. A private helper module (``_images``) serves one
    component only."""
    offenders: list[str] = []
    helper_users: dict[str, set[str]] = {}
    for path in sorted(COMPONENTS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        modules_as: dict[str, str] = {}  # local name → module imported whole
        for node in ast.walk(tree):
            if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module):
                continue
            if not node.module.startswith(("pipelines.engine", "pipelines.components")):
                continue
            for alias in node.names:
                whole = f"{node.module}.{alias.name}"
                if node.module == "pipelines.components" and (COMPONENTS_DIR / f"{alias.name}.py").exists():
                    modules_as[alias.asname or alias.name] = whole
                    if alias.name.startswith("_"):
                        helper_users.setdefault(alias.name, set()).add(path.name)
                    continue
                if node.module.rpartition(".")[2].startswith("_"):
                    helper_users.setdefault(node.module.rpartition(".")[2], set()).add(path.name)
                if node.module != "pipelines.components" and alias.name not in _public(node.module):
                    offenders.append(f"{path.name} imports {alias.name} from {node.module}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules_as:
                module = modules_as[node.value.id]
                if node.attr not in _public(module):
                    offenders.append(f"{path.name} uses {node.attr} of {module}")
    offenders += [f"{helper} serves {sorted(users)}" for helper, users in helper_users.items() if len(users) > 1]
    assert not offenders, sorted(offenders)
    assert "_images" in helper_users and "_documents" in helper_users  # the check sees them
