"""The layers stay apart: adapters translate wire formats and call services.

An adapter (the REST API, gRPC, the pages, the websocket consumers, the ASGI trigger
lane) never imports another adapter's modules, and the views, servicers and consumers
never touch the ORM: queries live in :mod:`pipelines.selectors` and the services.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pipelines

ROOT = Path(pipelines.__file__).parent

# Adapter → the modules (files or packages, relative to pipelines/) that make it up.
ADAPTERS: dict[str, tuple[str, ...]] = {
    "rest": ("api",),
    "grpc": ("grpc",),
    "pages": ("views", "forms.py", "urls.py"),
    "websocket": ("consumers.py", "routing.py"),
    "lane": ("asgi.py",),
}

# The one module that knows two adapters: the site's 403/404/500 handlers answer in
# the API's error shape under /v1beta/ and with a page elsewhere.
CROSSINGS_ALLOWED = {("views/errors.py", "rest")}

# Modules that answer requests: what they need from the database, they get from a
# selector or a service.
REQUEST_HANDLERS = ("api/views", "views", "grpc/servicer.py", "consumers.py")
ORM_ATTRIBUTES = {
    "objects",
    "filter",
    "exclude",
    "order_by",
    "select_related",
    "prefetch_related",
    "values_list",
    "annotate",
}
ORM_MODULES = ("pipelines.models", "django.db")


def _modules(entry: str) -> list[Path]:
    path = ROOT / entry
    if path.is_file():
        return [path]
    return [p for p in sorted(path.rglob("*.py")) if "gen" not in p.relative_to(ROOT).parts]


def _adapter_of(module: str) -> str | None:
    """The adapter a dotted ``pipelines.…`` module belongs to, None for shared layers."""
    parts = module.split(".")
    if parts[0] != "pipelines" or len(parts) < 2:
        return None
    for adapter, entries in ADAPTERS.items():
        for entry in entries:
            name = entry.removesuffix(".py").split("/")
            if parts[1 : 1 + len(name)] == name:
                return adapter
    return None


def _type_checking_only(tree: ast.Module) -> set[ast.AST]:
    """The nodes under ``if TYPE_CHECKING:``: names for annotations, never run."""
    return {
        inner
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for statement in node.body
        for inner in ast.walk(statement)
    }


def _imports(path: Path) -> set[str]:
    """Every module ``path`` (under pipelines/) imports at run time, at the top or inside a
    function, made absolute (imports for annotations only do not count)."""
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    is_package = path.name == "__init__.py"
    return _imports_of(path, ".".join(parts[:-1] if is_package else parts), is_package=is_package)


def test_no_adapter_imports_another_adapter() -> None:
    """pipelines/api, pipelines/grpc, the pages, the consumers and the ASGI lane import
    only services, selectors and shared modules — never each other."""
    offenders = []
    for adapter, entries in ADAPTERS.items():
        for entry in entries:
            for path in _modules(entry):
                relative = str(path.relative_to(ROOT))
                crossed = {_adapter_of(m) for m in _imports(path)} - {None, adapter}
                offenders += [
                    f"{relative} imports the {other} adapter"
                    for other in crossed
                    if (relative, other) not in CROSSINGS_ALLOWED
                ]
    assert not offenders, sorted(offenders)


def test_views_servicers_and_consumers_do_not_touch_the_orm() -> None:
    """No view, servicer or consumer imports the models or django.db, or calls a
    queryset method (``.objects``, ``.filter``, ``.order_by``...)."""
    offenders = []
    for entry in REQUEST_HANDLERS:
        for path in _modules(entry):
            relative = str(path.relative_to(ROOT))
            for module in _imports(path):
                if module.startswith(ORM_MODULES):
                    offenders.append(f"{relative} imports {module}")
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and node.attr in ORM_ATTRIBUTES:
                    offenders.append(f"{relative}:{node.lineno} uses .{node.attr}")
    assert not offenders, sorted(offenders)


def test_the_checks_see_the_adapters() -> None:
    """The lists above name modules that exist (a renamed package would pass silently)."""
    for entries in ADAPTERS.values():
        for entry in entries:
            assert _modules(entry), entry
    for entry in REQUEST_HANDLERS:
        assert _modules(entry), entry
    assert _adapter_of("pipelines.api.views.triggers") == "rest"
    assert _adapter_of("pipelines.views.errors") == "pages"
    assert _adapter_of("pipelines.services.triggers") is None


# Modules that once imported each other (lazily, inside functions, to dodge the cycle):
# the run service and the run workers; the operations service, the executors and the
# Celery app. Each now gets what it needs from the other side at start-up instead.
NO_CYCLES_THROUGH = (
    "pipelines.services.run_execution",
    "pipelines.run_worker",
    "pipelines.services.operations",
    "pipelines.executors",
    "instill_site.celery",
)


def _import_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports at run time (functions' imports included),
    for every module of ``pipelines`` (generated protobuf code aside) and ``instill_site``."""
    files: dict[str, Path] = {}
    for package_dir in (ROOT, ROOT.parent / "instill_site"):
        for path in package_dir.rglob("*.py"):
            relative = path.relative_to(ROOT.parent).with_suffix("")
            if "gen" in relative.parts:
                continue
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            files[".".join(parts)] = path
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        edges = graph[module] = set()
        for name in _imports_of(path, module, is_package=path.name == "__init__.py"):
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != module:
                edges.add(name)
    return graph


def _imports_of(path: Path, module: str, *, is_package: bool) -> set[str]:
    """Every module the file of ``module`` imports at run time, at the top or inside a
    function, made absolute (imports for annotations only do not count)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module.split(".") if is_package else module.split(".")[:-1]
    annotations_only = _type_checking_only(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if node in annotations_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join([*base, *([node.module] if node.module else [])])
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def _cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A shortest import path from ``start`` back to itself, or None."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        module = queue.pop(0)
        for imported in sorted(graph.get(module, ())):
            if imported == start:
                return [*paths[module], start]
            if imported not in paths:
                paths[imported] = [*paths[module], imported]
                queue.append(imported)
    return None


def test_no_import_cycle_through_the_run_and_executor_modules() -> None:
    """The run service, the run workers, the operations service, the executors and the
    Celery app are on no import cycle, even through imports inside functions: what one
    needs of another is handed to it at start-up (serve, the run worker, the services)."""
    graph = _import_graph()
    for module in NO_CYCLES_THROUGH:
        assert module in graph, module
    cycles = [" -> ".join(cycle) for module in NO_CYCLES_THROUGH if (cycle := _cycle_through(graph, module))]
    assert not cycles, cycles


def test_the_cycle_check_sees_function_level_imports() -> None:
    """An import inside a function counts: the check would have caught the old cycles."""
    graph = _import_graph()
    assert "pipelines.services.operations" in graph["instill_site.celery"]  # imported in its signal handlers
    assert _cycle_through({"a": {"b"}, "b": {"a"}}, "a") == ["a", "b", "a"]
