"""The recipe engine: pure Python, no Django.

Parse once (:func:`parse_recipe` → frozen :class:`Recipe`), bind trigger rows
(:meth:`Recipe.bind_rows`), then :func:`execute` them, receiving
:mod:`~pipelines.engine.events` as they happen and a :class:`RunResult` at the end.

Importing the package imports none of its modules: each name below is imported from its
module the first time it is asked for (PEP 562), so ``from pipelines.engine.limits import
...`` (the models do, in every process that sets Django up) does not pay for the recipe
checker's jsonschema and YAML. ``from pipelines.engine import parse_recipe`` works as
before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .components import ComponentDefinition, ComponentError, Registry, Task, TaskContext
    from .conditions import Condition, ConditionError, ConditionSyntaxError, parse_condition
    from .events import (
        ComponentErrorUpdated,
        ComponentEvent,
        ComponentInputUpdated,
        ComponentOutputUpdated,
        ComponentStatusUpdated,
        Event,
        PipelineErrorUpdated,
        PipelineOutputUpdated,
        PipelineStatusUpdated,
    )
    from .executor import RunCancelled, execute
    from .inputs import InputInvalid, bind_rows
    from .recipe import (
        Component,
        IteratorSpec,
        Output,
        Problem,
        Recipe,
        RecipeInvalid,
        RecipeLimits,
        Variable,
        parse_recipe,
        validate_recipe,
    )
    from .references import Reference, ReferenceSyntaxError, ReferenceUnresolved, parse_reference
    from .results import ComponentResult, RowResult, RunResult
    from .values import ATTRIBUTES, File, json_bytes, register_attribute, to_json

# The modules behind the names below, lightest first: a name is looked up in each one's
# __all__ in this order, so asking for a value or an event never imports the recipe
# checker. (A test checks each name resolves to what the imports above say.)
_MODULES = ("values", "results", "events", "references", "conditions", "inputs", "components", "recipe", "executor")


def __getattr__(name: str) -> Any:
    if name in __all__:
        for module_name in _MODULES:
            module = importlib.import_module(f".{module_name}", __name__)
            if name in module.__all__:
                value = getattr(module, name)
                globals()[name] = value  # asked once
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ATTRIBUTES",
    "Component",
    "ComponentDefinition",
    "ComponentError",
    "ComponentErrorUpdated",
    "ComponentEvent",
    "ComponentInputUpdated",
    "ComponentOutputUpdated",
    "ComponentResult",
    "ComponentStatusUpdated",
    "Condition",
    "ConditionError",
    "ConditionSyntaxError",
    "Event",
    "File",
    "InputInvalid",
    "IteratorSpec",
    "Output",
    "PipelineErrorUpdated",
    "PipelineOutputUpdated",
    "PipelineStatusUpdated",
    "Problem",
    "Recipe",
    "RecipeInvalid",
    "RecipeLimits",
    "Reference",
    "ReferenceSyntaxError",
    "ReferenceUnresolved",
    "Registry",
    "RowResult",
    "RunCancelled",
    "RunResult",
    "Task",
    "TaskContext",
    "Variable",
    "bind_rows",
    "execute",
    "json_bytes",
    "parse_condition",
    "parse_recipe",
    "parse_reference",
    "register_attribute",
    "to_json",
    "validate_recipe",
]
