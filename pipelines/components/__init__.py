"""Component plugins: one module per component type, each exposing ``COMPONENT``.

Adding a component is adding a module here; :func:`default_registry` discovers it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache

from pipelines.engine.components import ComponentDefinition, Registry


@cache
def default_registry() -> Registry:
    """Every ``COMPONENT`` defined by a module of this package, built once."""
    definitions: list[ComponentDefinition] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        definition = getattr(module, "COMPONENT", None)
        if isinstance(definition, ComponentDefinition):
            definitions.append(definition)
    return Registry(definitions)


@cache
def task_process_modules() -> tuple[str, ...]:
    """The modules of the tasks that run in task processes (``blocking=True``), which
    the task processes' zygote imports once for all of them.

    Not the libraries those tasks import on first use (Pillow, pypdfium2, the
    tokenizer): preloaded, every pool's zygote would hold all of them (~90 MB) on a
    server whose recipes may use none; imported by the task, a worker pays the import
    once, on its first such task, and workers live until killed."""
    return tuple(
        sorted(
            {
                task.run.__module__
                for definition in default_registry()
                for task in definition.tasks.values()
                if task.blocking and not inspect.iscoroutinefunction(task.run)
            }
        )
    )
